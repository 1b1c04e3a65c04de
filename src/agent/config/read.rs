//! Reading one agent's keys: the properties text and the `-D` overrides (which win) grouped
//! by the key grammar into listed components, with the problems found on the way.

use super::problem::{Origin, Problem};
use super::properties;
use super::raw::{self, RawAgent};

/// Reads agent `agent` from properties text; `overrides` are `-D` pairs whose key starts with
/// `<agent>.` (others are ignored here) and win over the file.
pub fn read(text: &str, agent: &str, overrides: &[(String, String)]) -> (RawAgent, Vec<Problem>) {
    let parsed = properties::parse(text);
    let prefix = format!("{agent}.");
    let mut problems: Vec<Problem> = parsed
        .iter()
        .filter(|e| e.key.starts_with(&prefix))
        .filter_map(comment_hint)
        .collect();
    let mut entries: Vec<(String, String, Origin)> = parsed
        .into_iter()
        .map(|e| (e.key, e.value, Origin::Line(e.line)))
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
    let (raw, grouping) = raw::group(&entries, agent);
    problems.extend(grouping);
    (raw, problems)
}

/// The end-of-line comment hint: Java properties (so Flume) keep ` # ...` in the value.
fn comment_hint(e: &properties::Entry) -> Option<Problem> {
    let at = [" #", "\t#", " !", "\t!"]
        .iter()
        .filter_map(|m| e.value.find(m))
        .min()?;
    Some(Problem::warning(
        Origin::Line(e.line),
        e.key.as_str(),
        format!(
            "this looks like an end-of-line comment ({:?}); properties files only allow \
             comments on their own line, so it is read as part of the value: move it to a line \
             of its own",
            e.value[at..].trim_start()
        ),
    ))
}
