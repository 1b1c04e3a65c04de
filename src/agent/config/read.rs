//! Reading one agent's keys: the properties text (or several files, merged by `files.rs`)
//! and the `-D` overrides (which win), every
//! value resolved (`${...}` by [`subst`], then `${filter['key']}` by [`filters`]), grouped by
//! the key grammar into listed components, with the problems found on the way.

use std::collections::{BTreeMap, BTreeSet};

use super::files::{self, ConfFile};
use super::filters;
use super::problem::{Origin, Problem};
use super::properties;
use super::raw::{self, RawAgent};
pub use super::resolution::Resolution;
use super::subst::{self, Budget, Sources};

/// Flume's `-DpropertiesImplementation` value that also reads a bare `${NAME}` from the
/// environment (Flume 1.11's `MapResolver` keeps it for `EnvVarResolverProperties` users).
pub(crate) const ENV_VAR_RESOLVER: &str = "org.apache.flume.node.EnvVarResolverProperties";

/// [`read`] of several files in order: a key a later file sets replaces the earlier ones'.
pub(crate) fn read_files(
    files: &[ConfFile],
    agent: &str,
    overrides: &[(String, String)],
) -> (RawAgent, Resolution) {
    let mut res = resolve_files(files, agent, overrides);
    let (raw, grouping) = raw::group(&res.entries, agent);
    res.problems.extend(grouping);
    (raw, res)
}

/// The agent's entries with every value resolved, and the problems found doing it.
pub fn resolve(text: &str, agent: &str, overrides: &[(String, String)]) -> Resolution {
    resolve_files(&[one_file(text)], agent, overrides)
}

/// A configuration of one text (its name is the caller's to render).
fn one_file(text: &str) -> ConfFile {
    ConfFile {
        name: String::new(),
        text: text.to_owned(),
    }
}

/// [`resolve`] of several files in order (`files::merge`).
pub fn resolve_files(
    files: &[ConfFile],
    agent: &str,
    overrides: &[(String, String)],
) -> Resolution {
    let (parsed, overridden) = files::merge(files);
    let prefix = format!("{agent}.");
    let mut res = Resolution {
        overridden,
        ..Resolution::default()
    };
    res.problems
        .extend(reading_hints(&parsed, &prefix, files.len()));
    let mut entries: Vec<(String, String, Origin)> = parsed
        .into_iter()
        .map(|(e, o)| (e.key, e.value, o))
        .collect();
    for (k, v) in overrides {
        if k.starts_with(&prefix) {
            entries.push((
                k.trim().to_owned(),
                v.trim().to_owned(),
                Origin::CommandLine,
            ));
        }
    }
    let keys: BTreeMap<String, String> = entries
        .iter()
        .map(|(k, v, _)| (k.clone(), v.clone()))
        .collect();
    let sys: BTreeMap<String, String> = overrides.iter().cloned().collect();
    let bare_env = switches(&sys, &mut res.problems);
    let declared = filters::declared(&entries, agent);
    let env = |n: &str| std::env::var(n).ok();
    let src = Sources {
        keys: &keys,
        env: &env,
        sys: &sys,
        date: &subst::date_lookup,
        bare_env,
        filters: &declared.names(),
        keep_bare: false,
    };
    let mut keys_read = BTreeSet::new();
    // One budget for the whole file: once spent, the later keys fail with it, and only the
    // key that spent it is reported.
    let mut budget = Budget::default();
    for (key, value, origin) in entries.iter_mut().filter(|e| e.0.starts_with(&prefix)) {
        if budget.is_spent() {
            res.failed.insert(key.clone());
            continue;
        }
        let src = Sources {
            keep_bare: key.ends_with(".replaceString"),
            ..src
        };
        let r = subst::resolve_within(key, value, &src, &mut budget);
        keys_read.extend(r.keys_read);
        match r.value {
            Ok(v) => *value = v,
            Err(e) => {
                res.problems
                    .push(Problem::error(*origin, key.as_str(), e.to_string()));
                res.failed.insert(key.clone());
            }
        }
    }
    let built = filters::build(&declared, &entries, agent, &mut res.problems);
    filters::apply(&built, &mut entries, agent, &mut res);
    // A key without an agent prefix that a value refers to is a variable, not a mistake.
    entries.retain(|(k, _, _)| k.contains('.') || !keys_read.contains(k));
    res.entries = entries;
    res
}

/// The problems found reading the text, before any value is resolved: too many files,
/// end-of-line comments and dropped backslashes in the agent's keys.
fn reading_hints(
    parsed: &[(properties::Entry, Origin)],
    prefix: &str,
    files: usize,
) -> Vec<Problem> {
    let mut out = Vec::new();
    if files > files::FILES_MAX {
        out.push(Problem::error(
            Origin::CommandLine,
            "-f",
            format!(
                "{files} configuration files given; at most {} are read",
                files::FILES_MAX
            ),
        ));
    }
    for (e, o) in parsed.iter().filter(|(e, _)| e.key.starts_with(prefix)) {
        out.extend(comment_hint(e, *o));
        out.extend(backslash_hint(e, *o));
    }
    out
}

/// Flume's `-DpropertiesImplementation` and `-Dlookups` switches: whether a bare `${NAME}`
/// also reads the environment; anything Sluice cannot honour is an error.
fn switches(sys: &BTreeMap<String, String>, problems: &mut Vec<Problem>) -> bool {
    if let Some(file) = sys.get("lookups") {
        problems.push(Problem::error(
            Origin::CommandLine,
            "lookups",
            format!(
                "-Dlookups={file}: custom lookups are Java StringLookup classes, which Sluice \
                 cannot load; the lookups are env, sys and date (docs/configuration.md)"
            ),
        ));
    }
    match sys.get("propertiesImplementation").map(String::as_str) {
        None => false,
        Some(ENV_VAR_RESOLVER) => true,
        Some(other) => {
            problems.push(Problem::error(
                Origin::CommandLine,
                "propertiesImplementation",
                format!(
                    "-DpropertiesImplementation={other}: Flume 1.11 (and Sluice) know only \
                     {ENV_VAR_RESOLVER} (a bare ${{NAME}} also reads the environment); \
                     ${{...}} substitution itself is always on, $${{ escapes it"
                ),
            ));
            false
        }
    }
}

/// The end-of-line comment hint: Java properties (so Flume) keep ` # ...` in the value.
fn comment_hint(e: &properties::Entry, origin: Origin) -> Option<Problem> {
    let at = [" #", "\t#", " !", "\t!"]
        .iter()
        .filter_map(|m| e.value.find(m))
        .min()?;
    Some(Problem::warning(
        origin,
        e.key.as_str(),
        format!(
            "this looks like an end-of-line comment ({:?}); properties files only allow \
             comments on their own line, so it is read as part of the value: move it to a line \
             of its own",
            e.value[at..].trim_start()
        ),
    ))
}

/// The dropped-backslash hint: `\d` in a properties file reads as `d` (Flume is silent).
fn backslash_hint(e: &properties::Entry, origin: Origin) -> Option<Problem> {
    let written = e.dropped_backslash.as_deref()?;
    Some(Problem::warning(
        origin,
        e.key.as_str(),
        format!(
            "a backslash was dropped: written `{written}`, read as `{}`. A properties file \
             (Flume's too) drops a backslash before a character that is no escape; write two \
             for one (`\\\\d` reads as `\\d`), or in a regex use a class such as `[[:digit:]]`",
            e.value
        ),
    ))
}
