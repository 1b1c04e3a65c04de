//! What every channel is to the agent: [`AgentChannel`], whose transactions ([`ChannelTx`])
//! put and take batches and then commit or roll back, [`AgentChannelError`], and
//! [`BuildChannel`], the trait each channel's config implements so the runtime opens it
//! without knowing which channel it is.
//!
//! [`AgentChannelError`] is in `error.rs`; group commits across transactions in `group.rs`.

mod error;
mod group;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use crate::agent::metrics::CounterGroup;
use sluice_core::Event;

pub use error::AgentChannelError;
pub(crate) use group::group_of;
pub use group::{commit_in_order, AnyTx};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A channel transaction. Dropping it without `commit` rolls it back.
///
/// Cancel safety: cancelling a pending `put_all`/`take_up_to`/`commit` drops the transaction's
/// work; for the file channel the blocking call runs to its end and the transaction then rolls
/// back when dropped, unless `commit` had already made it durable.
pub trait ChannelTx: AnyTx {
    /// Adds events to the put list.
    fn put_all(&mut self, events: Vec<Event>) -> BoxFuture<'_, Result<(), AgentChannelError>>;
    /// Takes up to `max` events (fewer, possibly none, when the channel has fewer).
    fn take_up_to(&mut self, max: usize) -> BoxFuture<'_, Result<Vec<Event>, AgentChannelError>>;
    /// Makes the puts visible and the takes final.
    fn commit(self: Box<Self>) -> BoxFuture<'static, Result<(), AgentChannelError>>;
    /// Discards the puts and returns the takes to the head of the channel.
    fn rollback(self: Box<Self>) -> BoxFuture<'static, ()>;
    /// Sets cursor `key` to `value` with this transaction's commit (the file channel keeps the
    /// last committed value of each key: `sluice_core::Transaction::set_cursor`). False when
    /// the channel keeps no cursors (memory, kafka) or refused this one.
    fn set_cursor(&mut self, _key: &str, _value: Vec<u8>) -> bool {
        false
    }
}

/// A batch a channel refused, with the error and, when the channel hands it back
/// ([`AgentChannel::hands_back`]), the events themselves: the caller retries with them
/// instead of keeping a copy (as Vector's disk buffer hands a record back when it is full).
#[derive(Debug)]
pub struct Refused {
    /// Why the batch was refused.
    pub error: AgentChannelError,
    /// The refused events, unchanged and in order; `None` when the channel keeps nothing to
    /// give back (the caller kept its own copy).
    pub events: Option<Vec<Event>>,
}

impl Refused {
    /// A refusal that hands the batch back.
    pub(crate) fn with(error: AgentChannelError, events: Vec<Event>) -> Self {
        Refused {
            error,
            events: Some(events),
        }
    }

    /// A refusal without the batch.
    pub(crate) fn without(error: AgentChannelError) -> Self {
        Refused {
            error,
            events: None,
        }
    }
}

/// A channel as the agent sees it.
pub trait AgentChannel: Send + Sync + std::fmt::Debug {
    /// Starts a transaction.
    fn begin(&self) -> Box<dyn ChannelTx>;
    /// Closes the channel (the file channel checkpoints first).
    fn close(&self) -> BoxFuture<'_, Result<(), AgentChannelError>>;
    /// The channel's counters.
    fn counters(&self) -> Arc<CounterGroup>;

    /// Whether [`AgentChannel::offer`] always hands a refused batch back.
    fn hands_back(&self) -> bool {
        false
    }

    /// Commits `txs` (transactions this channel began) in order as one group, sharing what a
    /// commit costs where the channel can: the file channel writes them all before one
    /// fdatasync covers them ([`sluice_core::Transaction::commit_all`]). What commits is a
    /// prefix of the group: after a failure the rest roll back. The outcomes, in order.
    fn commit_group(
        &self,
        txs: Vec<Box<dyn ChannelTx>>,
    ) -> BoxFuture<'_, Vec<Result<(), AgentChannelError>>> {
        Box::pin(commit_in_order(txs))
    }

    /// Whether several take transactions of the channel may be open at once (a sink runner
    /// keeps some open while their batches wait for acknowledgements); false for a channel
    /// that holds a later take until the open one ends (kafka: one consumer), whose runner
    /// then starts the next take only while the previous one commits.
    fn concurrent_takes(&self) -> bool {
        true
    }

    /// Most events one put transaction may hold (`transactionCapacity`); unbounded by
    /// default.
    fn put_capacity(&self) -> usize {
        usize::MAX
    }

    /// Whether the channel recognises a put it committed before by its event id and drops
    /// it (the file channel's `eventIds`): a source may then send again what it cannot prove
    /// was committed without duplicating it.
    fn drops_resends(&self) -> bool {
        false
    }

    /// Puts `events` in one transaction and commits it (rolled back when a put fails): begin,
    /// put all, commit by default. A channel whose every call is a hop of its own (the file
    /// channel's blocking pool) does the whole in one. [`put_batch`] calls this.
    ///
    /// Cancel safety: as [`ChannelTx`]'s; a cancelled call may have committed.
    fn put_commit(&self, events: Vec<Event>) -> BoxFuture<'_, Result<(), AgentChannelError>> {
        Box::pin(async move {
            let mut tx = self.begin();
            if let Err(e) = tx.put_all(events).await {
                tx.rollback().await;
                return Err(e);
            }
            tx.commit().await
        })
    }

    /// [`AgentChannel::put_commit`] for a caller on the runtime's blocking pool (a source that
    /// decoded a call there puts it without a hop back to the async workers): the file channel
    /// puts and commits on the calling thread; any other channel runs its `put_commit` there
    /// (`Handle::block_on`). Never call it on an async worker.
    fn put_commit_blocking(&self, events: Vec<Event>) -> Result<(), AgentChannelError> {
        tokio::runtime::Handle::current().block_on(self.put_commit(events))
    }

    /// Puts each of `batches` in a transaction of its own and commits them in order as one
    /// group ([`AgentChannel::commit_group`]), on the calling thread (the runtime's blocking
    /// pool, as [`AgentChannel::put_commit_blocking`]): a prefix of them commits; the outcomes
    /// in order. A batch after the first refused one is handed back ([`Refused::events`]);
    /// the refused one too when the channel [`hands_back`](AgentChannel::hands_back). By
    /// default one after another ([`AgentChannel::offer`]), stopping at the first failure.
    fn put_commit_group_blocking(&self, batches: Vec<Vec<Event>>) -> Vec<Result<(), Refused>> {
        let total = batches.len();
        let mut out = Vec::with_capacity(total);
        let handle = tokio::runtime::Handle::current();
        for (i, batch) in batches.into_iter().enumerate() {
            if out.iter().any(Result::is_err) {
                let cut = AgentChannelError::GroupCut {
                    position: i + 1,
                    total,
                };
                out.push(Err(Refused::with(cut, batch)));
            } else {
                out.push(handle.block_on(self.offer(batch)));
            }
        }
        out
    }

    /// Whether [`AgentChannel::put_commit_blocking`] is the channel's own blocking put (the
    /// file channel), rather than its async one run under `block_on`: only then does a source
    /// put from the blocking thread that decoded a call (a memory channel's wait for room is
    /// better spent as an async task than as a parked thread).
    fn puts_blocking(&self) -> bool {
        false
    }

    /// The channel's [`Arrivals`](super::arrivals::Arrivals), when it counts its committed puts
    /// (every channel the runtime opens does: [`Instrumented`](super::instrumented::Instrumented)).
    fn arrivals(&self) -> Option<Arc<super::arrivals::Arrivals>> {
        None
    }

    /// The last committed value of cursor `key` ([`ChannelTx::set_cursor`]); `None` for
    /// channels that keep none.
    fn cursor(&self, _key: &str) -> Option<Vec<u8>> {
        None
    }

    /// The file channel's queue against its event cache, read now
    /// ([`sluice_core::FileChannel::backlog`]): a file source paces its reads to it
    /// (`source::pace`). `None` for a channel without an event cache.
    fn backlog(&self) -> Option<sluice_core::Backlog> {
        None
    }

    /// The file channel's own counters (fsyncs, commits, group commit's breakdown), read now;
    /// `None` for a channel that is not a Sluice file channel.
    fn file_stats(&self) -> Option<sluice_core::ChannelStats> {
        None
    }

    /// Puts `events` in one transaction (begin, put all, commit). A channel that
    /// [`hands_back`](AgentChannel::hands_back) returns a refused batch in [`Refused::events`];
    /// by default the events are gone with the transaction.
    fn offer(&self, events: Vec<Event>) -> BoxFuture<'_, Result<(), Refused>> {
        Box::pin(async move {
            let mut tx = self.begin();
            if let Err(e) = tx.put_all(events).await {
                tx.rollback().await;
                return Err(Refused::without(e));
            }
            tx.commit().await.map_err(Refused::without)
        })
    }
}

/// Puts `events` into `ch` in one transaction: begin, put all, commit (roll back on failure),
/// as [`AgentChannel::put_commit`] does it.
pub async fn put_batch(ch: &dyn AgentChannel, events: Vec<Event>) -> Result<(), AgentChannelError> {
    ch.put_commit(events).await
}

/// What the runtime needs of a channel's typed configuration: its transaction capacity, for
/// the checks against sources and sinks, the directories it owns, and how to open it.
pub trait BuildChannel: std::fmt::Debug + Send + Sync {
    /// `transactionCapacity`: most events put or taken by one transaction.
    fn transaction_capacity(&self) -> u64;

    /// The directories the channel keeps its data in, created before a reload stops anything
    /// (none for a channel without files).
    fn dirs(&self) -> Vec<PathBuf> {
        Vec::new()
    }

    /// Opens the channel named `name`.
    fn open(
        &self,
        name: &str,
    ) -> BoxFuture<'static, Result<Arc<dyn AgentChannel>, AgentChannelError>>;

    /// Opens the channel named `name`, showing it in `registry` while it opens when it has
    /// something to show (the file channel's replay progress); the caller registers the opened
    /// channel's counters as usual. By default the same as [`BuildChannel::open`].
    fn open_shown(
        &self,
        name: &str,
        registry: Arc<crate::agent::metrics::Registry>,
    ) -> BoxFuture<'static, Result<Arc<dyn AgentChannel>, AgentChannelError>> {
        let _ = registry;
        self.open(name)
    }
}
