//! The source's counters for a batch, as both ways of putting it count them (the group put on
//! its own blocking trip, and the retries after a refused put).

use crate::agent::metrics::{CounterGroup, SourceCounter};

/// Counts a batch as received and offers it to the tap; its event count.
pub(super) fn received(c: &CounterGroup, name: &str, events: &[sluice_core::Event]) -> u64 {
    let n = events.len() as u64;
    c.add(SourceCounter::EventReceived, n);
    c.add(SourceCounter::AppendBatchReceived, 1);
    crate::agent::tap::offer(crate::agent::tap::Point::Source, name, events);
    n
}

/// Counts a batch of `n` events as accepted by the channels.
pub(super) fn accepted(c: &CounterGroup, n: u64) {
    c.add(SourceCounter::EventAccepted, n);
    c.add(SourceCounter::AppendBatchAccepted, 1);
}
