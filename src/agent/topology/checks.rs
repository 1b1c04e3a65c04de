//! The checks across components: an agent with no channels or nothing to run, a sink that
//! runs its own loop in a sink group of several, a batch size
//! larger than a channel's `transactionCapacity`, colliding file channel directories,
//! channels nobody uses, and time-escaped hdfs/s3 paths nothing gives a timestamp to
//! (`timestamps.rs`).

use super::dirs;
use super::graph::AgentConfig;
use crate::agent::config::raw::{self, RawComponent, Section};
use crate::agent::config::{Origin, Problem, Severity};
use crate::agent::registry::{ChannelKind, SourceKind};
use crate::agent::source::spooldir;

/// Adds the problems found across the components of `cfg` (read from `raw`).
pub(crate) fn cross_checks(
    raw: &raw::RawAgent,
    cfg: &AgentConfig,
    agent: &str,
    problems: &mut Vec<Problem>,
) {
    empty_agent(raw, agent, problems);
    own_loop_sinks_alone(raw, cfg, problems);
    sink_batches(raw, cfg, problems);
    source_batches(raw, cfg, problems);
    dirs::check(raw, cfg, problems);
    unused_channels(raw, cfg, problems);
    super::timestamps::check(raw, cfg, problems);
}

/// The component `n` of section `s` as written.
fn comp<'r>(raw: &'r raw::RawAgent, s: Section, n: &str) -> Option<&'r RawComponent> {
    raw.sections.get(&s).and_then(|m| m.get(n))
}

/// An agent without channels, or without sources and sinks (often a wrong `-n`).
fn empty_agent(raw: &raw::RawAgent, agent: &str, problems: &mut Vec<Problem>) {
    if raw.section(Section::Channels).next().is_none() {
        problems.push(Problem::error(
            Origin::Line(1),
            format!("{agent}.channels"),
            format!("agent {agent} has no channels (is -n {agent} the right agent name?)"),
        ));
    }
    if raw.section(Section::Sources).next().is_none()
        && raw.section(Section::Sinks).next().is_none()
    {
        problems.push(Problem::error(
            Origin::Line(1),
            format!("{agent}.sources"),
            format!("agent {agent} has no sources and no sinks"),
        ));
    }
}

/// A sink that runs its own loop (a Java sink) in a sink group of more than one sink (such
/// sinks run alone).
fn own_loop_sinks_alone(raw: &raw::RawAgent, cfg: &AgentConfig, problems: &mut Vec<Problem>) {
    for (name, g) in &cfg.sinkgroups {
        let own_loop = g.sinks.iter().find(|s| {
            cfg.sinks
                .get(*s)
                .is_some_and(|c| c.kind.builder().own_loop().is_some())
        });
        if let (Some(first), Some(rc)) = (own_loop, comp(raw, Section::SinkGroups, name)) {
            if g.sinks.len() > 1 {
                problems.push(Problem::error(
                    rc.origin_of("sinks"),
                    rc.full_key("sinks"),
                    format!(
                        "sink {first} is a Java plugin; Java sinks run alone, not in a sink group"
                    ),
                ));
            }
        }
    }
}

/// A sink's batch size over its channel's `transactionCapacity`.
fn sink_batches(raw: &raw::RawAgent, cfg: &AgentConfig, problems: &mut Vec<Problem>) {
    for (name, s) in &cfg.sinks {
        let (Some(ch), Some(rc)) = (
            cfg.channels.get(&s.channel),
            comp(raw, Section::Sinks, name),
        ) else {
            continue;
        };
        let (batch, cap) = (s.kind.batch_size() as u64, ch.kind.transaction_capacity());
        let key = s.kind.batch_key();
        if batch > cap && !has_error_at(problems, &rc.full_key(key)) {
            problems.push(Problem::error(
                rc.origin_of(key),
                rc.full_key(key),
                format!(
                    "batch size {batch} exceeds transactionCapacity {cap} of channel {}",
                    s.channel
                ),
            ));
        }
    }
}

/// A source's batch size over a channel's `transactionCapacity`, and a spooling directory's
/// blobs larger than a file channel takes.
fn source_batches(raw: &raw::RawAgent, cfg: &AgentConfig, problems: &mut Vec<Problem>) {
    for (name, s) in &cfg.sources {
        let Some(rc) = comp(raw, Section::Sources, name) else {
            continue;
        };
        for c in &s.channels {
            let Some(ch) = cfg.channels.get(c) else {
                continue;
            };
            if let (SourceKind::SpoolDir(sd), ChannelKind::File(_)) = (&s.kind, &ch.kind) {
                let key = "deserializer.maxBlobLength";
                if let Some(m) = spooldir::config::blob_over_file_channel(sd, c) {
                    problems.push(Problem::warning(rc.origin_of(key), rc.full_key(key), m));
                }
            }
            let (batch, cap) = (s.kind.batch_size() as u64, ch.kind.transaction_capacity());
            if batch > cap && !has_error_at(problems, &rc.full_key("batchSize")) {
                problems.push(Problem::error(
                    rc.origin_of("batchSize"),
                    rc.full_key("batchSize"),
                    format!("batch size {batch} exceeds transactionCapacity {cap} of channel {c}"),
                ));
            }
        }
    }
}

/// A channel no source or sink uses. Wiring as written (`channel` or `channels`, even
/// misspelt), so a source or sink refused for another reason (an unsupported type, a
/// misspelt key) still counts as a user.
fn unused_channels(raw: &raw::RawAgent, cfg: &AgentConfig, problems: &mut Vec<Problem>) {
    let names = |c: &RawComponent| -> Vec<String> {
        ["channels", "channel"]
            .iter()
            .filter_map(|k| c.props.get(*k))
            .flat_map(|v| {
                v.value
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    for rc in raw.section(Section::Channels) {
        let used = raw
            .section(Section::Sources)
            .chain(raw.section(Section::Sinks))
            .any(|c| names(c).contains(&rc.name));
        if !used && cfg.channels.contains_key(&rc.name) {
            problems.push(Problem::warning(
                rc.listed_at,
                rc.full_key("").trim_end_matches('.').to_owned(),
                "no source or sink uses this channel",
            ));
        }
    }
}

/// Whether an error was already reported at `full_key` (a refused batch size falls back to
/// its default, which must not be reported a second time against a channel).
fn has_error_at(problems: &[Problem], full_key: &str) -> bool {
    problems
        .iter()
        .any(|p| p.severity == Severity::Error && p.key == full_key)
}

#[cfg(test)]
mod tests {
    use crate::agent::topology::load;

    const JAVA_AND_LOGGER: &str = "\
a1.channels = c1
a1.channels.c1.type = memory
a1.sinks = k1 k2
a1.sinks.k1.type = com.example.MySink
a1.sinks.k1.channel = c1
a1.sinks.k2.type = logger
a1.sinks.k2.channel = c1
";

    /// The messages of the problems at `key`.
    fn messages_at(text: &str, key: &str) -> Vec<String> {
        let loaded = load(text, "a1", &[]);
        loaded
            .problems
            .into_iter()
            .filter(|p| p.key == key)
            .map(|p| p.message)
            .collect()
    }

    #[test]
    fn a_sink_that_runs_its_own_loop_in_a_group_of_two_is_refused_at_the_groups_sinks_key() {
        let text = format!(
            "{JAVA_AND_LOGGER}a1.sinkgroups = g1\na1.sinkgroups.g1.sinks = k1 k2\n\
             a1.sinkgroups.g1.processor.type = failover\n"
        );
        let got = messages_at(&text, "a1.sinkgroups.g1.sinks");
        assert_eq!(
            got,
            ["sink k1 is a Java plugin; Java sinks run alone, not in a sink group"],
        );
    }

    #[test]
    fn runner_driven_sinks_in_a_group_are_not_refused_for_running_alone() {
        let text = "a1.channels = c1\na1.channels.c1.type = memory\na1.sinks = k1 k2\n\
             a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n\
             a1.sinks.k2.type = logger\na1.sinks.k2.channel = c1\n\
             a1.sinkgroups = g1\na1.sinkgroups.g1.sinks = k1 k2\n\
             a1.sinkgroups.g1.processor.type = failover\n";
        let loaded = load(text, "a1", &[]);
        assert!(loaded.config.is_some(), "{:?}", loaded.problems);
        assert!(messages_at(text, "a1.sinkgroups.g1.sinks").is_empty());
    }
}
