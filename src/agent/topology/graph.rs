//! The agent's topology as configured: its sources (with their channels, selector and
//! interceptors), channels, sinks (with their channel) and sink groups, each with its typed
//! settings from the registry and its properties as written (a change restarts it).

use std::collections::BTreeMap;

use crate::agent::alarm::config::AlarmsConfig;
use crate::agent::component::Props;
use crate::agent::config::Problem;
use crate::agent::interceptor::config::InterceptorSpec;
use crate::agent::processor::SinkProcessorConfig;
use crate::agent::registry::{ChannelKind, SinkKind, SourceKind};
use crate::agent::router::Wiring;
use crate::agent::selector::ChannelSelector;

/// A source: its settings, channels and routing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceConfig {
    /// Its own settings.
    pub kind: SourceKind,
    /// `channels`, in order.
    pub channels: Vec<String>,
    /// The channel selector.
    pub selector: ChannelSelector,
    /// The interceptor chain.
    pub interceptors: Vec<InterceptorSpec>,
    /// `trustEventIds`: whether the events' `sluiceId` headers are kept
    /// ([`crate::agent::id_trust`]).
    pub trust_ids: bool,
    /// Every property as written (a change restarts the source).
    pub props: Props,
}

impl Wiring for SourceConfig {
    fn interceptors(&self) -> &[InterceptorSpec] {
        &self.interceptors
    }

    fn plugins(&self) -> Option<&'static dyn crate::agent::router::PluginHost> {
        Some(crate::agent::registry::PLUGIN_HOST)
    }

    fn selector(&self) -> &ChannelSelector {
        &self.selector
    }

    fn channels(&self) -> &[String] {
        &self.channels
    }

    fn trusts_event_ids(&self) -> bool {
        self.trust_ids
    }
}

/// A channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelConfig {
    /// Its settings.
    pub kind: ChannelKind,
    /// Every property as written.
    pub props: Props,
}

/// A sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkConfig {
    /// Its settings.
    pub kind: SinkKind,
    /// `channel`.
    pub channel: String,
    /// `deadLetter.*` (Sluice): where poison events are written (by default a bounded
    /// directory beside the channel), or dropped with `deadLetter.drop = true`.
    pub dead_letter: crate::agent::sink::poison::DeadLetter,
    /// Every property as written.
    pub props: Props,
}

/// A sink group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkGroupConfig {
    /// `sinks`, in order.
    pub sinks: Vec<String>,
    /// The sink processor.
    pub processor: SinkProcessorConfig,
    /// Every property as written (a change restarts the group).
    pub props: Props,
}

/// One agent's configuration, every reference checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentConfig {
    /// The agent name.
    pub name: String,
    /// Sources by name.
    pub sources: BTreeMap<String, SourceConfig>,
    /// Channels by name.
    pub channels: BTreeMap<String, ChannelConfig>,
    /// Sinks by name.
    pub sinks: BTreeMap<String, SinkConfig>,
    /// Sink groups by name.
    pub sinkgroups: BTreeMap<String, SinkGroupConfig>,
    /// Alarm rules and notifiers (`<agent>.alarms`, `<agent>.notifiers`).
    pub alarms: AlarmsConfig,
}

/// The result of loading: the configuration (when there is no error) and every problem.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The typed configuration, if no problem is an error.
    pub config: Option<AgentConfig>,
    /// Problems in file order.
    pub problems: Vec<Problem>,
}

impl AgentConfig {
    /// The sink runner units: unit key (an ungrouped sink's name, or `group:<name>`) ->
    /// its processor (an ungrouped sink gets the `default` one).
    pub(crate) fn runner_units(&self) -> BTreeMap<String, SinkProcessorConfig> {
        let mut out = BTreeMap::new();
        let mut grouped = std::collections::BTreeSet::new();
        for (g, gc) in &self.sinkgroups {
            grouped.extend(gc.sinks.iter().cloned());
            out.insert(format!("group:{g}"), gc.processor.clone());
        }
        for s in self.sinks.keys() {
            if !grouped.contains(s) {
                out.insert(s.clone(), SinkProcessorConfig::Default { sink: s.clone() });
            }
        }
        out
    }
}
