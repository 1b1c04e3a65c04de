//! One row of the registry: a component type's Flume names and its key parser, and the
//! look-ups every caller shares (by short name in any case, or by exact Java class name).

use crate::agent::config::Ctx;

/// A component type the agent runs: Flume's short name, Flume's Java class name and the
/// parser of its keys, which answers the typed configuration `K` (or `None` after reporting
/// every problem through the [`Ctx`]).
#[derive(Clone, Copy)]
pub struct Entry<K: 'static> {
    /// Flume's short type name (`netcat`, `TAILDIR`, `file_roll`).
    pub name: &'static str,
    /// Flume's Java class name (`org.apache.flume.source.NetcatSource`); a `type` may name it.
    pub class: &'static str,
    /// Reads the component's own keys into its typed configuration.
    pub parse: fn(&mut Ctx<'_>) -> Option<K>,
}

impl<K> std::fmt::Debug for Entry<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("name", &self.name)
            .field("class", &self.class)
            .finish_non_exhaustive()
    }
}

/// The entry a configured `type` names: a short name (any case) or an exact class name.
pub fn find<K>(table: &'static [Entry<K>], value: &str) -> Option<&'static Entry<K>> {
    table
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(value) || e.class == value)
}

/// "netcat (org.apache.flume.source.NetcatSource), seq (...)" for messages.
pub fn supported<K>(table: &'static [Entry<K>]) -> String {
    table
        .iter()
        .map(|e| format!("{} ({})", e.name, e.class))
        .collect::<Vec<_>>()
        .join(", ")
}
