//! The idle time of one HTTP/2 connection (gRPC): a connection with no call in progress for
//! `idleTimeout` (one that never sent a request, or whose client stopped sending) is closed (HTTP/2: a
//! `GOAWAY`, after which a gRPC client reconnects at its next call), so idle connections do
//! not keep the source's `maxConnections` (or their peer's share of it) forever.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// Calls in progress on one connection, and since when it has had none.
#[derive(Debug)]
pub(super) struct Activity {
    active: AtomicUsize,
    idle_since: Mutex<Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            active: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
        }
    }
}

/// One call in progress (the connection is idle again from its drop, if it was the last).
#[derive(Debug)]
pub(super) struct Busy(Arc<Activity>);

impl Activity {
    /// A call starts.
    pub(super) fn busy(self: &Arc<Self>) -> Busy {
        self.active.fetch_add(1, Ordering::SeqCst);
        Busy(self.clone())
    }

    /// Resolves once the connection has had no call in progress for `idle`. Cancel safe.
    pub(super) async fn idle_for(&self, idle: Duration) {
        loop {
            let due = *self.idle_since.lock() + idle;
            if self.active.load(Ordering::SeqCst) > 0 {
                tokio::time::sleep(idle).await;
            } else if Instant::now() >= due {
                return;
            } else {
                tokio::time::sleep_until(due).await;
            }
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut since = self.0.idle_since.lock();
        if self.0.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            *since = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_connection_is_idle_only_once_its_calls_ended_for_the_whole_time() {
        let a = Arc::new(Activity::default());
        let call = a.busy();
        let during =
            tokio::time::timeout(Duration::from_secs(10), a.idle_for(Duration::from_secs(1)));
        assert!(during.await.is_err(), "a call in progress");
        drop(call);
        let start = Instant::now();
        a.idle_for(Duration::from_secs(1)).await;
        assert!(start.elapsed() >= Duration::from_secs(1));
    }
}
