//! One memory budget for the event caches of every file channel of a process (an agent):
//! `tailCacheSize` bounds one channel, this bounds them all, so an edge host running several
//! channels holds at most the budget in cached events, not `tailCacheSize` times the channels.
//!
//! Each channel's cache may hold an equal share of the budget (and never more than its own
//! `tailCacheSize`). A channel joining lowers every share and trims the caches above it at
//! once, so the caches' bytes together never pass the budget; one leaving (closed) raises the
//! others'. The budget is set by the binary ([`CacheBudget::install`]) before it opens
//! channels; a library user that sets none gets `tailCacheSize` per channel, as before.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::Mutex;

use super::EventCache;

/// The process's budget, once installed.
static PROCESS: OnceLock<Arc<CacheBudget>> = OnceLock::new();

/// Bytes (counted as `tailCacheSize` counts them) that the event caches of the channels
/// joined to it may hold together.
#[derive(Debug)]
pub struct CacheBudget {
    total: usize,
    members: Mutex<Vec<Weak<EventCache>>>,
}

impl CacheBudget {
    /// A budget of `total` counted bytes (0: no channel keeps events in memory).
    pub fn new(total: usize) -> Arc<Self> {
        Arc::new(CacheBudget {
            total,
            members: Mutex::new(Vec::new()),
        })
    }

    /// Makes `total` the budget of every channel this process opens from now on; false (and
    /// no change) when one was installed before.
    pub fn install(total: usize) -> bool {
        PROCESS.set(Self::new(total)).is_ok()
    }

    /// The process's budget, if the binary installed one.
    pub(in crate::channel) fn process() -> Option<Arc<CacheBudget>> {
        PROCESS.get().cloned()
    }

    /// The budget's bytes.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Joins `cache` to the budget: every member's share becomes an equal part of the total,
    /// and members above their new share are trimmed now.
    pub(in crate::channel) fn join(self: &Arc<Self>, cache: &Arc<EventCache>) {
        *cache.share.budget.lock() = Some(Arc::downgrade(self));
        let live = {
            let mut members = self.members.lock();
            members.push(Arc::downgrade(cache));
            self.reshare(&mut members)
        };
        // A member whose channel closed meanwhile is dropped here, with the lock released
        // (its drop calls `left`).
        drop(live);
    }

    /// Recomputes the shares after a member left (its handle no longer upgrades).
    pub(super) fn left(&self) {
        let live = {
            let mut members = self.members.lock();
            self.reshare(&mut members)
        };
        drop(live);
    }

    /// Drops the members that left, gives the others equal shares and trims them to it
    /// (under the members' lock, so shares are set in the order they were computed); returns
    /// the members' handles for the caller to drop after the lock.
    fn reshare(&self, members: &mut Vec<Weak<EventCache>>) -> Vec<Arc<EventCache>> {
        let live: Vec<Arc<EventCache>> = members.iter().filter_map(Weak::upgrade).collect();
        members.retain(|m| m.strong_count() > 0);
        let share = self.total / live.len().max(1);
        for cache in &live {
            cache.set_share(share);
        }
        live
    }
}

/// A cache's part of a budget: its share, read at every insert, and the budget to tell when
/// it closes.
#[derive(Debug)]
pub(super) struct Share {
    pub(super) bytes: AtomicUsize,
    pub(super) budget: Mutex<Option<Weak<CacheBudget>>>,
}

impl Share {
    /// No budget: the share is unbounded (the cache's own limit alone counts).
    pub(super) fn unbounded() -> Self {
        Share {
            bytes: AtomicUsize::new(usize::MAX),
            budget: Mutex::new(None),
        }
    }

    pub(super) fn get(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }
}
