//! Supervision: a component runs in its own task; when it fails it is restarted after a
//! backoff that doubles from 1 s up to 30 s (reset after a minute of good running), and the
//! rest of the agent keeps running. A failure that says a restart cannot help without a
//! change of configuration ([`Failure::retryable`] false: a source's
//! [`SourceErrorKind::Config`](crate::agent::source::SourceErrorKind)) waits the longest delay
//! at once, so a broken component does not fill the log.

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

/// A component's failure, as its supervisor sees it.
pub(crate) trait Failure: std::fmt::Display + Send + 'static {
    /// Whether a restart may succeed without a change of configuration.
    fn retryable(&self) -> bool {
        true
    }
}

impl Failure for String {}

impl Failure for std::convert::Infallible {}

impl Failure for crate::agent::source::SourceError {
    fn retryable(&self) -> bool {
        crate::agent::source::SourceError::retryable(self)
    }
}

/// The delay before the next restart, after a run that ended with a failure that is
/// `retryable` or not: `backoff`, or the longest delay when a restart cannot help.
fn restart_delay(backoff: Duration, retryable: bool) -> Duration {
    if retryable {
        backoff
    } else {
        RESTART_BACKOFF_MAX
    }
}

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
        E: Failure,
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
                        let retryable = e.retryable();
                        let delay = restart_delay(backoff, retryable);
                        tracing::error!(component = %what, error = %e, retryable, restart_in_ms = delay.as_millis() as u64, "component failed; restarting");
                        if stop.sleep(delay).await {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::source::{SourceError, SourceErrorKind};

    fn source_error(kind: SourceErrorKind) -> SourceError {
        SourceError {
            source_name: "s".into(),
            kind,
            source: "why".into(),
        }
    }

    #[test]
    fn a_source_that_cannot_bind_restarts_after_the_growing_backoff() {
        let e = source_error(SourceErrorKind::Bind);
        assert!(Failure::retryable(&e));
        assert_eq!(
            restart_delay(RESTART_BACKOFF_MIN, e.retryable()),
            RESTART_BACKOFF_MIN
        );
    }

    #[test]
    fn a_source_whose_configuration_cannot_work_restarts_after_the_longest_delay() {
        let e = source_error(SourceErrorKind::Config);
        assert!(!Failure::retryable(&e));
        assert_eq!(
            restart_delay(RESTART_BACKOFF_MIN, e.retryable()),
            RESTART_BACKOFF_MAX
        );
        assert_eq!(e.to_string(), "source s: why");
    }
}
