//! The channel's one put contract: a group of batches, each its own transaction, committed in
//! order ([`AgentChannel::put_group`]; a batch is a group of one), and, for a channel whose
//! put can run on the caller's blocking thread, a [`BlockingPut`] handed out once
//! ([`AgentChannel::blocking_put`]). Every refused batch comes back to its caller
//! ([`Refused`], as tokio's `SendError<T>(pub T)` gives the value back): a source retries
//! with it instead of keeping a copy.

use super::{AgentChannel, AgentChannelError};
use sluice_core::Event;

/// A batch a channel refused: why, and the batch itself, unchanged and in order. The events
/// are empty only when the blocking task that held them was lost
/// ([`AgentChannelError::Join`]: a panic); [`Refused::lost`] says so.
#[derive(Debug)]
pub struct Refused {
    /// Why the batch was refused.
    pub error: AgentChannelError,
    /// The refused events, handed back.
    pub events: Vec<Event>,
}

impl Refused {
    /// A refusal that hands `events` back.
    pub(crate) fn with(error: AgentChannelError, events: Vec<Event>) -> Self {
        Refused { error, events }
    }

    /// Whether the batch was lost with a blocking task that panicked: nothing came back.
    pub fn lost(&self) -> bool {
        matches!(self.error, AgentChannelError::Join(_))
    }
}

/// One outcome per batch of a group: a committed prefix, then refusals.
pub type GroupOutcome = Vec<Result<(), Refused>>;

/// The put of a channel that can run it on the caller's thread (the file channel: begin, put,
/// commit and fdatasync right there), handed out once by [`AgentChannel::blocking_put`] to
/// the router that is built on the channel.
pub trait BlockingPut: Send + Sync + std::fmt::Debug {
    /// [`AgentChannel::put_group`] on the calling thread, which must be on the runtime's
    /// blocking pool (never an async worker): each batch its own transaction, committed in
    /// order as one group (one fdatasync for the file channel); a prefix commits; every other
    /// batch comes back.
    fn put_group_blocking(&self, batches: Vec<Vec<Event>>) -> GroupOutcome;
}

/// What a channel promises its putters, fixed when it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutTerms {
    /// Most events one put transaction may hold (`transactionCapacity`).
    pub capacity: usize,
    /// Whether the channel recognises a put it committed before by its event id and drops it
    /// (the file channel's `eventIds`): a source may then send again what it cannot prove was
    /// committed without duplicating it.
    pub drops_resends: bool,
}

impl Default for PutTerms {
    /// Unbounded, and resends duplicate.
    fn default() -> Self {
        PutTerms {
            capacity: usize::MAX,
            drops_resends: false,
        }
    }
}

/// Each batch through `put` in turn, stopping at the first refusal; the batches after it
/// come back cut ([`AgentChannelError::GroupCut`]), not offered. The group shape of every
/// channel whose batches commit one transaction each.
pub async fn put_each<F, Fut>(batches: Vec<Vec<Event>>, mut put: F) -> GroupOutcome
where
    F: FnMut(Vec<Event>) -> Fut,
    Fut: std::future::Future<Output = Result<(), Refused>>,
{
    let total = batches.len();
    let mut out: GroupOutcome = Vec::with_capacity(total);
    for (i, batch) in batches.into_iter().enumerate() {
        if out.iter().any(Result::is_err) {
            let cut = AgentChannelError::GroupCut {
                position: i + 1,
                total,
            };
            out.push(Err(Refused::with(cut, batch)));
        } else {
            out.push(put(batch).await);
        }
    }
    out
}

/// The default [`AgentChannel::put_group`]: each batch through a transaction of its own
/// (begin, put all, commit), one after another ([`put_each`]). The channel's transaction
/// keeps nothing to give back, so each attempt puts a copy and the original is what comes
/// back (the copy a source kept before the contract handed batches back).
pub async fn put_in_order<C: AgentChannel + ?Sized>(
    ch: &C,
    batches: Vec<Vec<Event>>,
) -> GroupOutcome {
    put_each(batches, |batch| async move {
        let mut tx = ch.begin();
        let outcome = match tx.put_all(batch.clone()).await {
            Ok(()) => tx.commit().await,
            Err(e) => {
                tx.rollback().await;
                Err(e)
            }
        };
        outcome.map_err(|e| Refused::with(e, batch))
    })
    .await
}

/// The outcome of a group of one.
pub(crate) fn only(out: GroupOutcome) -> Result<(), Refused> {
    out.into_iter().next().unwrap_or(Ok(()))
}

/// Puts `events` into `ch` in one transaction ([`AgentChannel::put_group`] of one); the
/// error, when refused (the batch is dropped: for callers that never retry, such as tests).
pub async fn put_batch(ch: &dyn AgentChannel, events: Vec<Event>) -> Result<(), AgentChannelError> {
    only(ch.put_group(vec![events]).await).map_err(|r| r.error)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::agent::channel::{BoxFuture, ChannelTx};
    use crate::agent::metrics::CounterGroup;

    /// A channel whose transactions drop what they are given and refuse every commit: only
    /// the default put's copy can hand a batch back.
    #[derive(Debug)]
    struct Refusing;

    struct Drops;

    impl ChannelTx for Drops {
        fn put_all(&mut self, _: Vec<Event>) -> BoxFuture<'_, Result<(), AgentChannelError>> {
            Box::pin(async { Ok(()) })
        }
        fn take_up_to(&mut self, _: usize) -> BoxFuture<'_, Result<Vec<Event>, AgentChannelError>> {
            Box::pin(async { Ok(Vec::new()) })
        }
        fn commit(self: Box<Self>) -> BoxFuture<'static, Result<(), AgentChannelError>> {
            Box::pin(async { Err(AgentChannelError::Closed("c1".into())) })
        }
        fn rollback(self: Box<Self>) -> BoxFuture<'static, ()> {
            Box::pin(async {})
        }
    }

    impl AgentChannel for Refusing {
        fn begin(&self) -> Box<dyn ChannelTx> {
            Box::new(Drops)
        }
        fn close(&self) -> BoxFuture<'_, Result<(), AgentChannelError>> {
            Box::pin(async { Ok(()) })
        }
        fn counters(&self) -> Arc<CounterGroup> {
            CounterGroup::channel()
        }
    }

    fn batch(tag: &str) -> Vec<Event> {
        vec![Event::new(format!("{tag}1")), Event::new(format!("{tag}2"))]
    }

    #[tokio::test]
    async fn the_default_put_hands_back_every_refused_batch_of_a_group_in_order() {
        let out = Refusing
            .put_group(vec![batch("a"), batch("b"), batch("c")])
            .await;
        let back: Vec<(String, Vec<Event>)> = out
            .into_iter()
            .map(|r| {
                let r = r.unwrap_err();
                (r.error.to_string(), r.events)
            })
            .collect();
        assert_eq!(back.len(), 3);
        assert_eq!(back[0], ("channel c1 is closed".to_owned(), batch("a")));
        assert!(
            back[1].0.contains("transaction 2 of a group of 3"),
            "{}",
            back[1].0
        );
        assert_eq!(back[1].1, batch("b"));
        assert_eq!(back[2].1, batch("c"));
    }

    #[tokio::test]
    async fn put_batch_of_a_refused_batch_says_why() {
        let e = put_batch(&Refusing, batch("a")).await.unwrap_err();
        assert!(matches!(e, AgentChannelError::Closed(_)), "{e}");
    }
}
