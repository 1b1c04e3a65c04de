//! What every sink is to its runner: the running [`Sink`] (prepare, deliver, acknowledgements
//! to come, tick, stop), [`Delivery`] and [`Acks`], and [`BuildSink`], the trait
//! each sink's config implements so the runtime builds it without knowing which sink it is
//! (or, for a sink that runs its own loop, starts its [`OwnLoop`]).
//! A sink only delivers a batch it is handed; the runner takes and commits.

use std::sync::Arc;

use crate::agent::channel::BoxFuture;
use crate::agent::metrics::CounterGroup;
use crate::agent::stop::Stop;
use sluice_core::Event;

pub use super::error::{BoxError, SinkError, SinkErrorKind};

/// How a delivered batch's take ends (the error case of `deliver` rolls it back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Commit the take; the runner goes on at once.
    Done,
    /// Commit the take, then back off as after a failure (Flume's HttpSink answering
    /// `BACKOFF` for a status whose `rollback` is false and `backoff` true).
    CommitAndBackOff,
}

/// The acknowledgements still to come for a batch a sink handed over (the kafka sink: its
/// records are queued in librdkafka), from [`Sink::take_acks`]: a future that owns everything
/// it waits on, answers within its own time limit and watches the stop signal. The runner
/// commits the take only after it answered `Ok`; an error rolls back that batch and every
/// later one. Dropping it abandons the wait (the batch is then rolled back).
pub struct Acks(pub BoxFuture<'static, Result<(), SinkError>>);

impl std::fmt::Debug for Acks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Acks(..)")
    }
}

/// Most take transactions of one runner open at once: one whose take commits while the next
/// is taken and delivered. 1 makes rounds serial (take, deliver, commit).
pub const PIPELINE_DEPTH: usize = 2;
const _: () = assert!(PIPELINE_DEPTH >= 1);

/// A running sink, as its runner drives it. Only `deliver` is required; the rest default to
/// what a sink without connections, acknowledgements or files needs.
pub trait Sink: std::fmt::Debug + Send {
    /// Gives the sink its counters and the runner's stop signal (sinks with connections
    /// count them and abandon network waits on stop).
    fn attach(&mut self, _counters: Arc<CounterGroup>, _stop: Stop) {}

    /// Readies the sink before a batch is taken (the avro sink connects here). An error
    /// counts as a failed round: nothing is taken.
    fn prepare(&mut self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// Delivers a batch; `Ok` lets the runner commit the take. Cancel safety: not cancel
    /// safe (a file write may be partial).
    fn deliver(&mut self, events: Vec<Event>) -> BoxFuture<'_, Result<Delivery, SinkError>>;

    /// Where the sink's output stands after the batch `deliver` just answered `Ok` for, as a
    /// cursor the runner commits with that batch's take (`ChannelTx::set_cursor`, under the
    /// sink's name); `None` for sinks that keep none.
    fn cursor(&mut self) -> Option<Vec<u8>> {
        None
    }

    /// Before the first batch: the cursor committed with the sink's last take, if its channel
    /// keeps one. A sink cuts its output back to it, so the batches taken again after a crash
    /// are not written twice. `Ok(false)` when the cursor is not this output's (unreadable,
    /// or naming another directory): the runner then commits a baseline as for none.
    fn restore(&mut self, _cursor: Vec<u8>) -> BoxFuture<'_, Result<bool, SinkError>> {
        Box::pin(std::future::ready(Ok(true)))
    }

    /// When the channel keeps cursors but holds none for the sink (a first start, or a full
    /// replay, which trusts none), once it holds events: readies the output (a file sink recovers its files) and returns
    /// where it stands before any batch, as a cursor. The runner commits it, in a take of no
    /// events, before the sink's first take, so output written by takes that never commit is
    /// cut back at the next start even when the crash comes before the first commit. `None`
    /// for sinks that keep no cursor; an error is a failed round (nothing is taken).
    fn baseline(&mut self) -> BoxFuture<'_, Result<Option<Vec<u8>>, SinkError>> {
        Box::pin(std::future::ready(Ok(None)))
    }

    /// Most take transactions a runner keeps open on this sink at once: [`PIPELINE_DEPTH`],
    /// or more for a sink whose batches wait on acknowledgements (kafka: the broker's round
    /// trip and the producer's batching overlap several batches).
    fn pipeline_depth(&self) -> usize {
        PIPELINE_DEPTH
    }

    /// The acknowledgements of the batch the last `deliver` answered `Ok` for, if they are
    /// still to come (the kafka sink); `None` for sinks that deliver fully within `deliver`.
    /// The runner asks right after each successful `deliver`.
    fn take_acks(&mut self) -> Option<Acks> {
        None
    }

    /// The poison events of the last `deliver` (events it can never deliver; the rest of
    /// the batch was delivered). The runner asks right after each `deliver`, and drops them
    /// when `deliver` failed (the batch comes again whole).
    fn take_poisoned(&mut self) -> Vec<super::poison::Poisoned> {
        Vec::new()
    }

    /// How many events of the last `deliver` (answered `Ok`) the sink did not send because
    /// its destination already holds them (the nats sink's progress records): the runner
    /// counts them as `EventAlreadyStoredCount`, not as drained. The runner asks right after
    /// each successful `deliver`.
    fn take_already_stored(&mut self) -> u64 {
        0
    }

    /// Periodic work while idle (rolling files).
    fn tick(&mut self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// Flushes and closes what the sink holds open.
    fn stop(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }
}

/// What the runtime needs of a sink's typed configuration (Vector's `SinkConfig`): its batch
/// size (and the key that sets it, for messages) and how to build the running sink.
pub trait BuildSink: std::fmt::Debug + Send + Sync {
    /// Events per take transaction.
    fn batch_size(&self) -> usize;

    /// The key that sets [`BuildSink::batch_size`] (`batchSize` unless the sink says otherwise).
    fn batch_key(&self) -> &'static str {
        "batchSize"
    }

    /// Builds the running sink named `name` (for a runner to drive).
    fn build(&self, name: &str) -> Box<dyn Sink>;

    /// The loop of a sink that takes in its own transactions instead of being driven by a
    /// runner (such a sink runs alone, never in a sink group); `None` for a runner-driven
    /// sink. Whether a sink runs its own loop and what that loop is are one answer.
    fn own_loop(&self) -> Option<OwnLoop> {
        None
    }
}

/// The loop of a sink that runs its own loop: given a [`LoopCtx`], the future that runs until
/// `ctx.stop`. The runtime runs it again (with a fresh context) if it ends before the stop.
pub struct OwnLoop(Box<dyn Fn(LoopCtx) -> BoxFuture<'static, ()> + Send + Sync>);

impl OwnLoop {
    /// The loop `run` makes for each start.
    pub fn new(run: impl Fn(LoopCtx) -> BoxFuture<'static, ()> + Send + Sync + 'static) -> Self {
        OwnLoop(Box::new(run))
    }

    /// One start of the loop, within `ctx`.
    pub fn start(&self, ctx: LoopCtx) -> BoxFuture<'static, ()> {
        (self.0)(ctx)
    }
}

impl std::fmt::Debug for OwnLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OwnLoop(..)")
    }
}

/// What a sink that runs its own loop is given.
#[derive(Debug)]
pub struct LoopCtx {
    /// The sink's name.
    pub name: String,
    /// The channel it takes from.
    pub channel: Arc<dyn crate::agent::channel::AgentChannel>,
    /// The channel's `transactionCapacity`: most events one of its transactions may take.
    pub tx_capacity: usize,
    /// The sink's counters.
    pub counters: Arc<CounterGroup>,
    /// Ends the loop.
    pub stop: Stop,
}
