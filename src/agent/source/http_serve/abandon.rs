//! The abandoned-call budget of one HTTP/2 connection (gRPC): a call the peer resets
//! (RST_STREAM) after hyper accepted its stream fails reading its body (or is dropped
//! unanswered), and h2's pending-accept budget does not count it, so a rapid-reset flooder
//! whose streams are accepted first costs a task and a call each, thousands per connection. [`Calls`] counts
//! calls answered and calls abandoned (dropped, or whose request body failed: a reset, or no
//! whole body by `requestTimeout`);
//! once more than [`ABANDONED_CALLS_MAX`] were abandoned, and more than were answered, the
//! connection is cut ([`Calls::cut`] resolves). An exporter that gives up on a slow answer
//! now and then stays far from it; one whose every call times out reconnects.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// Calls a connection may abandon (beyond those it had answered) before it is cut.
pub const ABANDONED_CALLS_MAX: u64 = 64;

/// The calls of one connection.
#[derive(Debug, Default)]
pub(super) struct Calls {
    answered: AtomicU64,
    abandoned: AtomicU64,
    over: Notify,
}

impl Calls {
    /// A guard for one call: [`Call::answered`] when it returns, abandoned when dropped before.
    pub(super) fn start(self: &Arc<Self>) -> Call {
        Call {
            calls: Some(self.clone()),
        }
    }

    /// Resolves once the connection abandoned too many calls. Cancel safe.
    pub(super) async fn cut(&self) {
        self.over.notified().await;
    }

    /// (answered, abandoned) so far.
    pub(super) fn counts(&self) -> (u64, u64) {
        (
            self.answered.load(Ordering::Relaxed),
            self.abandoned.load(Ordering::Relaxed),
        )
    }
}

/// One call in progress.
#[derive(Debug)]
pub(super) struct Call {
    calls: Option<Arc<Calls>>,
}

impl Call {
    /// The call returned its answer.
    pub(super) fn answered(mut self) {
        if let Some(c) = self.calls.take() {
            c.answered.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if let Some(c) = self.calls.take() {
            let abandoned = c.abandoned.fetch_add(1, Ordering::Relaxed) + 1;
            if abandoned > ABANDONED_CALLS_MAX && abandoned > c.answered.load(Ordering::Relaxed) {
                // notify_one stores a permit: a cut not yet awaited is not lost.
                c.over.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_is_cut_only_past_the_budget_and_past_its_answered_calls() {
        let calls = Arc::new(Calls::default());
        for _ in 0..100 {
            calls.start().answered();
        }
        for _ in 0..100 {
            drop(calls.start());
        }
        let pending = tokio::time::timeout(std::time::Duration::from_millis(20), calls.cut());
        assert!(pending.await.is_err(), "100 abandoned, 100 answered: kept");
        drop(calls.start());
        let cut = tokio::time::timeout(std::time::Duration::from_secs(5), calls.cut());
        assert!(cut.await.is_ok(), "101 abandoned against 100 answered: cut");
        assert_eq!(calls.counts(), (100, 101));
    }
}
