//! Supervision of a Java component: its JVM is run again after it fails (an exit, an
//! OutOfMemoryError, a crash, a bad frame) with a doubling backoff, and each failure is
//! logged naming the component and its class; the agent and its other components go on.

use std::time::Duration;

use tokio::sync::mpsc;

use super::session::{run_once, Call, Serve, Spec};
use crate::agent::stop::Stop;

/// First wait before a failed JVM is started again.
pub(crate) const RESTART_FIRST: Duration = Duration::from_secs(1);
/// Longest wait between restarts.
pub(crate) const RESTART_MAX: Duration = Duration::from_secs(30);
/// A run that lasted this long resets the backoff.
pub(crate) const RESTART_RESET_AFTER: Duration = Duration::from_secs(60);

/// Runs `spec` until `stop` (or until every caller of `calls` is gone), a fresh [`Serve`]
/// from `make` for each JVM. Calls wait in `calls` while a JVM restarts.
pub(crate) async fn supervise<F>(
    spec: Spec,
    mut stop: Stop,
    mut calls: Option<mpsc::Receiver<Call>>,
    mut make: F,
) where
    F: FnMut() -> Box<dyn Serve>,
{
    let mut wait = RESTART_FIRST;
    loop {
        let began = tokio::time::Instant::now();
        let mut serve = make();
        tracing::info!(component = %spec.name, class = %spec.class, "starting Java plugin");
        let result = run_once(&spec, serve.as_mut(), &mut stop, calls.as_mut()).await;
        drop(serve);
        let err = match result {
            Ok(()) => return,
            Err(e) => e,
        };
        if stop.is_set() || calls.as_ref().is_some_and(|c| c.is_closed()) {
            return;
        }
        if began.elapsed() >= RESTART_RESET_AFTER {
            wait = RESTART_FIRST;
        }
        tracing::error!(component = %spec.name, class = %spec.class, error = %err, retry_ms = wait.as_millis() as u64, "Java plugin failed; restarting it");
        if stop.sleep(wait).await {
            return;
        }
        wait = (wait * 2).min(RESTART_MAX);
    }
}
