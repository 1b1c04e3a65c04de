//! The newest committed events, kept as the handles their putters passed in, so a taker that
//! keeps up gets each event back without reading its segment, checking its CRC, decoding it
//! and allocating it a second time.
//!
//! A commit adds its puts once they are on disk and before takers can see them
//! ([`EventCache::insert`]); a take removes its event ([`EventCache::take`]). A miss (the taker
//! lags by more than the cache holds, the event was taken before and rolled back, the channel
//! was reopened) reads the segment as before. The cache is bounded by `tailCacheSize`, counted
//! as each event's payload plus [`EVENT_OVERHEAD`](held::EVENT_OVERHEAD); the oldest events leave first.
//!
//! Takers that lag by more than the cache holds would only ever meet evicted events, and
//! keeping them cost a receiver 8 % more CPU per event for nothing (the events live on in
//! memory, the allocator cannot reuse it warm). So a commit is kept only when the takers'
//! newest sequence number is within the cache's size of it ([`EventCache::insert`]): puts
//! arriving at the rate takes leave are then reached before they are evicted. Until a taker
//! shows up (a take, or a look at an empty queue) nothing is kept: a channel filling with
//! no sink running is a backlog, and holding its first events only cost the putters memory.
//!
//! Every channel of an agent draws on one [`CacheBudget`] (`budget.rs`): a cache holds at most
//! the smaller of its `tailCacheSize` and its equal share of the budget.
//!
//! It changes no durability property: an event is here only after its commit is durable, and
//! the log stays the only thing recovery reads.

mod budget;
mod held;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;

use super::backlog::TakeClock;
use crate::event::Event;
pub use budget::CacheBudget;
use budget::Share;
use held::{cost, Held, Run};

/// The committed events takers are most likely to ask for next.
pub(super) struct EventCache {
    /// `tailCacheSize`.
    limit: usize,
    /// This cache's share of the agent's [`CacheBudget`] (unbounded without one).
    share: Share,
    held: Mutex<Held>,
    hits: AtomicU64,
    misses: AtomicU64,
    /// Whether any event was ever kept: until then lookups are not counted.
    used: AtomicBool,
    /// One past the highest sequence number a take asked for (or the channel's next one when
    /// a taker found the queue empty); 0 until a taker shows up.
    taken_end: AtomicU64,
    /// What one event of the latest committed put cost (counted bytes, averaged over its
    /// commit), for [`Backlog`](super::Backlog); 0 before the first.
    pub(super) put_cost: AtomicUsize,
    /// When takes last committed, for [`Backlog`](super::Backlog).
    pub(super) takes: TakeClock,
}

impl std::fmt::Debug for EventCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self.held.lock();
        f.debug_struct("EventCache")
            .field("limit", &self.limit)
            .field("share", &self.share.get())
            .field("events", &held.events)
            .field("bytes", &held.bytes)
            .finish()
    }
}

impl EventCache {
    /// A cache of at most `limit` counted bytes (0: nothing is kept).
    pub(super) fn new(limit: usize) -> Self {
        EventCache {
            limit,
            share: Share::unbounded(),
            held: Mutex::new(Held::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            used: AtomicBool::new(false),
            taken_end: AtomicU64::new(0),
            put_cost: AtomicUsize::new(0),
            takes: TakeClock::new(),
        }
    }

    /// A taker found the queue empty when the channel's next sequence number was `seq_next`:
    /// it is caught up with every put numbered before it.
    pub(super) fn caught_up(&self, seq_next: u64) {
        if self.limit > 0 {
            self.taken_end.fetch_max(seq_next.max(1), Ordering::Relaxed);
        }
    }

    /// Whether the takers are close enough to sequence number `seq` to reach a put made there
    /// before later puts evict it: the events between them, counted at `cost` bytes each,
    /// fit in the cache. Half the numbers in between are counted as puts (the others number
    /// take and commit records).
    fn takers_near(&self, seq: u64, cost: usize) -> bool {
        let taken_end = self.taken_end.load(Ordering::Relaxed);
        if taken_end == 0 {
            return false;
        }
        let gap = seq.saturating_sub(taken_end - 1) / 2;
        usize::try_from(gap).is_ok_and(|g| g.saturating_mul(cost) <= self.bound())
    }

    /// The bytes this cache may hold now: its `tailCacheSize`, or its share of the agent's
    /// budget when that is smaller.
    pub(super) fn bound(&self) -> usize {
        self.limit.min(self.share.get())
    }

    /// Sets this cache's share of the budget and evicts the oldest events above it now.
    fn set_share(&self, bytes: usize) {
        self.share.bytes.store(bytes, Ordering::Relaxed);
        let mut evicted = Vec::new();
        self.held.lock().evict_to(self.bound(), &mut evicted);
        // Freed outside the lock.
        drop(evicted);
    }

    /// Keeps (moves out of `puts`) the durable puts of one commit, numbered from `first`,
    /// evicting the oldest events beyond the limit, unless the takers lag too far to reach
    /// them from here. An event larger than the whole cache is not kept.
    pub(super) fn insert(&self, first: u64, puts: &mut Vec<Event>) {
        let bound = self.bound();
        if bound == 0 || puts.is_empty() {
            return;
        }
        let bytes: usize = puts.iter().map(cost).sum();
        self.put_cost.store(bytes / puts.len(), Ordering::Relaxed);
        if !self.takers_near(first, bytes / puts.len()) {
            return;
        }
        let slots: Vec<Option<Event>> = puts
            .drain(..)
            .map(|event| (cost(&event) <= bound).then_some(event))
            .collect();
        let live = slots.iter().flatten().count();
        if live == 0 {
            return;
        }
        let run = Run {
            first,
            head: 0,
            slots,
            live,
        };
        let mut evicted = Vec::new();
        {
            let mut held = self.held.lock();
            held.insert(run, &mut evicted);
            held.evict_to(bound, &mut evicted);
            if held.events > 0 {
                self.used.store(true, Ordering::Relaxed);
            }
        }
        // Freed outside the lock.
        drop(evicted);
    }

    /// The event of the put numbered `seq`, removed from the cache; `None` sends the taker to
    /// the segment.
    pub(super) fn take(&self, seq: u64) -> Option<Event> {
        if self.limit == 0 {
            return None;
        }
        self.taken_end
            .fetch_max(seq.saturating_add(1), Ordering::Relaxed);
        if !self.used.load(Ordering::Relaxed) {
            return None;
        }
        let found = self.held.lock().remove(seq);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// The event of the put numbered `seq` if the cache holds it (removed and counted as a
    /// hit); a miss is not counted, as the caller then asks [`take`](Self::take).
    pub(super) fn take_held(&self, seq: u64) -> Option<Event> {
        if self.limit == 0 || !self.used.load(Ordering::Relaxed) {
            return None;
        }
        let event = self.held.lock().remove(seq)?;
        self.taken_end
            .fetch_max(seq.saturating_add(1), Ordering::Relaxed);
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(event)
    }

    /// Takes served from memory, and takes that went to the segment.
    pub(super) fn hits_misses(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    #[cfg(test)]
    fn held(&self) -> (usize, usize, usize) {
        let held = self.held.lock();
        (held.events, held.runs.len(), held.bytes)
    }
}

impl Drop for EventCache {
    /// A closed channel's share goes back to the other channels of the budget.
    fn drop(&mut self) {
        let budget = self.share.budget.lock().take();
        if let Some(budget) = budget.and_then(|b| b.upgrade()) {
            budget.left();
        }
    }
}

#[cfg(test)]
#[path = "event_cache_tests.rs"]
mod tests;
