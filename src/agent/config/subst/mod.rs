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

mod lookup;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

pub(crate) use lookup::date_lookup;

/// How deeply substitutions may nest (references of references, nested names).
pub(crate) const SUBST_DEPTH_MAX: usize = 32;

/// Everything a substitution may read.
pub(crate) struct Sources<'a> {
    /// Every key of the file (and the `-D<agent>.` overrides) with its raw value.
    pub keys: &'a BTreeMap<String, String>,
    /// The environment.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// System properties: the `-D` defines.
    pub sys: &'a BTreeMap<String, String>,
    /// `${date:PATTERN}`: the current time formatted, or why the pattern is refused.
    pub date: &'a dyn Fn(&str) -> Result<String, String>,
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
    #[error("substitutions nest deeper than {SUBST_DEPTH_MAX} levels at ${{{var}}}")]
    TooDeep {
        /// The variable.
        var: String,
    },
}

/// A resolved value (or why not) and the keys its references read, so that a variable line
/// (`data = /srv`) is not reported as a key without an agent prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The value with every `${...}` replaced.
    pub value: Result<String, SubstError>,
    /// Keys of the file read through `${NAME}`, also when resolution failed later.
    pub keys_read: BTreeSet<String>,
}

/// Resolves every `${...}` of `value`, the value of key `key` (a reference back to `key` is
/// a cycle).
pub(crate) fn resolve(key: &str, value: &str, src: &Sources<'_>) -> Resolved {
    let mut r = Resolver {
        src,
        chain: vec![key.to_owned()],
        keys_read: BTreeSet::new(),
    };
    let value = r.subst(value);
    Resolved {
        value,
        keys_read: r.keys_read,
    }
}

struct Resolver<'s, 'a> {
    src: &'s Sources<'a>,
    chain: Vec<String>,
    keys_read: BTreeSet<String>,
}

impl Resolver<'_, '_> {
    fn subst(&mut self, s: &str) -> Result<String, SubstError> {
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            let rest = &s[i..];
            if rest.starts_with("$${") {
                out.push_str("${");
                i += 3;
            } else if rest.starts_with("${") {
                let end = closing(s, i + 2).ok_or(SubstError::Unclosed { at: i })?;
                let inner = &s[i + 2..end];
                if self.is_filter_ref(inner) {
                    out.push_str(&s[i..=end]);
                } else {
                    out.push_str(&self.variable(inner)?);
                }
                i = end + 1;
            } else {
                let c = rest.chars().next().unwrap_or_default();
                out.push(c);
                i += c.len_utf8().max(1);
            }
        }
        Ok(out)
    }

    /// The value of one `${inner}`.
    fn variable(&mut self, inner: &str) -> Result<String, SubstError> {
        if self.chain.len() >= SUBST_DEPTH_MAX {
            return Err(SubstError::TooDeep { var: inner.into() });
        }
        let expr = self.subst(inner)?;
        let (name, default) = match expr.split_once(":-") {
            Some((n, d)) => (n.to_owned(), Some(d.to_owned())),
            None => (expr.clone(), None),
        };
        if self.chain.contains(&name) {
            let mut chain = self.chain.clone();
            chain.push(name.clone());
            return Err(SubstError::Cycle {
                var: name,
                chain: chain.join(" -> "),
            });
        }
        match self.lookup(&name)? {
            Ok(raw) => {
                self.chain.push(name);
                let v = self.subst(&raw);
                self.chain.pop();
                v
            }
            Err(_) if default.is_none() && self.src.keep_bare && !name.contains(':') => {
                Ok(format!("${{{expr}}}"))
            }
            Err(why) => default.ok_or(SubstError::Unresolved { var: expr, why }),
        }
    }

    /// `Ok(Ok(raw value))`, `Ok(Err(what was looked at))` when nothing has it.
    fn lookup(&mut self, name: &str) -> Result<Result<String, String>, SubstError> {
        let Some((prefix, rest)) = name.split_once(':') else {
            return Ok(self.bare(name));
        };
        let found = match prefix.to_ascii_lowercase().as_str() {
            "env" => (self.src.env)(rest).ok_or(format!("environment variable {rest} is not set")),
            "sys" => self.src.sys.get(rest).cloned().ok_or(format!(
                "system property {rest} is not set (Sluice: a -D{rest}=VALUE define)"
            )),
            "date" => {
                return (self.src.date)(rest)
                    .map(Ok)
                    .map_err(|why| SubstError::Refused {
                        var: name.into(),
                        why,
                    })
            }
            "java" => {
                return Err(SubstError::Refused {
                    var: name.into(),
                    why: "java: lookups describe a JVM, and Sluice's agent is none".into(),
                })
            }
            other => Err(format!(
                "{other}: is no lookup (Flume 1.11 has env, sys, java and date)"
            )),
        };
        // Commons Text's interpolator falls back to the default lookup with the rest.
        Ok(match found {
            Ok(v) => Ok(v),
            Err(why) => self.bare(rest).map_err(|also| format!("{why}, and {also}")),
        })
    }

    /// A bare name: a key of the file (or the environment in `EnvVarResolverProperties` mode).
    fn bare(&mut self, name: &str) -> Result<String, String> {
        if let Some(v) = self.src.keys.get(name) {
            self.keys_read.insert(name.to_owned());
            return Ok(v.clone());
        }
        if self.src.bare_env {
            return (self.src.env)(name).ok_or(format!(
                "no key {name} in the file and no environment variable {name}"
            ));
        }
        Err(format!("no key {name} in the file"))
    }

    fn is_filter_ref(&self, inner: &str) -> bool {
        inner
            .split_once('[')
            .is_some_and(|(f, tail)| tail.ends_with(']') && self.src.filters.contains(f))
    }
}

/// The index of the `}` closing a `${` whose inside starts at `from` (nested `${` counted).
fn closing(s: &str, from: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes.get(i..i + 2) {
            Some(b"${") => {
                depth += 1;
                i += 2;
                continue;
            }
            _ if bytes[i] == b'}' => {
                if depth == 0 {
                    return Some(i);
                }
                depth -= 1;
            }
            _ => {}
        }
        i += 1;
    }
    None
}
