//! A Java component's configuration: its class and every key it was given (Flume hands a
//! plugin its whole `Context`; Sluice does not know which keys the plugin reads, so none is
//! reported unknown). `channels`/`channel`, `selector.*` and `interceptors*` stay Sluice's.

use crate::agent::config::Ctx;

/// Keys of a component that are the agent's, not the plugin's.
const AGENT_KEYS: &[&str] = &["type", "channels", "channel"];
/// Key prefixes that are the agent's.
const AGENT_PREFIXES: &[&str] = &["selector.", "interceptors"];

/// A Java source's or sink's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JavaConfig {
    /// The plugin's class (the configured `type`).
    pub class: String,
    /// Its keys as Flume's `Context` gets them (`type` and `channels` included, as in Flume).
    pub props: Vec<(String, String)>,
    /// `batchSize` when it is a number (for the checks against `transactionCapacity`), else 1.
    pub batch_size: usize,
}

/// Reads a Java component's keys (its class is its `type`); every key counts as read.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<JavaConfig> {
    let class = cx.get("type")?;
    let keys: Vec<String> = cx.comp().props.keys().cloned().collect();
    let mut props = Vec::with_capacity(keys.len());
    for k in keys {
        let owned_by_agent = AGENT_PREFIXES.iter().any(|p| k.starts_with(p));
        if let Some(v) = cx.get(&k) {
            if !owned_by_agent || AGENT_KEYS.contains(&k.as_str()) {
                props.push((k, v));
            }
        }
    }
    let batch_size = props
        .iter()
        .find(|(k, _)| k == "batchSize")
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1);
    Some(JavaConfig {
        class: class.trim().to_owned(),
        props,
        batch_size,
    })
}
