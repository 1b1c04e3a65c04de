//! One batch of a sink runner's round: prepare the sink, take up to its batch size in one
//! transaction, deliver, set its poison events aside; a failure rolls back this batch only,
//! and is counted and logged as its kind says ([`on_failure`]).

use super::super::poison::DeadLetterError;
use super::super::settle::Delivered;
use super::super::{Delivery, SinkError, SinkErrorKind};
use super::SinkUnit;
use crate::agent::channel::ChannelTx;
use crate::agent::metrics::{CounterGroup, SinkCounter};

/// What the runner makes of a failed delivery, by the error's kind (the batch is rolled back
/// and the runner backs off in every case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OnFailure {
    /// A failure that may pass ([`SinkError::retryable`]): counted, warned.
    Retry,
    /// A failure that retrying cannot fix (configuration, a refusal for good): counted, and
    /// logged as an error.
    NeedsChange,
    /// Abandoned because the agent is stopping: not the sink's failure, not counted.
    Stopping,
}

pub(super) fn on_failure(e: &SinkError) -> OnFailure {
    match e.kind() {
        SinkErrorKind::Stopped => OnFailure::Stopping,
        _ if e.retryable() => OnFailure::Retry,
        _ => OnFailure::NeedsChange,
    }
}

/// What taking and delivering one batch gave.
pub(super) enum Batch {
    Delivered(Delivered, Delivery),
    Empty,
    Failed,
}

/// Takes a batch and delivers it; a failure rolls this batch back. Not cancel safe (see
/// [`Sink::deliver`]); dropping it rolls the batch back.
pub(super) async fn take_and_deliver(name: &str, u: &mut SinkUnit) -> Batch {
    if let Some(not_now) = ready(name, u).await {
        return not_now;
    }
    let c = &u.counters;
    let mut tx = u.channel.begin();
    let events = match tx.take_up_to(u.batch_size).await {
        Ok(e) => e,
        Err(e) => {
            c.add(SinkCounter::ChannelReadFail, 1);
            tracing::warn!(sink = name, error = %e, "take failed");
            tx.rollback().await;
            return Batch::Failed;
        }
    };
    let n = events.len() as u64;
    crate::agent::tap::offer(crate::agent::tap::Point::Sink, name, &events);
    if n == 0 {
        c.add(SinkCounter::BatchEmpty, 1);
        let _ = tx.commit().await;
        return Batch::Empty;
    }
    c.add(SinkCounter::EventDrainAttempt, n);
    if events.len() < u.batch_size {
        c.add(SinkCounter::BatchUnderflow, 1);
    } else {
        c.add(SinkCounter::BatchComplete, 1);
    }
    let delivered = u.sink.deliver(events).await;
    let poisoned = u.sink.take_poisoned();
    match delivered {
        Ok(d) => {
            let keeps = u.channel.keeps_cursors();
            set_cursor(name, u.sink.cursor(), keeps, tx.as_mut());
            let acks = u.sink.take_acks();
            let stored = u.sink.take_already_stored().min(n);
            c.add(SinkCounter::EventAlreadyStored, stored);
            let bad = poisoned.len() as u64;
            if let Err(e) = u.poison.handle(poisoned, c).await {
                c.add(SinkCounter::EventWriteFail, 1);
                // A full dead letter was said by the handler (a WARN, rate-limited).
                if !matches!(e, DeadLetterError::Full { .. }) {
                    tracing::error!(sink = name, error = %e,
                        "poison events not set aside; rolling back the batch (its delivered events come again)");
                }
                drop(acks);
                tx.rollback().await;
                return Batch::Failed;
            }
            Batch::Delivered(
                Delivered {
                    sink: name.to_owned(),
                    channel: u.channel.clone(),
                    tx,
                    events: n.saturating_sub(bad + stored),
                    counters: c.clone(),
                    acks,
                    taken: super::super::settle::next_take(),
                },
                d,
            )
        }
        Err(e) => {
            count_failure(name, &e, c);
            tx.rollback().await;
            Batch::Failed
        }
    }
}

/// Readies the sink for a take: [`Sink::prepare`](super::super::Sink::prepare), then its
/// baseline while one is due, once the channel holds events (as before, a sink touches its
/// output only when there is something to write). `None` when it may take now, else the
/// round's end: failed, or empty while the baseline waits for events.
async fn ready(name: &str, u: &mut SinkUnit) -> Option<Batch> {
    if let Err(e) = u.sink.prepare().await {
        tracing::debug!(sink = name, error = %e, "sink not ready");
        return Some(Batch::Failed);
    }
    if !u.baseline_due {
        return None;
    }
    if u.channel.file_stats().is_some_and(|s| s.queued == 0) {
        u.counters.add(SinkCounter::BatchEmpty, 1);
        return Some(Batch::Empty);
    }
    (!commit_baseline(name, u).await).then_some(Batch::Failed)
}

/// Commits the sink's baseline cursor ([`Sink::baseline`](super::super::Sink::baseline)) in a
/// take of no events, before its first take; whether the sink may take now (a failure fails
/// the round, so the runner backs off, and is tried again before the next take).
async fn commit_baseline(name: &str, u: &mut SinkUnit) -> bool {
    let cursor = match u.sink.baseline().await {
        Ok(Some(cursor)) => cursor,
        Ok(None) => {
            u.baseline_due = false;
            return true;
        }
        Err(e) => {
            // A delivery that fails before its take: counted and logged as one.
            count_failure(name, &e, &u.counters);
            return false;
        }
    };
    let mut tx = u.channel.begin();
    if !tx.set_cursor(name, cursor) {
        // A channel that keeps no cursors: nothing to cut back to after a crash.
        tx.rollback().await;
        u.baseline_due = false;
        return true;
    }
    match tx.commit().await {
        Ok(()) => {
            u.baseline_due = false;
            true
        }
        Err(e) => {
            tracing::warn!(sink = name, error = %e, "committing the sink's starting cursor failed; tried again before its first take");
            false
        }
    }
}

/// Counts and logs a failed delivery as its kind says ([`on_failure`]).
pub(super) fn count_failure(name: &str, e: &SinkError, c: &CounterGroup) {
    match on_failure(e) {
        OnFailure::Stopping => {
            tracing::debug!(sink = name, error = %e, "delivery abandoned on stop; rolling back");
        }
        OnFailure::Retry => {
            c.add(SinkCounter::EventWriteFail, 1);
            tracing::warn!(sink = name, error = %e, kind = ?e.kind(), "delivery failed; rolling back");
        }
        OnFailure::NeedsChange => {
            c.add(SinkCounter::EventWriteFail, 1);
            tracing::error!(sink = name, error = %e, kind = ?e.kind(),
                "delivery failed, and retrying cannot help until the configuration or the peer changes; rolling back");
        }
    }
}

/// Sets the sink's cursor in the take that commits its batch. A cursor the channel refuses
/// (past its limits, warned) forgets the older one instead: a restart would cut back to it
/// what this take commits. Forgotten, the sink starts afresh after a crash (at least once).
fn set_cursor(name: &str, cursor: Option<Vec<u8>>, keeps: bool, tx: &mut dyn ChannelTx) {
    if let Some(cursor) = cursor {
        if !tx.set_cursor(name, cursor) && keeps {
            tx.set_cursor(name, Vec::new());
        }
    }
}
