//! [`Arrivals`]: how a channel tells its idle sinks that events arrived. Every committed put
//! bumps a count and wakes the sink runners parked on it, so a sink that found the channel
//! empty takes the next batch as soon as it is there instead of after its idle backoff (up to
//! a second, in which a busy source writes hundreds of megabytes that a direct-I/O channel's
//! sink then has to read back from the disk).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// Committed puts of one channel, counted, with a wake-up for takers waiting on them.
#[derive(Debug, Default)]
pub struct Arrivals {
    seq: AtomicU64,
    notify: Notify,
}

impl Arrivals {
    /// Puts committed so far: read it before looking, pass it to [`Arrivals::wait_after`].
    pub(crate) fn seq(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// A put committed: counts it and wakes every waiter.
    pub(crate) fn arrived(&self) {
        self.seq.fetch_add(1, Ordering::AcqRel);
        self.notify.notify_waiters();
    }

    /// Waits until a put commits after `seen` (read before the channel was found empty) or
    /// `within` passes; true when one did. A put between the look and this call is not
    /// missed: the count has moved.
    pub(crate) async fn wait_after(&self, seen: u64, within: Duration) -> bool {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.seq() != seen {
            return true;
        }
        tokio::time::timeout(within, notified).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_waiter_wakes_on_a_put_and_one_that_came_before_the_wait_is_not_missed() {
        let a = Arc::new(Arrivals::default());
        let seen = a.seq();
        a.arrived();
        let t = std::time::Instant::now();
        assert!(a.wait_after(seen, Duration::from_secs(5)).await);
        assert!(
            t.elapsed() < Duration::from_secs(4),
            "missed the earlier put"
        );
        let seen = a.seq();
        let waker = a.clone();
        let h = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            waker.arrived();
        });
        assert!(a.wait_after(seen, Duration::from_secs(5)).await);
        h.await.unwrap();
        let seen = a.seq();
        assert!(
            !a.wait_after(seen, Duration::from_millis(30)).await,
            "nothing arrived"
        );
    }
}
