//! Stopping the agent's parts: every source or sink runner signalled at once and waited for
//! until a grace, the rest aborted; between the sources and the sink runners, the memory
//! channels drained into their running sinks, each for up to its `drainTimeout` ([`drain`]);
//! channels closed concurrently within [`CHANNEL_CLOSE_GRACE`], those still closing left to
//! recovery at the next start.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::supervise::Supervised;
use super::CHANNEL_CLOSE_GRACE;
use crate::agent::channel::AgentChannel;

/// Signals every component at once, then waits for them until `grace` from now; those not
/// finished by then are aborted.
pub(super) async fn stop_all(what: &str, components: Vec<(String, Supervised)>, grace: Duration) {
    for (_, c) in &components {
        c.signal();
    }
    let deadline = Instant::now() + grace;
    for (n, c) in components {
        let label = format!("{what} {n}");
        if c.stop_by(&label, deadline).await {
            tracing::info!(component = %label, "{what} stopped");
        }
    }
}

/// How often a drain looks whether its channels are empty.
const DRAIN_POLL: Duration = Duration::from_millis(20);

/// Lets the sinks take what the volatile (memory) channels among `channels` hold, each for
/// up to its `drainTimeout`, their sources already stopped and their sink runners still
/// running; returns once each is empty (nothing queued, no take open) or past its timeout.
/// Durable channels (file, kafka) are not waited for. What is left is counted at the close.
pub(super) async fn drain(channels: Vec<(String, Arc<dyn AgentChannel>)>) {
    let start = Instant::now();
    let mut waiting: Vec<(String, Arc<dyn AgentChannel>, Instant)> = channels
        .into_iter()
        .filter_map(|(n, ch)| {
            let v = ch.volatile()?;
            let by = start.checked_add(v.drain_timeout).unwrap_or(start);
            (v.held > 0 && by > start).then(|| {
                tracing::info!(channel = %n, held = v.held, drain_timeout_ms = v.drain_timeout.as_millis() as u64, "draining the memory channel into its sinks before they stop");
                (n, ch, by)
            })
        })
        .collect();
    while !waiting.is_empty() {
        tokio::time::sleep(DRAIN_POLL).await;
        let now = Instant::now();
        waiting.retain(|(n, ch, by)| {
            let held = ch.volatile().map_or(0, |v| v.held);
            if held == 0 {
                tracing::info!(channel = %n, "memory channel drained");
                return false;
            }
            if now >= *by {
                tracing::info!(channel = %n, held, "drainTimeout passed; the sinks stop now and what the channel holds then is lost");
                return false;
            }
            true
        });
    }
}

/// Closes channels concurrently, waiting at most [`CHANNEL_CLOSE_GRACE`].
pub(super) async fn close_all(channels: Vec<(String, Arc<dyn AgentChannel>)>) {
    let mut set = tokio::task::JoinSet::new();
    for (n, rc) in channels {
        set.spawn(async move {
            match rc.close().await {
                Ok(()) => tracing::info!(channel = %n, "channel closed"),
                Err(e) => tracing::error!(channel = %n, error = %e, "closing channel failed"),
            }
        });
    }
    let deadline = Instant::now() + CHANNEL_CLOSE_GRACE;
    while !set.is_empty() {
        match tokio::time::timeout_at(deadline, set.join_next()).await {
            Ok(_) => {}
            Err(_) => {
                tracing::warn!(
                    channels = set.len(),
                    grace_ms = CHANNEL_CLOSE_GRACE.as_millis() as u64,
                    "channels did not close in time; leaving them to recovery at the next start"
                );
                set.detach_all();
                return;
            }
        }
    }
}
