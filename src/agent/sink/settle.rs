//! How a sink runner settles its delivered batches ([`super::runner`]): each take commits only
//! after its batch's acknowledgements answered `Ok`, strictly in order, and the takes that are
//! ready together commit as one group ([`AgentChannel::commit_group`]: one fdatasync on a file
//! channel). The oldest batch is waited for; every batch after it whose acknowledgements have
//! already answered joins its group, so while one group's fdatasync runs the batches delivered
//! meanwhile gather into the next, and a sink at Flume's `batchSize` 100 with four batches in
//! flight makes one fdatasync per up to four takes instead of one each.
//!
//! What commits of a group is a prefix (the channel rolls back everything after a failed
//! commit; those events come again: duplicates possible, never a loss). A batch whose
//! acknowledgements answered an error is handed back unsettled, and the runner rolls it back
//! with every batch after it ([`roll_back_from`]).
//!
//! [`AgentChannel::commit_group`]: crate::agent::channel::AgentChannel::commit_group

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::Acks;
use crate::agent::channel::{AgentChannel, ChannelTx};
use crate::agent::invariant::{self, Sequence};
use crate::agent::metrics::{CounterGroup, SinkCounter};

/// Numbers takes in the order they were taken, over every runner of the process: a runner's
/// pending batches carry growing numbers, and a group commits them in that order.
static TAKEN: Sequence = Sequence::new();

/// The number of a take just taken.
pub(super) fn next_take() -> u64 {
    TAKEN.next()
}

/// A batch the sink delivered whose take is not committed yet.
pub(super) struct Delivered {
    pub(super) sink: String,
    pub(super) channel: Arc<dyn AgentChannel>,
    pub(super) tx: Box<dyn ChannelTx>,
    pub(super) events: u64,
    pub(super) counters: Arc<CounterGroup>,
    /// What the take waits for before it may commit ([`super::Sink::take_acks`]).
    pub(super) acks: Option<Acks>,
    /// When it was taken ([`next_take`]): pending batches commit in this order.
    pub(super) taken: u64,
}

/// How a delivered batch ended.
pub(super) enum Settled {
    Committed,
    /// The take's commit failed: the channel returns the events, they come again.
    CommitFailed,
    /// The sink's acknowledgements answered an error: this batch and every later one still
    /// pending roll back ([`roll_back_from`]).
    Unacknowledged(Delivered),
}

/// Whether the batch's acknowledgements answered `Ok` by now, without waiting: `Some(true)`
/// yes (or it has none), `Some(false)` an error (kept in place for the wait that reports it),
/// `None` not yet.
fn acked_now(d: &mut Delivered) -> Option<bool> {
    let Some(Acks(fut)) = d.acks.as_mut() else {
        return Some(true);
    };
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Pending => None,
        Poll::Ready(Ok(())) => {
            d.acks = None;
            Some(true)
        }
        Poll::Ready(Err(e)) => {
            d.acks = Some(Acks(Box::pin(std::future::ready(Err(e)))));
            Some(false)
        }
    }
}

/// Settles the oldest pending batch once its acknowledgements answered, as one group commit
/// with every batch after it that is ready too (all of them when `wait_all`, waiting for each
/// in turn, up to the first unacknowledged one). Returns each batch's outcome in order; an
/// unacknowledged oldest batch comes back alone as [`Settled::Unacknowledged`], a later one
/// stays pending for the next call.
pub(super) async fn commit_ready(
    pending: &mut VecDeque<Delivered>,
    wait_all: bool,
) -> Vec<Settled> {
    let Some(mut first) = pending.pop_front() else {
        return Vec::new();
    };
    if let Some(Acks(acks)) = first.acks.take() {
        if let Err(e) = acks.await {
            first.counters.add(SinkCounter::EventWriteFail, 1);
            tracing::warn!(sink = %first.sink, error = %e, events = first.events,
                "delivery not acknowledged; rolling back");
            return vec![Settled::Unacknowledged(first)];
        }
    }
    let mut group = vec![first];
    while let Some(next) = pending.front_mut() {
        let ready = match acked_now(next) {
            Some(ok) => ok,
            None if wait_all => match next.acks.take() {
                Some(Acks(acks)) => match acks.await {
                    Ok(()) => true,
                    Err(e) => {
                        next.acks = Some(Acks(Box::pin(std::future::ready(Err(e)))));
                        false
                    }
                },
                None => true,
            },
            None => false,
        };
        if !ready {
            break;
        }
        group.extend(pending.pop_front());
    }
    commit_group(group).await
}

/// Commits `group` (pending batches, oldest first, each acknowledged) as one group commit;
/// each batch's outcome in order.
async fn commit_group(group: Vec<Delivered>) -> Vec<Settled> {
    let Some(channel) = group.first().map(|d| d.channel.clone()) else {
        return Vec::new();
    };
    let mut txs = Vec::with_capacity(group.len());
    let mut meta = Vec::with_capacity(group.len());
    let mut last_taken = 0;
    for d in group {
        invariant::after(
            last_taken,
            d.taken,
            "a sink runner's takes commit in the order taken",
        );
        last_taken = d.taken;
        txs.push(d.tx);
        meta.push((d.sink, d.events, d.counters));
    }
    let results = channel.commit_group(txs).await;
    assert_eq!(
        results.len(),
        meta.len(),
        "invariant: one commit result per take"
    );
    invariant::ok_prefix(&results, "a group commit of takes");
    results
        .into_iter()
        .zip(meta)
        .map(|(r, (sink, events, counters))| match r {
            Ok(()) => {
                counters.add(SinkCounter::EventDrainSuccess, events);
                Settled::Committed
            }
            Err(e) => {
                counters.add(SinkCounter::ChannelReadFail, 1);
                tracing::warn!(sink = %sink, error = %e, events,
                    "commit of take failed; the delivered batch will be delivered again");
                Settled::CommitFailed
            }
        })
        .collect()
}

/// Rolls back an unacknowledged batch and every batch after it still pending, newest first,
/// so the channel gets their events back in the order they were taken.
pub(super) async fn roll_back_from(failed: Delivered, pending: &mut VecDeque<Delivered>) {
    while let Some(d) = pending.pop_back() {
        tracing::warn!(sink = %d.sink, events = d.events,
            "rolling back a delivered batch: a batch before it was not acknowledged");
        d.tx.rollback().await;
    }
    failed.tx.rollback().await;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::agent::channel::memory::{MemoryChannel, MemoryConfig};
    use sluice_core::Event;

    /// A batch of one event taken from `ch`, numbered `taken`.
    async fn delivered(ch: &Arc<MemoryChannel>, taken: u64) -> Delivered {
        let mut tx = ch.begin();
        let events = tx.take_up_to(1).await.unwrap();
        Delivered {
            sink: "k1".into(),
            channel: ch.clone(),
            tx,
            events: events.len() as u64,
            counters: CounterGroup::sink(),
            acks: None,
            taken,
        }
    }

    async fn channel_of(n: usize) -> Arc<MemoryChannel> {
        let ch = Arc::new(MemoryChannel::new(
            "c1",
            MemoryConfig::sized(100, 10, Duration::from_secs(1)),
        ));
        let mut tx = ch.begin();
        let events = (0..n).map(|i| Event::new(format!("e{i}"))).collect();
        tx.put_all(events).await.unwrap();
        tx.commit().await.unwrap();
        ch
    }

    #[tokio::test]
    async fn takes_in_order_commit_as_one_group() {
        let ch = channel_of(2).await;
        let mut pending = VecDeque::from([delivered(&ch, 1).await, delivered(&ch, 2).await]);
        let settled = commit_ready(&mut pending, true).await;
        assert_eq!(settled.len(), 2);
        assert!(settled.iter().all(|s| matches!(s, Settled::Committed)));
    }

    #[tokio::test]
    #[should_panic(expected = "takes commit in the order taken")]
    async fn a_take_pending_before_an_older_one_fires() {
        let ch = channel_of(2).await;
        let (a, b) = (delivered(&ch, 1).await, delivered(&ch, 2).await);
        let mut pending = VecDeque::from([b, a]);
        commit_ready(&mut pending, true).await;
    }
}
