//! A plugin's Flume counters (`SourceCounter`, `SinkCounter`) in the component's Sluice
//! counter group: Flume's attribute names mapped to the names of `/metrics`, and cumulative
//! counts per JVM run turned into increments, so counts keep growing across restarts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::frame::GroupCounts;
use crate::agent::metrics::CounterGroup;

/// Flume's attribute names of `SourceCounter` and `SinkCounter` and Sluice's metric names.
pub const NAMES: &[(&str, &str)] = &[
    ("src.events.received", "EventReceivedCount"),
    ("src.events.accepted", "EventAcceptedCount"),
    ("src.append.received", "AppendReceivedCount"),
    ("src.append.accepted", "AppendAcceptedCount"),
    ("src.append-batch.received", "AppendBatchReceivedCount"),
    ("src.append-batch.accepted", "AppendBatchAcceptedCount"),
    ("src.open-connection.count", "OpenConnectionCount"),
    ("src.event.read.fail", "EventReadFail"),
    ("src.channel.write.fail", "ChannelWriteFail"),
    ("src.generic.processing.fail", "GenericProcessingFail"),
    ("sink.connection.creation.count", "ConnectionCreatedCount"),
    ("sink.connection.closed.count", "ConnectionClosedCount"),
    ("sink.connection.failed.count", "ConnectionFailedCount"),
    ("sink.batch.empty", "BatchEmptyCount"),
    ("sink.batch.underflow", "BatchUnderflowCount"),
    ("sink.batch.complete", "BatchCompleteCount"),
    ("sink.event.drain.attempt", "EventDrainAttemptCount"),
    ("sink.event.drain.sucess", "EventDrainSuccessCount"),
    ("sink.event.write.fail", "EventWriteFail"),
    ("sink.channel.read.fail", "ChannelReadFail"),
];

/// Sluice's name of a Flume counter attribute.
pub fn sluice_name(flume: &str) -> Option<&'static str> {
    NAMES.iter().find(|(f, _)| *f == flume).map(|(_, s)| *s)
}

/// The counts of one component: the agent counts what passes until the plugin reports
/// counters of its own kind; from then on (across restarts) the plugin's counts are the ones.
#[derive(Debug)]
pub struct Counts {
    group: Arc<CounterGroup>,
    /// `SOURCE` or `SINK`: the plugin groups that count for this component.
    kind: &'static str,
    plugin_counts: Arc<AtomicBool>,
    last: HashMap<(String, String), u64>,
}

impl Counts {
    /// Counts of one JVM run; `plugin_counts` is shared by the runs of one component.
    pub fn new(
        group: Arc<CounterGroup>,
        kind: &'static str,
        plugin_counts: Arc<AtomicBool>,
    ) -> Self {
        Counts {
            group,
            kind,
            plugin_counts,
            last: HashMap::new(),
        }
    }

    /// The agent's own count (ignored once the plugin counts).
    pub fn own(&self, name: &str, n: u64) {
        if !self.plugin_counts.load(Ordering::Relaxed) {
            self.group.add(name, n);
        }
    }

    /// A COUNTERS frame arrived.
    pub fn reported(&mut self, groups: Vec<GroupCounts>) {
        for g in groups.into_iter().filter(|g| g.kind == self.kind) {
            self.plugin_counts.store(true, Ordering::Relaxed);
            for (attr, v) in g.counts {
                let Some(name) = sluice_name(&attr) else {
                    continue;
                };
                let prev = self.last.insert((g.name.clone(), attr), v).unwrap_or(0);
                if v > prev {
                    self.group.add(name, v - prev);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(v: u64) -> Vec<GroupCounts> {
        vec![GroupCounts {
            kind: "SOURCE".into(),
            name: "r1".into(),
            counts: vec![("src.events.received".into(), v), ("custom".into(), 9)],
        }]
    }

    #[test]
    fn plugin_counts_replace_the_agents_and_add_up_across_restarts() {
        let group = CounterGroup::source();
        let flag = Arc::new(AtomicBool::new(false));
        let mut run1 = Counts::new(group.clone(), "SOURCE", flag.clone());
        run1.own("EventReceivedCount", 2);
        run1.reported(report(5));
        run1.reported(report(7));
        run1.own("EventReceivedCount", 100);
        assert_eq!(group.get("EventReceivedCount"), 2 + 7);
        let mut run2 = Counts::new(group.clone(), "SOURCE", flag);
        run2.reported(report(3));
        assert_eq!(group.get("EventReceivedCount"), 2 + 7 + 3);
    }
}
