//! Stopping the agent's parts: every source or sink runner signalled at once and waited for
//! until a grace, the rest aborted; channels closed concurrently within
//! [`CHANNEL_CLOSE_GRACE`], those still closing left to recovery at the next start.

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
