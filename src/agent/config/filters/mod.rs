//! Flume's config filters: `<agent>.configfilters = f1 f2`, `<agent>.configfilters.f1.type =
//! env|external|hadoop` (or the full class names), and values that use them as
//! `${f1['key']}` (also `${f1["key"]}` and `${f1[key]}`; keys are `[-_a-zA-Z0-9]+`).
//!
//! `env` reads the environment variable `key`; `external` runs `command` with `key` appended
//! (`external.rs`: no shell, a time-out, its whole tree reaped by `reaper.rs`) and takes the
//! first line of its output in `charset`; `hadoop` (a JVM keystore read through Hadoop's credential provider API) is refused. Where
//! Flume logs an error and keeps the literal `${f1['key']}`, Sluice reports an error on the
//! key's line. Filters apply to every key of the agent except the filters' own.

mod external;
mod reaper;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

pub(crate) use external::Charset;

use super::problem::{Origin, Problem};
use super::resolution::Resolution;

/// The filters an agent lists (`<agent>.configfilters = ...`), in order.
#[derive(Debug, Default)]
pub(crate) struct Declared {
    names: Vec<String>,
}

impl Declared {
    /// Their names.
    pub(crate) fn names(&self) -> BTreeSet<String> {
        self.names.iter().cloned().collect()
    }
}

/// One usable filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Filter {
    /// Reads an environment variable.
    Env,
    /// Runs a command.
    External {
        /// The command line (split at whitespace, no shell).
        command: String,
        /// Its output's charset.
        charset: Charset,
    },
}

/// The filters that could be built, by name.
#[derive(Debug, Default)]
pub(crate) struct Built {
    filters: BTreeMap<String, Filter>,
}

/// The filter list of agent `agent` (the last `<agent>.configfilters` wins, as in Flume).
pub(crate) fn declared(entries: &[(String, String, Origin)], agent: &str) -> Declared {
    let list_key = format!("{agent}.configfilters");
    let names = entries
        .iter()
        .rev()
        .find(|(k, _, _)| *k == list_key)
        .map(|(_, v, _)| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    Declared { names }
}

/// Builds each declared filter from its (resolved) keys; problems name the key and line.
pub(crate) fn build(
    declared: &Declared,
    entries: &[(String, String, Origin)],
    agent: &str,
    problems: &mut Vec<Problem>,
) -> Built {
    let mut built = Built::default();
    let list_origin = origin_of(entries, &format!("{agent}.configfilters"));
    for name in &declared.names {
        let prefix = format!("{agent}.configfilters.{name}.");
        let props: BTreeMap<&str, (&str, Origin)> = entries
            .iter()
            .filter_map(|(k, v, o)| Some((k.strip_prefix(&prefix)?, (v.as_str(), *o))))
            .collect();
        for (prop, (_, o)) in &props {
            if !["type", "command", "charset"].contains(prop) {
                problems.push(Problem::warning(
                    *o,
                    format!("{prefix}{prop}"),
                    "unknown key for a config filter; ignored (keys: type, command, charset)",
                ));
            }
        }
        let Some(&(kind, at)) = props.get("type") else {
            let key = format!("{prefix}type");
            problems.push(Problem::error(list_origin, key, "required key is missing"));
            continue;
        };
        let err = |msg: String| Problem::error(at, format!("{prefix}type"), msg);
        let filter = match kind_of(kind) {
            Some(Kind::Env) => Filter::Env,
            Some(Kind::External) => match external_filter(&props, &prefix, at) {
                Ok(f) => f,
                Err(p) => {
                    problems.push(p);
                    continue;
                }
            },
            Some(Kind::Hadoop) => {
                problems.push(err(
                    "the hadoop config filter reads a Java keystore through Hadoop's credential \
                     provider API and needs a JVM; Sluice refuses it: use an env or external \
                     filter (docs/configuration.md)"
                        .into(),
                ));
                continue;
            }
            None => {
                problems.push(err(format!(
                    "unknown config filter type {kind:?}; supported: env, external (hadoop is refused)"
                )));
                continue;
            }
        };
        built.filters.insert(name.clone(), filter);
    }
    built
}

enum Kind {
    Env,
    External,
    Hadoop,
}

fn kind_of(t: &str) -> Option<Kind> {
    let short = t
        .strip_prefix("org.apache.flume.configfilter.")
        .map(|c| match c {
            "EnvironmentVariableConfigFilter" => "env",
            "ExternalProcessConfigFilter" => "external",
            "HadoopCredentialStoreConfigFilter" => "hadoop",
            other => other,
        })
        .unwrap_or(t);
    match short.to_ascii_lowercase().as_str() {
        "env" => Some(Kind::Env),
        "external" => Some(Kind::External),
        "hadoop" => Some(Kind::Hadoop),
        _ => None,
    }
}

fn external_filter(
    props: &BTreeMap<&str, (&str, Origin)>,
    prefix: &str,
    type_at: Origin,
) -> Result<Filter, Problem> {
    let Some(&(command, _)) = props.get("command").filter(|(c, _)| !c.trim().is_empty()) else {
        return Err(Problem::error(
            type_at,
            format!("{prefix}command"),
            "required key is missing: the external filter runs this command (no shell) with \
             the key as its last argument",
        ));
    };
    let charset = match props.get("charset") {
        None => Charset::Utf8,
        Some(&(name, at)) => Charset::parse(name).ok_or_else(|| {
            Problem::error(
                at,
                format!("{prefix}charset"),
                format!("unsupported charset {name:?}; supported: UTF-8, US-ASCII, ISO-8859-1"),
            )
        })?,
    };
    Ok(Filter::External {
        command: command.trim().to_owned(),
        charset,
    })
}

/// Replaces every `${f['key']}` of the agent's keys (except the filters' own) with what its
/// filter gives; each key is asked once.
pub(crate) fn apply(
    built: &Built,
    entries: &mut [(String, String, Origin)],
    agent: &str,
    res: &mut Resolution,
) {
    if built.filters.is_empty() {
        return;
    }
    let own = format!("{agent}.configfilters");
    let prefix = format!("{agent}.");
    let mut cache: BTreeMap<(String, String), Result<String, FilterError>> = BTreeMap::new();
    for (key, value, origin) in entries.iter_mut() {
        if !key.starts_with(&prefix) || key.starts_with(&own) || res.failed.contains(key) {
            continue;
        }
        match replace(value, built, &mut cache) {
            Ok(None) => {}
            Ok(Some(v)) => {
                *value = v;
                res.filtered.insert(key.clone());
            }
            Err(msg) => {
                res.problems
                    .push(Problem::error(*origin, key.as_str(), msg.to_string()));
                res.failed.insert(key.clone());
            }
        }
    }
}

/// `value` with its filter references replaced (`None` when it has none).
fn replace(
    value: &str,
    built: &Built,
    cache: &mut BTreeMap<(String, String), Result<String, FilterError>>,
) -> Result<Option<String>, FilterError> {
    let mut out = String::new();
    let mut rest = value;
    let mut any = false;
    while let Some(at) = rest.find("${") {
        let Some((name, key, len)) = reference(&rest[at..], built) else {
            let named = built
                .filters
                .keys()
                .find(|f| rest[at + 2..].starts_with(&format!("{f}[")));
            if let Some(f) = named {
                return Err(FilterError::BadReference(f.clone()));
            }
            out.push_str(&rest[..at + 2]);
            rest = &rest[at + 2..];
            continue;
        };
        let got = cache
            .entry((name.clone(), key.clone()))
            .or_insert_with(|| ask(&name, &key, built))
            .clone()?;
        out.push_str(&rest[..at]);
        out.push_str(&got);
        rest = &rest[at + len..];
        any = true;
    }
    out.push_str(rest);
    Ok(any.then_some(out))
}

/// At the start of `s` (which starts with `${`): a reference to a built filter, as `(filter,
/// key, length)`.
fn reference(s: &str, built: &Built) -> Option<(String, String, usize)> {
    let body = s.strip_prefix("${")?;
    let (name, tail) = body.split_once('[')?;
    built.filters.get(name)?;
    let end = tail.find("]}")?;
    let inside = &tail[..end];
    let key = ["'", "\"", ""]
        .iter()
        .find_map(|q| inside.strip_prefix(q)?.strip_suffix(q))
        .filter(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })?;
    Some((
        name.to_owned(),
        key.to_owned(),
        2 + name.len() + 1 + end + 2,
    ))
}

/// Why a filter reference gives no value.
#[derive(Debug, Clone, thiserror::Error)]
enum FilterError {
    /// A reference to a filter written the wrong way.
    #[error("a reference to config filter {0} is written ${{{0}['key']}} (also ${{{0}[\"key\"]}} or ${{{0}[key]}}) with a key of letters, digits, - and _")]
    BadReference(String),
    /// The `env` filter's variable is not set.
    #[error("config filter {name} (env): environment variable {key} is not set")]
    EnvUnset {
        /// The filter.
        name: String,
        /// The variable.
        key: String,
    },
    /// The `external` filter's command gave no value.
    #[error("config filter {name} (external) for {key}: {source}")]
    External {
        /// The filter.
        name: String,
        /// The key asked.
        key: String,
        /// Why (shared: one answer per key serves every reference).
        #[source]
        source: std::sync::Arc<external::CommandError>,
    },
    /// No filter has the name.
    #[error("{0} is no config filter")]
    NoFilter(String),
}

fn ask(name: &str, key: &str, built: &Built) -> Result<String, FilterError> {
    match built.filters.get(name) {
        Some(Filter::Env) => std::env::var(key).map_err(|_| FilterError::EnvUnset {
            name: name.to_owned(),
            key: key.to_owned(),
        }),
        Some(Filter::External { command, charset }) => external::run(command, key, *charset)
            .map_err(|e| FilterError::External {
                name: name.to_owned(),
                key: key.to_owned(),
                source: std::sync::Arc::new(e),
            }),
        None => Err(FilterError::NoFilter(name.to_owned())),
    }
}

fn origin_of(entries: &[(String, String, Origin)], key: &str) -> Origin {
    entries
        .iter()
        .rev()
        .find(|(k, _, _)| k == key)
        .map(|(_, _, o)| *o)
        .unwrap_or(Origin::CommandLine)
}
