//! A plugin's Flume counters (`SourceCounter`, `SinkCounter`) in the component's Sluice
//! counter group: Flume's attribute names mapped to Sluice's typed counters, and cumulative
//! counts per JVM run turned into increments, so counts keep growing across restarts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::frame::GroupCounts;
use crate::agent::metrics::{Counter, CounterGroup, SinkCounter, SourceCounter};

/// A Sluice counter a Flume attribute maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mapped {
    /// Of a source's group.
    Source(SourceCounter),
    /// Of a sink's group.
    Sink(SinkCounter),
}

/// Flume's attribute names of `SourceCounter` and `SinkCounter` and Sluice's counters.
pub(crate) const NAMES: &[(&str, Mapped)] = &[
    (
        "src.events.received",
        Mapped::Source(SourceCounter::EventReceived),
    ),
    (
        "src.events.accepted",
        Mapped::Source(SourceCounter::EventAccepted),
    ),
    (
        "src.append.received",
        Mapped::Source(SourceCounter::AppendReceived),
    ),
    (
        "src.append.accepted",
        Mapped::Source(SourceCounter::AppendAccepted),
    ),
    (
        "src.append-batch.received",
        Mapped::Source(SourceCounter::AppendBatchReceived),
    ),
    (
        "src.append-batch.accepted",
        Mapped::Source(SourceCounter::AppendBatchAccepted),
    ),
    (
        "src.open-connection.count",
        Mapped::Source(SourceCounter::OpenConnection),
    ),
    (
        "src.event.read.fail",
        Mapped::Source(SourceCounter::EventReadFail),
    ),
    (
        "src.channel.write.fail",
        Mapped::Source(SourceCounter::ChannelWriteFail),
    ),
    (
        "src.generic.processing.fail",
        Mapped::Source(SourceCounter::GenericProcessingFail),
    ),
    (
        "sink.connection.creation.count",
        Mapped::Sink(SinkCounter::ConnectionCreated),
    ),
    (
        "sink.connection.closed.count",
        Mapped::Sink(SinkCounter::ConnectionClosed),
    ),
    (
        "sink.connection.failed.count",
        Mapped::Sink(SinkCounter::ConnectionFailed),
    ),
    ("sink.batch.empty", Mapped::Sink(SinkCounter::BatchEmpty)),
    (
        "sink.batch.underflow",
        Mapped::Sink(SinkCounter::BatchUnderflow),
    ),
    (
        "sink.batch.complete",
        Mapped::Sink(SinkCounter::BatchComplete),
    ),
    (
        "sink.event.drain.attempt",
        Mapped::Sink(SinkCounter::EventDrainAttempt),
    ),
    (
        "sink.event.drain.sucess",
        Mapped::Sink(SinkCounter::EventDrainSuccess),
    ),
    (
        "sink.event.write.fail",
        Mapped::Sink(SinkCounter::EventWriteFail),
    ),
    (
        "sink.channel.read.fail",
        Mapped::Sink(SinkCounter::ChannelReadFail),
    ),
];

/// Sluice's counter of a Flume counter attribute.
pub(crate) fn sluice_counter(flume: &str) -> Option<Mapped> {
    NAMES.iter().find(|(f, _)| *f == flume).map(|(_, m)| *m)
}

/// The counts of one component: the agent counts what passes until the plugin reports
/// counters of its own kind; from then on (across restarts) the plugin's counts are the ones.
#[derive(Debug)]
pub(crate) struct Counts {
    group: Arc<CounterGroup>,
    /// `SOURCE` or `SINK`: the plugin groups that count for this component.
    kind: &'static str,
    plugin_counts: Arc<AtomicBool>,
    last: HashMap<(String, String), u64>,
}

impl Counts {
    /// Counts of one JVM run; `plugin_counts` is shared by the runs of one component.
    pub(crate) fn new(
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
    pub(crate) fn own<C: Counter>(&self, c: C, n: u64) {
        if !self.plugin_counts.load(Ordering::Relaxed) {
            self.group.add(c, n);
        }
    }

    /// A COUNTERS frame arrived.
    pub(crate) fn reported(&mut self, groups: Vec<GroupCounts>) {
        for g in groups.into_iter().filter(|g| g.kind == self.kind) {
            self.plugin_counts.store(true, Ordering::Relaxed);
            for (attr, v) in g.counts {
                let Some(mapped) = sluice_counter(&attr) else {
                    continue;
                };
                let prev = self.last.insert((g.name.clone(), attr), v).unwrap_or(0);
                if v > prev {
                    match mapped {
                        Mapped::Source(c) => self.group.add(c, v - prev),
                        Mapped::Sink(c) => self.group.add(c, v - prev),
                    }
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
        run1.own(SourceCounter::EventReceived, 2);
        run1.reported(report(5));
        run1.reported(report(7));
        run1.own(SourceCounter::EventReceived, 100);
        assert_eq!(group.count(SourceCounter::EventReceived), 2 + 7);
        let mut run2 = Counts::new(group.clone(), "SOURCE", flag);
        run2.reported(report(3));
        assert_eq!(group.count(SourceCounter::EventReceived), 2 + 7 + 3);
    }
}
