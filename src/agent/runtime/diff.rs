//! What a reload changes: the channels whose configuration differs, and from them which
//! sources and sink runners must stop (gone, changed, or wired to a changed channel).

use std::collections::BTreeMap;

use crate::agent::processor::SinkProcessorConfig;
use crate::agent::topology::AgentConfig;

/// The running configuration against the new one.
pub(super) struct Diff<'a> {
    old: &'a AgentConfig,
    new: &'a AgentConfig,
    old_units: BTreeMap<String, SinkProcessorConfig>,
    /// The new configuration's sink runners (a sink, or a sink group), by key.
    pub(super) new_units: BTreeMap<String, SinkProcessorConfig>,
    /// The running channels whose configuration changed or that are gone.
    pub(super) channels: Vec<String>,
}

impl<'a> Diff<'a> {
    /// `channels`: the running channels that change or go.
    pub(super) fn new(old: &'a AgentConfig, new: &'a AgentConfig, channels: Vec<String>) -> Self {
        Diff {
            old,
            new,
            old_units: old.runner_units(),
            new_units: new.runner_units(),
            channels,
        }
    }

    /// Whether any of `chs` is a changed channel.
    fn touches<'c>(&self, mut chs: impl Iterator<Item = &'c String>) -> bool {
        chs.any(|c| self.channels.contains(c))
    }

    /// Whether a sink of the running configuration reads channel `channel`.
    pub(super) fn read_before(&self, channel: &str) -> bool {
        self.old.sinks.values().any(|s| s.channel == channel)
    }

    /// Whether the running source `name` must stop: gone, changed, or wired to a changed
    /// channel.
    pub(super) fn source_changed(&self, name: &str) -> bool {
        let (o, n) = (self.old.sources.get(name), self.new.sources.get(name));
        o != n || n.is_some_and(|s| self.touches(s.channels.iter()))
    }

    /// Whether the running sink runner `key` must stop: gone, its policy, sinks or group
    /// properties changed, or one of its sinks changed or reads a changed channel.
    pub(super) fn unit_changed(&self, key: &str) -> bool {
        let (old, new) = (self.old, self.new);
        let (Some(o), Some(n)) = (self.old_units.get(key), self.new_units.get(key)) else {
            return true;
        };
        let sinks = n.sinks();
        o != n
            || o.sinks() != sinks
            || key.strip_prefix("group:").is_some_and(|g| {
                old.sinkgroups.get(g).map(|x| &x.props) != new.sinkgroups.get(g).map(|x| &x.props)
            })
            || sinks.iter().any(|s| {
                old.sinks.get(s) != new.sinks.get(s)
                    || new
                        .sinks
                        .get(s)
                        .is_some_and(|sc| self.touches(std::iter::once(&sc.channel)))
            })
    }
}
