//! Supervision: a component runs in its own task; when it fails it is restarted after a
//! backoff that doubles from 1 s up to 30 s (reset after a minute of good running), and the
//! rest of the agent keeps running.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::agent::stop::{self, Stop, StopHandle};

/// First restart delay.
pub(crate) const RESTART_BACKOFF_MIN: Duration = Duration::from_secs(1);
/// Longest restart delay.
pub(crate) const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A run this long resets the restart delay.
pub(crate) const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// A running, supervised component.
#[derive(Debug)]
pub(crate) struct Supervised {
    stop: StopHandle,
    task: JoinHandle<()>,
}

impl Supervised {
    /// Runs `make(stop)` and restarts it while it returns `Err` and is not stopped.
    pub(crate) fn spawn<F, Fut, E>(what: String, mut make: F) -> Supervised
    where
        F: FnMut(Stop) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let (handle, stop) = stop::channel();
        let task = tokio::spawn(async move {
            let mut stop = stop;
            let mut backoff = RESTART_BACKOFF_MIN;
            loop {
                let started = tokio::time::Instant::now();
                let result = make(stop.clone()).await;
                if stop.is_set() {
                    return;
                }
                match result {
                    Ok(()) => {
                        stop.wait().await;
                        return;
                    }
                    Err(e) => {
                        if started.elapsed() >= HEALTHY_RUN {
                            backoff = RESTART_BACKOFF_MIN;
                        }
                        tracing::error!(component = %what, error = %e, restart_in_ms = backoff.as_millis() as u64, "component failed; restarting");
                        if stop.sleep(backoff).await {
                            return;
                        }
                        backoff = (backoff * 2).min(RESTART_BACKOFF_MAX);
                    }
                }
            }
        });
        Supervised { stop: handle, task }
    }

    /// Asks the component to stop (without waiting).
    pub(crate) fn signal(&self) {
        self.stop.stop();
    }

    /// Stops the component and waits for it to finish its work in progress, but not past
    /// `deadline`: then the task is aborted (dropped at its current await point; an
    /// uncommitted transaction rolls back when dropped). Returns whether it stopped in time.
    pub(crate) async fn stop_by(self, what: &str, deadline: tokio::time::Instant) -> bool {
        self.stop.stop();
        let mut task = self.task;
        match tokio::time::timeout_at(deadline, &mut task).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::error!(component = %what, error = %e, "component task ended abnormally");
                true
            }
            Err(_) => {
                tracing::warn!(component = %what, "component did not stop in time; aborting it");
                task.abort();
                let _ = task.await;
                false
            }
        }
    }
}
