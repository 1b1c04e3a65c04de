//! What every channel is to the agent: [`AgentChannel`], whose transactions ([`ChannelTx`])
//! put and take batches and then commit or roll back, [`AgentChannelError`], and
//! [`BuildChannel`], the trait each channel's config implements so the runtime opens it
//! without knowing which channel it is.
//!
//! [`AgentChannelError`] is in `error.rs`; group commits across transactions in `group.rs`;
//! the one put contract ([`AgentChannel::put_group`], [`BlockingPut`], [`Refused`]) in
//! `put.rs`. A channel that keeps its events only in the process says so ([`Volatile`]),
//! so that a stop drains it first.

mod error;
mod group;
mod put;

use std::path::PathBuf;
use std::sync::Arc;

use crate::agent::metrics::CounterGroup;
use sluice_core::Event;

pub use error::AgentChannelError;
pub(crate) use group::group_of;
pub use group::{commit_in_order, AnyTx};
pub use put::{put_batch, put_each, put_in_order, BlockingPut, GroupOutcome, PutTerms, Refused};

pub use crate::agent::future::BoxFuture;

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

/// A channel as the agent sees it.
pub trait AgentChannel: Send + Sync + std::fmt::Debug {
    /// Starts a transaction.
    fn begin(&self) -> Box<dyn ChannelTx>;
    /// Closes the channel (the file channel checkpoints first).
    fn close(&self) -> BoxFuture<'_, Result<(), AgentChannelError>>;
    /// The channel's counters.
    fn counters(&self) -> Arc<CounterGroup>;

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

    /// What the channel promises its putters ([`PutTerms`]): unbounded transactions that
    /// duplicate a resend by default.
    fn put_terms(&self) -> PutTerms {
        PutTerms::default()
    }

    /// Puts each of `batches` in a transaction of its own and commits them in order, as one
    /// group where the channel shares what a commit costs (the file channel: one fdatasync);
    /// a batch is a group of one. A prefix commits; every other batch comes back whole and in
    /// order ([`Refused`]), the first with why it was refused, the rest cut
    /// ([`AgentChannelError::GroupCut`]). One outcome per batch. By default one after another
    /// ([`put_in_order`]).
    ///
    /// Cancel safety: not cancel safe; a cancelled call may have committed some batches (the
    /// file channel's blocking call runs to its end).
    fn put_group(&self, batches: Vec<Vec<Event>>) -> BoxFuture<'_, GroupOutcome> {
        Box::pin(put_in_order(self, batches))
    }

    /// The channel's put on the caller's blocking thread, when it has one of its own (the
    /// file channel); `None` for a channel whose put waits asynchronously (a memory channel's
    /// wait for room is better spent as an async task than as a parked thread). Asked once,
    /// by the router built on the channel.
    fn blocking_put(&self) -> Option<Arc<dyn BlockingPut>> {
        None
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

    /// The keys that hold a cursor: a sink's name each (an empty value set with
    /// [`ChannelTx::set_cursor`] forgets one).
    fn cursor_keys(&self) -> Vec<String> {
        Vec::new()
    }

    /// Whether the channel keeps the cursors its takes commit ([`ChannelTx::set_cursor`]).
    fn keeps_cursors(&self) -> bool {
        false
    }

    /// The file channel's queue against its event cache, read now
    /// ([`sluice_core::FileChannel::backlog`]): a file source paces its reads to it
    /// (`source::pace`). `None` for a channel without an event cache.
    fn backlog(&self) -> Option<sluice_core::Backlog> {
        None
    }

    /// Whether the channel's deduplication table holds ids of event-id `origin`
    /// ([`sluice_core::FileChannel::holds_event_origin`]): an RPC source then takes that
    /// origin's ids past its peer's quota (`source/peer_origins.rs`). `false` for channels
    /// that keep no ids.
    fn holds_event_origin(&self, _origin: u64) -> bool {
        false
    }

    /// The file channel's own counters (fsyncs, commits, group commit's breakdown), read now;
    /// `None` for a channel that is not a Sluice file channel.
    fn file_stats(&self) -> Option<sluice_core::ChannelStats> {
        None
    }

    /// What the channel would lose at its close, for a channel that keeps its events only in
    /// the process (memory): the events it holds and how long a stop waits for its sinks to
    /// take them. `None` for a durable channel (file: everything committed survives; kafka:
    /// Kafka keeps it), whose stop is never delayed.
    fn volatile(&self) -> Option<Volatile> {
        None
    }
}

/// What a channel that keeps its events only in the process holds now
/// ([`AgentChannel::volatile`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Volatile {
    /// Events queued or taken by open transactions (lost if the channel closed now).
    pub held: u64,
    /// How long a stop lets its sinks take them (`drainTimeout`).
    pub drain_timeout: std::time::Duration,
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

    /// Where the events the channel holds stay across a restart, `(dataDirs, checkpointDir)`
    /// (none for a channel without files): a reload that changes them while it holds events
    /// would strand them (`runtime/channel_move.rs`).
    fn event_home(&self) -> Option<(&[PathBuf], &std::path::Path)> {
        None
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
