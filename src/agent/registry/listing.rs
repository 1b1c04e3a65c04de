//! The registry in words: every component type by kind, as `sluice --help` shows it.

use super::entry::Entry;
use super::tables::{CHANNELS, INTERCEPTORS, PROCESSORS, SELECTORS, SINKS, SOURCES};
use crate::agent::component::TypeTable;

/// (kind, its short type names), in the order a properties file wires them.
pub(crate) fn kinds() -> Vec<(&'static str, Vec<&'static str>)> {
    fn names<K>(t: &'static [Entry<K>]) -> Vec<&'static str> {
        t.iter().map(|e| e.name).collect()
    }
    fn types(t: TypeTable) -> Vec<&'static str> {
        t.iter().map(|(n, _)| *n).collect()
    }
    vec![
        ("sources", names(SOURCES)),
        ("channels", names(CHANNELS)),
        ("sinks", names(SINKS)),
        ("interceptors", types(INTERCEPTORS)),
        ("channel selectors", types(SELECTORS)),
        ("sink processors", types(PROCESSORS)),
    ]
}

/// The component types, one kind a line (a `type` may also be its Flume Java class name).
pub fn help() -> String {
    let mut out = String::from(
        "Components (Flume's type names; Flume's Java class names work too; keys: docs/configuration.md):\n",
    );
    for (kind, names) in kinds() {
        out.push_str(&format!(
            "  {:<18} {}\n",
            format!("{kind}:"),
            names.join(" ")
        ));
    }
    out
}
