//! Types shared by every agent component: property maps, failure causes, configuration errors
//! and type tables.

use std::collections::BTreeMap;

/// A component's properties, keys relative to the component (e.g. `capacity`, `selector.header`).
pub type Props = BTreeMap<String, String>;

/// The cause a source's or a sink's failure carries: a typed error, or a sentence.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A component property with a bad or missing value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ComponentError {
    /// The property key, relative to the component.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl ComponentError {
    /// A new error for `key`.
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ComponentError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Builds properties from (key, value) pairs (tests and programmatic configuration).
#[cfg(test)]
pub(crate) fn props_of(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A type table: (short name, Java class name) of each type of one component kind.
pub type TypeTable = &'static [(&'static str, &'static str)];

/// The short name for a configured type: a short name (any case) or an exact class name.
pub(crate) fn resolve(table: TypeTable, value: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(short, class)| short.eq_ignore_ascii_case(value) || *class == value)
        .map(|(short, _)| *short)
}

/// "netcat (org.apache.flume.source.NetcatSource), seq (...)" for messages.
pub(crate) fn supported(table: TypeTable) -> String {
    table
        .iter()
        .map(|(s, c)| format!("{s} ({c})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a configured `type` names a Java class (a dotted name, as Flume's loader takes
/// it) rather than one of Sluice's short names: a user's plugin (crate::agent::java) where a
/// component, interceptor, serializer, selector or sink processor may be one.
pub(crate) fn is_class_name(ty: &str) -> bool {
    let ty = ty.trim();
    ty.contains('.')
        && ty.split('.').all(|part| {
            let mut c = part.chars();
            c.next()
                .is_some_and(|f| f.is_alphabetic() || f == '_' || f == '$')
                && c.all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '$')
        })
}
