//! What an awaited step answers, shared by every kind that has one: [`BoxFuture`] (a boxed,
//! sendable future, the return type of the kinds' object-safe async traits) and
//! [`StepError`], the refusal of a step that runs elsewhere (an async interceptor or
//! selector: a call into another process that threw, ended, or could not be made). Ground
//! floor: it imports nothing of the agent, so the channel, the interceptors, the selectors
//! and the plugins that implement them all stand above it.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An awaited step refused a batch: the step's own error, and whether sending the same batch
/// again may succeed (a restarted process may take it; an event too large never fits).
#[derive(Debug)]
pub struct StepError {
    error: Box<dyn Error + Send + Sync>,
    retryable: bool,
}

impl StepError {
    /// `error`, which a later try of the same batch may or may not (`retryable`) escape.
    pub fn new(error: impl Into<Box<dyn Error + Send + Sync>>, retryable: bool) -> StepError {
        StepError {
            error: error.into(),
            retryable,
        }
    }

    /// Whether sending the same batch again may succeed.
    pub fn retryable(&self) -> bool {
        self.retryable
    }

    /// The step's own error, for a caller that knows its type.
    pub fn inner(&self) -> &(dyn Error + Send + Sync + 'static) {
        self.error.as_ref()
    }
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl Error for StepError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.error.source()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_error_shows_its_cause_and_keeps_whether_it_may_pass_later() {
        let e = StepError::new("plugin p threw java.io.IOException: disk", true);
        assert_eq!(e.to_string(), "plugin p threw java.io.IOException: disk");
        assert!(e.retryable());
        let never = StepError::new("an event of 9 bytes cannot cross", false);
        assert!(!never.retryable());
        assert_eq!(
            never.inner().to_string(),
            "an event of 9 bytes cannot cross"
        );
    }
}
