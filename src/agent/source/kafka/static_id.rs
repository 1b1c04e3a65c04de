//! Static group membership for the `kafka` source (KIP-345): `kafka.consumer.group.instance.id`
//! passes through to librdkafka's `group.instance.id` like every `kafka.consumer.*` key, and
//! the value [`AUTO`] asks Sluice to derive one: `<host>-<agent>-<source>`. A member with an
//! instance id keeps its identity across a restart, so a collector killed and started again
//! within `session.timeout.ms` is handed its own partitions back at once instead of waiting
//! for the group to notice the dead member and rebalance.
//!
//! The host name is part of the derived id because instance ids must be unique in the group
//! and Flume deployments name their agents alike on every host (`a1`): two collectors with
//! one id would fence each other. The id is cut to Kafka's rules ([`ID_CHARS_MAX`] characters
//! of `[A-Za-z0-9._-]`; any other character becomes `_`).

/// The value of `kafka.consumer.group.instance.id` that asks for a derived id.
pub(crate) const AUTO: &str = "auto";

/// Longest group instance id Kafka accepts (as a topic name).
pub(crate) const ID_CHARS_MAX: usize = 249;

/// The derived instance id of source `source` of agent `agent` on host `host`.
pub(crate) fn derive(host: &str, agent: &str, source: &str) -> String {
    format!("{host}-{agent}-{source}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(ID_CHARS_MAX)
        .collect()
}

/// This machine's host name (`localhost` when it has none that is text).
pub(crate) fn host() -> String {
    hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_derived_id_names_host_agent_and_source_in_kafkas_characters() {
        assert_eq!(derive("web-7", "a1", "r1"), "web-7-a1-r1");
        assert_eq!(derive("h", "a 1", "r/1"), "h-a_1-r_1");
        let long = "x".repeat(400);
        assert_eq!(derive(&long, "a1", "r1").len(), ID_CHARS_MAX);
    }
}
