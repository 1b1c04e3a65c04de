//! Sink runners: one task per ungrouped sink or per sink group. Each round asks the group's
//! policy (`agent::processor`) for an order, and the first sink that does not fail handles
//! the batch: take up to its batch size in one transaction, deliver, commit; on failure roll
//! back and report it to the policy. Backoff is Flume's after failures (1 s more each time,
//! at most 5 s) and shorter when the channel is just empty (100 ms more, at most 1 s).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::Sink;
use crate::agent::channel::AgentChannel;
use crate::agent::metrics::CounterGroup;
use crate::agent::processor::SinkPolicy;
use crate::agent::stop::Stop;

/// Backoff step after a failed round.
pub const FAIL_BACKOFF_STEP: Duration = Duration::from_secs(1);
/// Longest backoff after failures.
pub const FAIL_BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Backoff step while the channel is empty.
pub const IDLE_BACKOFF_STEP: Duration = Duration::from_millis(100);
/// Longest backoff while the channel is empty.
pub const IDLE_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// One sink with its channel.
#[derive(Debug)]
pub struct SinkUnit {
    /// The sink.
    pub sink: Sink,
    /// The channel it reads.
    pub channel: Arc<dyn AgentChannel>,
    /// Events per take transaction.
    pub batch_size: usize,
    /// Its counters.
    pub counters: Arc<CounterGroup>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ready,
    Empty,
    Failed,
}

async fn process(name: &str, u: &mut SinkUnit) -> Outcome {
    let c = &u.counters;
    if let Err(e) = u.sink.prepare().await {
        tracing::debug!(sink = name, error = %e, "sink not ready");
        return Outcome::Failed;
    }
    let mut tx = u.channel.begin();
    let events = match tx.take_up_to(u.batch_size).await {
        Ok(e) => e,
        Err(e) => {
            c.add("ChannelReadFail", 1);
            tracing::warn!(sink = name, error = %e, "take failed");
            tx.rollback().await;
            return Outcome::Failed;
        }
    };
    let n = events.len() as u64;
    if n == 0 {
        c.add("BatchEmptyCount", 1);
        let _ = tx.commit().await;
        return Outcome::Empty;
    }
    c.add("EventDrainAttemptCount", n);
    if events.len() < u.batch_size {
        c.add("BatchUnderflowCount", 1);
    } else {
        c.add("BatchCompleteCount", 1);
    }
    if let Err(e) = u.sink.deliver(&events).await {
        c.add("EventWriteFail", 1);
        tracing::warn!(sink = name, error = %e, "delivery failed; rolling back");
        tx.rollback().await;
        return Outcome::Failed;
    }
    match tx.commit().await {
        Ok(()) => {
            c.add("EventDrainSuccessCount", n);
            Outcome::Ready
        }
        Err(e) => {
            c.add("ChannelReadFail", 1);
            tracing::warn!(sink = name, error = %e, "commit of take failed");
            Outcome::Failed
        }
    }
}

/// Runs sinks under a policy until stopped; the batch in progress is finished first.
pub async fn run(
    runner: String,
    mut units: BTreeMap<String, SinkUnit>,
    mut policy: SinkPolicy,
    mut stop: Stop,
) {
    for u in units.values_mut() {
        u.sink.attach(u.counters.clone(), stop.clone());
    }
    let mut fail_backoff = Duration::ZERO;
    let mut idle_backoff = Duration::ZERO;
    while !stop.is_set() {
        let order = policy.order(std::time::Instant::now());
        let mut outcome = Outcome::Failed;
        for name in order {
            let Some(u) = units.get_mut(&name) else {
                continue;
            };
            outcome = process(&name, u).await;
            match outcome {
                Outcome::Ready => {
                    policy.report_success(&name);
                    break;
                }
                Outcome::Empty => break,
                Outcome::Failed => policy.report_failure(&name, std::time::Instant::now()),
            }
        }
        let pause = match outcome {
            Outcome::Ready => {
                fail_backoff = Duration::ZERO;
                idle_backoff = Duration::ZERO;
                continue;
            }
            Outcome::Empty => {
                fail_backoff = Duration::ZERO;
                idle_backoff = (idle_backoff + IDLE_BACKOFF_STEP).min(IDLE_BACKOFF_MAX);
                idle_backoff
            }
            Outcome::Failed => {
                fail_backoff = (fail_backoff + FAIL_BACKOFF_STEP).min(FAIL_BACKOFF_MAX);
                tracing::debug!(runner = %runner, backoff_ms = fail_backoff.as_millis() as u64, "backing off");
                fail_backoff
            }
        };
        for (name, u) in units.iter_mut() {
            if let Err(e) = u.sink.tick().await {
                tracing::warn!(sink = %name, error = %e, "periodic work failed");
            }
        }
        if stop.sleep(pause).await {
            break;
        }
    }
    for u in units.values_mut() {
        u.sink.stop().await;
        u.counters.stopped();
    }
}
