//! `${...}` substitution in values, as Flume 1.11 does it (flume-ng-node's `MapResolver` over
//! Commons Text's `StringSubstitutor`), except that what Flume leaves silently unresolved is
//! an error here. Pure: every outside value comes in through [`Sources`].
//!
//! The rules (Commons Text defaults plus `setEnableSubstitutionInVariables(true)`):
//! - `${env:NAME}` an environment variable, `${sys:NAME}` a Java system property (Sluice: a
//!   `-DNAME=value` define), `${date:PATTERN}` the current local time formatted with a
//!   `SimpleDateFormat` pattern, `${NAME}` the value of key `NAME` of the same file. Lookup
//!   prefixes ignore case. `${java:...}` describes a JVM and is refused.
//! - A prefixed lookup that finds nothing falls back to the key named by the rest
//!   (`${env:X}` with no `X` in the environment reads key `X`), as Commons Text's interpolator
//!   does; with `-DpropertiesImplementation=org.apache.flume.node.EnvVarResolverProperties`
//!   a bare `${NAME}` that is no key is read from the environment.
//! - `${NAME:-default}` gives `default` when nothing resolves `NAME`.
//! - Nested: `${env:${sys:which}}` resolves the inside first; a resolved value is itself
//!   resolved again; a reference back to a variable being resolved is a cycle (an error).
//! - `$${` is a literal `${` (the escape); `$` anywhere else is itself.
//! - `${f['k']}` where `f` is a declared config filter is left for the filter stage.
//! - Where a bare `${name}` means something to the component (a `search_replace`
//!   interceptor's `replaceString` names a regex group so), an unresolvable one is kept.
//!
//! Limits, against a file written to exhaust the agent (a reloaded file, a `--conf-uri` body or
//! a znode is as hostile as any peer): `${` nested inside names and references of references
//! together go at most [`SUBST_DEPTH_MAX`] deep, checked before each level is entered, so the
//! stack a resolution takes is bounded whatever the text; and one file's resolution reads at
//! most [`SUBST_BYTES_MAX`] bytes and [`SUBST_LOOKUPS_MAX`] variables ([`Budget`]), so
//! references that multiply (`a = ${b}${b}`, `b = ${c}${c}`, ...) cost bounded time and memory.
//! Ordinary files stay far below all three (tens of references, nesting of two or three).

mod lookup;
mod resolver;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

pub(crate) use lookup::date_lookup;
#[cfg(test)]
pub(crate) use resolver::resolve;
pub(crate) use resolver::resolve_within;

/// How deeply substitutions may nest: `${` inside a variable's name and references of
/// references, counted together (Flume's own examples nest two).
pub(crate) const SUBST_DEPTH_MAX: usize = 32;
/// The most bytes of text one file's substitutions may read (the values, and each referenced
/// value once per reference): 16 times the largest configuration a URI or znode may send.
pub(crate) const SUBST_BYTES_MAX: usize = 16 << 20;
/// The most variables one file's substitutions may resolve.
pub(crate) const SUBST_LOOKUPS_MAX: usize = 100_000;
/// The most characters of a variable's name an error shows.
const NAME_SHOWN_MAX: usize = 80;
/// The most characters of what was looked at an error shows.
const WHY_SHOWN_MAX: usize = 4 * NAME_SHOWN_MAX;

/// Nothing has a variable: what was looked at (`no key X in the file`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
struct NotFound(String);

/// Everything a substitution may read.
pub(crate) struct Sources<'a> {
    /// Every key of the file (and the `-D<agent>.` overrides) with its raw value.
    pub keys: &'a BTreeMap<String, String>,
    /// The environment.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// System properties: the `-D` defines.
    pub sys: &'a BTreeMap<String, String>,
    /// `${date:PATTERN}`: the current time formatted, or why the pattern is refused.
    pub date: &'a dyn Fn(&str) -> Result<String, crate::agent::config::joda::JodaError>,
    /// A bare `${NAME}` that is no key is read from the environment (`EnvVarResolverProperties`).
    pub bare_env: bool,
    /// Names of the declared config filters (`${f['k']}` is theirs).
    pub filters: &'a BTreeSet<String>,
    /// An unresolvable bare `${NAME}` stays as written, as in Flume (for values where it has a
    /// meaning of its own: a `search_replace` `replaceString`'s named group).
    pub keep_bare: bool,
}

impl std::fmt::Debug for Sources<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("keys", &self.keys.len())
            .field("sys", &self.sys.len())
            .field("bare_env", &self.bare_env)
            .field("filters", &self.filters)
            .field("keep_bare", &self.keep_bare)
            .finish_non_exhaustive()
    }
}

/// Why a value could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SubstError {
    /// Nothing gives the variable a value.
    #[error("${{{var}}} cannot be resolved: {why} (write $${{ for a literal ${{, or give a default: ${{{var}:-value}})")]
    Unresolved {
        /// The variable as written (after nested substitution).
        var: String,
        /// What was looked at.
        why: String,
    },
    /// A variable that refers back to itself.
    #[error("${{{var}}} refers back to itself: {chain}")]
    Cycle {
        /// The variable.
        var: String,
        /// The chain of references, `a -> b -> a`.
        chain: String,
    },
    /// A lookup Sluice refuses (`java:`) or a bad date pattern.
    #[error("${{{var}}}: {why}")]
    Refused {
        /// The variable.
        var: String,
        /// Why.
        why: String,
    },
    /// `${` without its `}`.
    #[error("`${{` at byte {at} has no closing `}}`")]
    Unclosed {
        /// Byte offset of the `${` in the value.
        at: usize,
    },
    /// References nested deeper than [`SUBST_DEPTH_MAX`].
    #[error("substitutions nest deeper than {SUBST_DEPTH_MAX} levels (SUBST_DEPTH_MAX, nested `${{` and references of references together) at ${{{var}}}")]
    TooDeep {
        /// The variable (its start, [`shown`]).
        var: String,
    },
    /// The file's substitutions read more than their [`Budget`].
    #[error("substitutions in this file read more than {limit} ({name}; references that multiply, such as a = ${{b}}${{b}} and b = ${{c}}${{c}}, grow it); stopped at ${{{var}}}")]
    OverBudget {
        /// The variable being resolved when the budget ran out (its start, [`shown`]).
        var: String,
        /// The limit, with its unit.
        limit: String,
        /// The limit's name.
        name: &'static str,
    },
}

/// What one file's substitutions may still read: bytes of text and variables. Shared by every
/// value of the file, so the file as a whole costs bounded time and memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Budget {
    bytes_left: usize,
    lookups_left: usize,
    spent: bool,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            bytes_left: SUBST_BYTES_MAX,
            lookups_left: SUBST_LOOKUPS_MAX,
            spent: false,
        }
    }
}

impl Budget {
    /// Whether a resolution ran out of it (every later value would fail the same way).
    pub(crate) fn is_spent(&self) -> bool {
        self.spent
    }

    fn read(&mut self, bytes: usize, var: &str) -> Result<(), SubstError> {
        match self.bytes_left.checked_sub(bytes) {
            Some(left) => {
                self.bytes_left = left;
                Ok(())
            }
            None => {
                self.spent = true;
                Err(SubstError::OverBudget {
                    var: shown(var),
                    limit: format!("{} MiB", SUBST_BYTES_MAX >> 20),
                    name: "SUBST_BYTES_MAX",
                })
            }
        }
    }

    fn lookup(&mut self, var: &str) -> Result<(), SubstError> {
        match self.lookups_left.checked_sub(1) {
            Some(left) => {
                self.lookups_left = left;
                Ok(())
            }
            None => {
                self.spent = true;
                Err(SubstError::OverBudget {
                    var: shown(var),
                    limit: format!("{SUBST_LOOKUPS_MAX} variables"),
                    name: "SUBST_LOOKUPS_MAX",
                })
            }
        }
    }
}

/// The start of a variable's name for an error: at most [`NAME_SHOWN_MAX`] characters.
fn shown(var: &str) -> String {
    cut(var, NAME_SHOWN_MAX)
}

/// At most `max` characters of `text`, and how long it was when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((at, _)) => format!("{}... ({} bytes)", &text[..at], text.len()),
    }
}
