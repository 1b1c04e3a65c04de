//! [`Backlog`]: what a putter needs to pace itself to the channel's takers (issue 69): the
//! committed events no take holds, what one of them costs the event cache, and what the cache
//! may hold now. A source that reads a file far ahead of its sink overflows the cache, and
//! every take it misses reads its event back from the segment; one that stops while the
//! queue's events cost more than the cache holds keeps the takers on the cache instead.
//!
//! The core only reports; waiting is the caller's (the agent's sources wait on the takers'
//! commits). Nothing here changes what is durable or when.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::FileChannel;

/// The queue against the event cache, read at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// Committed events no take holds.
    pub queued: u64,
    /// What one event of the latest committed put cost the cache (payload plus the cache's
    /// per-event overhead, averaged over its commit); 0 before the first.
    pub event_bytes: usize,
    /// What the event cache may hold now: `tailCacheSize`, or the channel's share of the
    /// agent's budget when that is smaller (0: it keeps nothing).
    pub cache_bytes: usize,
    /// How long ago a transaction that took events last committed; `None` if none has
    /// since the channel opened. A putter paces itself only to takers that are taking.
    pub since_take: Option<Duration>,
}

impl Backlog {
    /// The queued events' estimated cost in the cache (`queued` × `event_bytes`).
    pub fn queued_bytes(&self) -> u64 {
        self.queued
            .saturating_mul(u64::try_from(self.event_bytes).unwrap_or(u64::MAX))
    }

    /// Whether the queue costs more than `num / den` of the cache; never when the cache
    /// keeps nothing (pacing to it then saves no read).
    pub fn beyond(&self, num: u64, den: u64) -> bool {
        let cache = u64::try_from(self.cache_bytes).unwrap_or(u64::MAX);
        cache > 0 && self.queued_bytes().saturating_mul(den.max(1)) > cache.saturating_mul(num)
    }
}

impl FileChannel {
    /// The queue against the event cache now (the queue lock for an instant).
    pub fn backlog(&self) -> Backlog {
        let inner = &self.inner;
        let queued = inner.state.lock().ready().len() as u64;
        Backlog {
            queued,
            event_bytes: inner.events.put_cost.load(Ordering::Relaxed),
            cache_bytes: inner.events.bound(),
            since_take: inner.events.takes.since(),
        }
    }
}

/// When a transaction that took events last committed.
#[derive(Debug)]
pub(super) struct TakeClock {
    born: Instant,
    /// Milliseconds from `born` to the last take commit, plus one; 0: none yet.
    last_ms: AtomicU64,
}

impl TakeClock {
    pub(super) fn new() -> Self {
        TakeClock {
            born: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    /// A transaction that took events committed now.
    pub(super) fn took(&self) {
        let ms = u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.last_ms.fetch_max(ms + 1, Ordering::Relaxed);
    }

    /// How long ago the last take commit was; `None` before the first.
    pub(super) fn since(&self) -> Option<Duration> {
        let last = self.last_ms.load(Ordering::Relaxed).checked_sub(1)?;
        Some(
            self.born
                .elapsed()
                .saturating_sub(Duration::from_millis(last)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_is_beyond_a_part_of_the_cache_only_when_the_cache_keeps_something() {
        let b = Backlog {
            queued: 100,
            event_bytes: 300,
            cache_bytes: 60_000,
            since_take: None,
        };
        assert_eq!(b.queued_bytes(), 30_000);
        assert!(!b.beyond(1, 2), "exactly half is not beyond half");
        assert!(b.beyond(1, 3));
        assert!(!Backlog {
            cache_bytes: 0,
            ..b
        }
        .beyond(1, 2));
        assert!(!Backlog {
            event_bytes: 0,
            ..b
        }
        .beyond(1, 2));
    }

    #[test]
    fn the_take_clock_says_none_until_a_take_commits() {
        let c = TakeClock::new();
        assert_eq!(c.since(), None);
        c.took();
        assert!(c.since().is_some());
    }
}
