//! A sink runner's pauses: the idle backoff when the channel was empty (cut short by the next
//! committed put on any channel the runner reads, [`Arrivals`]) and the failure backoff after
//! a failure or a "commit but back off".

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::{Outcome, SinkUnit};
use crate::agent::backoff::Backoff;
use crate::agent::channel::arrivals::Arrivals;

/// The [`Arrivals`] of the channels the units read, each once.
pub(super) fn distinct_arrivals(units: &BTreeMap<String, SinkUnit>) -> Vec<Arc<Arrivals>> {
    let mut out: Vec<Arc<Arrivals>> = Vec::new();
    for a in units.values().filter_map(|u| u.channel.arrivals()) {
        if !out.iter().any(|o| Arc::ptr_eq(o, &a)) {
            out.push(a);
        }
    }
    out
}

/// Waits until a put commits on any of the channels since its count in `seen`, or `within`
/// passes (the whole pause when no channel counts its puts).
pub(super) async fn arrived(seen: &[(Arc<Arrivals>, u64)], within: Duration) {
    match seen {
        [] => tokio::time::sleep(within).await,
        [(a, s)] => {
            a.wait_after(*s, within).await;
        }
        many => {
            // Sinks of one group reading different channels: the first arrival wakes them.
            let mut waits = tokio::task::JoinSet::new();
            for (a, s) in many {
                let (a, s) = (a.clone(), *s);
                waits.spawn(async move { a.wait_after(s, within).await });
            }
            let _ = waits.join_next().await;
        }
    }
}

/// The pause after a round that did not deliver: the idle backoff when the channel was
/// empty, the failure backoff after a failure or a "commit but back off".
pub(super) fn pause_after(
    outcome: Outcome,
    fail_backoff: &mut Backoff,
    idle_backoff: &mut Backoff,
    runner: &str,
) -> Duration {
    match outcome {
        Outcome::Ready => Duration::ZERO,
        Outcome::Empty => {
            fail_backoff.reset();
            idle_backoff.failed()
        }
        Outcome::BackOff | Outcome::Failed => {
            idle_backoff.reset();
            let wait = fail_backoff.failed();
            tracing::debug!(runner = %runner, backoff_ms = wait.as_millis() as u64, "backing off");
            wait
        }
    }
}
