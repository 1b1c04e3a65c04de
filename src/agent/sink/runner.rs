//! Sink runners: one task per ungrouped sink or per sink group. Each round asks the group's
//! policy (`agent::processor`) for an order, and the first sink that does not fail handles
//! the batch: take up to its batch size in one transaction, deliver, commit; on failure roll
//! back and report it to the policy. Backoff is Flume's after failures (1 s more each time,
//! at most 5 s) and shorter when the channel is just empty (100 ms more, at most 1 s, cut
//! short by the next committed put on the channel: [`Arrivals`]). A sink
//! that answers "commit but back off" ([`Delivery::CommitAndBackOff`], the http sink's
//! `rollback = false, backoff = true`) has its take committed, then the runner backs off as
//! after a failure (Flume's `BACKOFF`), without reporting a failure to the policy.
//!
//! Rounds are pipelined: while the delivered batches' takes commit (the channel's fsync), the
//! next batch is taken and delivered (the sink's write and fsync), so the two fsyncs overlap.
//! Once the pipeline is full, every delivered batch commits as one group as soon as it is
//! acknowledged, in order ([`super::settle`]: one fdatasync for the group on a file channel):
//! `deliver(1..3) → [commit(1..3) ∥ take+deliver(4)] → deliver(5, 6) → [commit(4..6) ∥ …]`.
//! At most the sink's [`Sink::pipeline_depth`] take transactions of a runner are open at once.
//! - Takes commit strictly in order, each only after its own batch was delivered (for the
//!   file sinks: durable); what commits of a group is a prefix.
//! - A failed delivery rolls back only its own batch; batches already delivered still commit.
//! - A failed commit returns that batch's events to the channel (the channel rolls back the
//!   transaction), so they are delivered again: at least once, duplicates possible.
//! - A sink may hand a batch over with its acknowledgements still to come ([`Acks`], the
//!   kafka sink: records queued in the client): the runner takes and delivers the next batch,
//!   and the pending batch's take commits only after its acknowledgements answered `Ok`.
//!   If they answer an error, that batch and every later batch still pending roll back (they
//!   are delivered again: duplicates possible, never a loss).
//! - Poison events ([`super::poison`]) a sink reports after delivering the rest of its batch
//!   are counted, logged and dropped or dead-lettered before the take commits; only if the
//!   dead letter cannot be written does the batch fail (and is rolled back, like any failure).
//! - The pipeline stays within one sink: before the policy's order switches to another sink,
//!   and before any pause (channel empty, failure, back off) or stop, every delivered batch
//!   is committed. On stop the batch in progress finishes, then the delivered ones commit.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::poison::PoisonHandler;
use super::settle::{commit_ready, roll_back_from, Delivered, Settled};
use super::{Delivery, Sink};
use crate::agent::backoff::Backoff;
use crate::agent::channel::arrivals::Arrivals;
use crate::agent::channel::AgentChannel;
use crate::agent::metrics::CounterGroup;
use crate::agent::processor::SinkPolicy;
use crate::agent::stop::Stop;

mod batch;
mod pause;

use batch::{take_and_deliver, Batch};
use pause::{arrived, distinct_arrivals, pause_after};

/// Backoff step after a failed round (or a "commit but back off" answer).
pub const FAIL_BACKOFF_STEP: Duration = Duration::from_secs(1);
/// Longest backoff after failures.
pub const FAIL_BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Backoff step while the channel is empty.
pub const IDLE_BACKOFF_STEP: Duration = Duration::from_millis(100);
/// Longest backoff while the channel is empty.
pub const IDLE_BACKOFF_MAX: Duration = Duration::from_secs(1);
pub use super::contract::PIPELINE_DEPTH;

/// Delivered batches kept waiting for their commit while the next batch is taken: one less
/// than the sink's depth ([`Sink::pipeline_depth`]), and at most one on a channel whose takes
/// cannot overlap ([`AgentChannel::concurrent_takes`]): its next take waits for the open one,
/// which must then be committing.
fn delivered_max(u: &SinkUnit) -> usize {
    let depth = u.sink.pipeline_depth().max(1) - 1;
    if u.channel.concurrent_takes() {
        depth
    } else {
        depth.min(1)
    }
}

/// One sink with its channel.
#[derive(Debug)]
pub struct SinkUnit {
    /// The sink.
    pub sink: Box<dyn Sink>,
    /// The channel it reads.
    pub channel: Arc<dyn AgentChannel>,
    /// Events per take transaction.
    pub batch_size: usize,
    /// Its counters.
    pub counters: Arc<CounterGroup>,
    /// What becomes of its poison events (`deadLetter.directory`).
    pub poison: PoisonHandler,
    /// The channel holds no cursor for the sink: its baseline ([`Sink::baseline`]) is to be
    /// committed before its first take.
    baseline_due: bool,
}

impl SinkUnit {
    /// A sink on `channel`, taking `batch_size` events per transaction.
    pub fn new(
        sink: Box<dyn Sink>,
        channel: Arc<dyn AgentChannel>,
        batch_size: usize,
        counters: Arc<CounterGroup>,
        poison: PoisonHandler,
    ) -> Self {
        SinkUnit {
            sink,
            channel,
            batch_size,
            counters,
            poison,
            baseline_due: false,
        }
    }
}

/// How one round on a sink ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A batch was delivered.
    Ready,
    /// A batch was delivered and the sink asked to back off.
    BackOff,
    /// The channel had nothing.
    Empty,
    /// The take, the delivery or the commit failed: the batch was rolled back.
    Failed,
}

/// Commits every delivered batch, oldest first, in groups; a failed commit is reported to
/// the policy as a failure of its sink. Returns false if any commit failed.
async fn drain(pending: &mut VecDeque<Delivered>, policy: &mut SinkPolicy) -> bool {
    let mut all = true;
    while let Some(sink) = pending.front().map(|d| d.sink.clone()) {
        if settle(commit_ready(pending, true).await, pending).await {
            policy.report_failure(&sink, Instant::now());
            all = false;
        }
    }
    all
}

/// Handles a group's outcomes; true if any failed (an unacknowledged batch is rolled back
/// with every batch after it).
async fn settle(settled: Vec<Settled>, pending: &mut VecDeque<Delivered>) -> bool {
    let mut failed = false;
    for s in settled {
        match s {
            Settled::Committed => {}
            Settled::CommitFailed => failed = true,
            Settled::Unacknowledged(d) => {
                failed = true;
                roll_back_from(d, pending).await;
            }
        }
    }
    failed
}

/// One round on sink `name`: take and deliver a batch while, if the pipeline is full, the
/// delivered batches commit as one group once acknowledged (in order, up to the first that
/// is not). The new batch joins `pending`.
async fn round(name: &str, u: &mut SinkUnit, pending: &mut VecDeque<Delivered>) -> Outcome {
    let delivered_max = delivered_max(u);
    let full = pending.len() >= delivered_max;
    let (settled, batch) = tokio::join!(
        async {
            if full {
                commit_ready(pending, true).await
            } else {
                Vec::new()
            }
        },
        take_and_deliver(name, u)
    );
    let mut outcome = match batch {
        Batch::Delivered(d, delivery) => {
            pending.push_back(d);
            match delivery {
                Delivery::Done => Outcome::Ready,
                Delivery::CommitAndBackOff => Outcome::BackOff,
            }
        }
        Batch::Empty => Outcome::Empty,
        Batch::Failed => Outcome::Failed,
    };
    // The channel could not commit, or a batch was not acknowledged: this sink's round failed.
    if settle(settled, pending).await {
        outcome = Outcome::Failed;
    }
    // With a depth of 1 the batch just delivered commits now.
    while pending.len() > delivered_max {
        if settle(commit_ready(pending, false).await, pending).await {
            outcome = Outcome::Failed;
        }
    }
    outcome
}

/// One round on sink `name`, its batch committed (or rolled back) before it returns: for a
/// Java sink processor, whose `process()` on a sink returns only when that sink is done.
pub(crate) async fn process_once(name: &str, u: &mut SinkUnit) -> Outcome {
    if let Err(e) = u.sink.tick().await {
        tracing::warn!(sink = %name, error = %e, "periodic work failed");
    }
    let mut pending: VecDeque<Delivered> = VecDeque::with_capacity(1);
    let mut outcome = round(name, u, &mut pending).await;
    while !pending.is_empty() {
        if settle(commit_ready(&mut pending, true).await, &mut pending).await {
            outcome = Outcome::Failed;
        }
    }
    outcome
}

/// Gives each sink its counters and the stop signal, and the cursor its channel committed
/// with its last take (the sink cuts its output back to it); a sink whose channel keeps cursors
/// but holds none for it has its baseline committed before its first take ([`Sink::baseline`]).
pub(crate) async fn attach(units: &mut BTreeMap<String, SinkUnit>, stop: &Stop) {
    for (name, u) in units.iter_mut() {
        u.sink.attach(u.counters.clone(), stop.clone());
        match u.channel.cursor(name) {
            Some(cursor) => match u.sink.restore(cursor).await {
                Ok(true) => {}
                // Not this output's (another directory): as with none, a baseline first.
                Ok(false) => u.baseline_due = u.channel.keeps_cursors(),
                Err(e) => {
                    tracing::error!(sink = %name, error = %e, "output not cut back to the last committed take; batches taken again may be written twice");
                }
            },
            None => u.baseline_due = u.channel.keeps_cursors(),
        }
    }
}

/// Runs sinks under a policy until stopped; the batch in progress is finished first and
/// every delivered batch is committed.
pub async fn run(
    runner: String,
    mut units: BTreeMap<String, SinkUnit>,
    mut policy: SinkPolicy,
    mut stop: Stop,
) {
    attach(&mut units, &stop).await;
    let mut pending: VecDeque<Delivered> = VecDeque::with_capacity(PIPELINE_DEPTH);
    let mut fail_backoff = Backoff::linear(FAIL_BACKOFF_STEP, FAIL_BACKOFF_MAX);
    let mut idle_backoff = Backoff::linear(IDLE_BACKOFF_STEP, IDLE_BACKOFF_MAX);
    let arrivals = distinct_arrivals(&units);
    let mut seen: Vec<(Arc<Arrivals>, u64)> = Vec::with_capacity(arrivals.len());
    while !stop.is_set() {
        // Read before looking, so a put between the look and the wait is not missed.
        seen.clear();
        seen.extend(arrivals.iter().map(|a| (a.clone(), a.seq())));
        let order = policy.order(Instant::now());
        let mut outcome = Outcome::Failed;
        for name in order {
            let Some(u) = units.get_mut(&name) else {
                continue;
            };
            if pending.front().is_some_and(|d| d.sink != name) {
                drain(&mut pending, &mut policy).await;
            }
            outcome = round(&name, u, &mut pending).await;
            match outcome {
                Outcome::Ready | Outcome::BackOff => {
                    policy.report_success(&name);
                    break;
                }
                Outcome::Empty => break,
                Outcome::Failed => policy.report_failure(&name, Instant::now()),
            }
        }
        if outcome == Outcome::Ready {
            fail_backoff.reset();
            idle_backoff.reset();
            continue;
        }
        if !drain(&mut pending, &mut policy).await {
            outcome = Outcome::Failed;
        }
        let pause = pause_after(outcome, &mut fail_backoff, &mut idle_backoff, &runner);
        for (name, u) in units.iter_mut() {
            if let Err(e) = u.sink.tick().await {
                tracing::warn!(sink = %name, error = %e, "periodic work failed");
            }
        }
        let stopped = if outcome == Outcome::Empty {
            // Woken by the next put instead of polling: a sink that sleeps its whole idle
            // backoff starts a burst that far behind.
            tokio::select! {
                _ = stop.wait() => true,
                _ = arrived(&seen, pause) => stop.is_set(),
            }
        } else {
            stop.sleep(pause).await
        };
        if stopped {
            break;
        }
    }
    drain(&mut pending, &mut policy).await;
    for u in units.values_mut() {
        u.sink.stop().await;
        u.counters.stopped();
    }
}

#[cfg(test)]
#[path = "runner_tests/mod.rs"]
mod tests;

#[cfg(test)]
#[path = "runner_wake_tests.rs"]
mod wake_tests;

#[cfg(test)]
#[path = "runner_group_tests.rs"]
mod group_tests;
