//! The newest committed events, kept as the handles their putters passed in, so a taker that
//! keeps up gets each event back without reading its segment, checking its CRC, decoding it
//! and allocating it a second time.
//!
//! A commit adds its puts once they are on disk and before takers can see them
//! ([`EventCache::insert`]); a take removes its event ([`EventCache::take`]). A miss (the taker
//! lags by more than the cache holds, the event was taken before and rolled back, the channel
//! was reopened) reads the segment as before. The cache is bounded by `tailCacheSize`, counted
//! as each event's payload plus [`EVENT_OVERHEAD`]; the oldest events leave first.
//!
//! Takers that lag by more than the cache holds would only ever meet evicted events, and
//! keeping them cost a receiver 8 % more CPU per event for nothing (the events live on in
//! memory, the allocator cannot reuse it warm). So a commit is kept only when the takers'
//! newest sequence number is within the cache's size of it ([`EventCache::insert`]): puts
//! arriving at the rate takes leave are then reached before they are evicted. Until a taker
//! shows up (a take, or a look at an empty queue) nothing is kept: a channel filling with
//! no sink running is a backlog, and holding its first events only cost the putters memory.
//!
//! It changes no durability property: an event is here only after its commit is durable, and
//! the log stays the only thing recovery reads.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use super::state::ids::IdMap;
use crate::event::Event;

/// Bytes counted per event on top of its payload: the shared handle, its headers' index and
/// the cache's own entry.
const EVENT_OVERHEAD: usize = 256;

/// What an event counts against the limit (its payload never changes while it is shared:
/// a holder that writes to it gets a copy).
fn cost(event: &Event) -> usize {
    event.payload_bytes() + EVENT_OVERHEAD
}

#[derive(Default)]
struct Held {
    /// Events by the sequence number of their put.
    events: IdMap<u64, Event>,
    /// Insertion order, for eviction; taken events leave their numbers behind until they
    /// reach the front.
    order: VecDeque<u64>,
    bytes: usize,
}

impl Held {
    /// Drops the numbers of taken events from the front of `order`, and from all of it once
    /// they outnumber the held events (a held event at the front keeps those behind it).
    fn trim_order(&mut self) {
        while let Some(seq) = self.order.front() {
            if self.events.contains_key(seq) {
                break;
            }
            self.order.pop_front();
        }
        if self.order.len() > 2 * self.events.len() + 1024 {
            let events = &self.events;
            self.order.retain(|seq| events.contains_key(seq));
        }
    }
}

/// The committed events takers are most likely to ask for next.
pub(super) struct EventCache {
    limit: usize,
    held: Mutex<Held>,
    hits: AtomicU64,
    misses: AtomicU64,
    /// Whether any event was ever kept: until then lookups are not counted.
    used: AtomicBool,
    /// One past the highest sequence number a take asked for (or the channel's next one when
    /// a taker found the queue empty); 0 until a taker shows up.
    taken_end: AtomicU64,
}

impl std::fmt::Debug for EventCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self.held.lock();
        f.debug_struct("EventCache")
            .field("limit", &self.limit)
            .field("events", &held.events.len())
            .field("bytes", &held.bytes)
            .finish()
    }
}

impl EventCache {
    /// A cache of at most `limit` counted bytes (0: nothing is kept).
    pub(super) fn new(limit: usize) -> Self {
        EventCache {
            limit,
            held: Mutex::new(Held::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            used: AtomicBool::new(false),
            taken_end: AtomicU64::new(0),
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
        usize::try_from(gap).is_ok_and(|g| g.saturating_mul(cost) <= self.limit)
    }

    /// Keeps (moves out of `puts`) the durable puts of one commit, numbered from `first`,
    /// evicting the oldest events beyond the limit, unless the takers lag too far to reach
    /// them from here. An event larger than the whole cache is not kept.
    pub(super) fn insert(&self, first: u64, puts: &mut Vec<Event>) {
        if self.limit == 0 || puts.is_empty() {
            return;
        }
        let bytes: usize = puts.iter().map(cost).sum();
        if !self.takers_near(first, bytes / puts.len()) {
            return;
        }
        let mut evicted = Vec::new();
        {
            let mut held = self.held.lock();
            held.events.reserve(puts.len());
            for (seq, event) in (first..).zip(puts.drain(..)) {
                let bytes = cost(&event);
                if bytes > self.limit {
                    continue;
                }
                held.bytes += bytes;
                held.order.push_back(seq);
                if let Some(old) = held.events.insert(seq, event) {
                    // A sequence number is never reused within one open; stay consistent anyway.
                    held.bytes -= cost(&old);
                    evicted.push(old);
                }
            }
            while held.bytes > self.limit {
                let Some(seq) = held.order.pop_front() else {
                    break;
                };
                if let Some(old) = held.events.remove(&seq) {
                    held.bytes -= cost(&old);
                    evicted.push(old);
                }
            }
            held.trim_order();
            if !held.events.is_empty() {
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
        let found = {
            let mut held = self.held.lock();
            let found = held.events.remove(&seq);
            if let Some(event) = &found {
                held.bytes -= cost(event);
                held.trim_order();
            }
            found
        };
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
        let event = {
            let mut held = self.held.lock();
            let event = held.events.remove(&seq)?;
            held.bytes -= cost(&event);
            held.trim_order();
            event
        };
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
        (held.events.len(), held.order.len(), held.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(body: &str) -> Event {
        Event::new(body)
    }

    #[test]
    fn takes_get_the_very_handles_put_and_a_second_take_misses() {
        let cache = EventCache::new(1 << 20);
        cache.caught_up(0);
        let put = ev("a");
        cache.insert(7, &mut vec![put.clone(), ev("b")]);
        let got = cache.take(7).unwrap();
        assert!(got.shares_with(&put), "a copy, not the putter's handle");
        assert!(cache.take(7).is_none(), "taken twice");
        assert_eq!(cache.take(8).unwrap().body, &b"b"[..]);
        assert_eq!(cache.hits_misses(), (2, 1));
        assert_eq!(cache.held(), (0, 0, 0));
    }

    #[test]
    fn the_oldest_events_leave_first_and_the_bytes_stay_under_the_limit() {
        let per = 100 + EVENT_OVERHEAD;
        let cache = EventCache::new(3 * per);
        cache.caught_up(0);
        let body = "x".repeat(100);
        cache.insert(0, &mut (0..5).map(|_| ev(&body)).collect());
        let (n, _, bytes) = cache.held();
        assert_eq!((n, bytes), (3, 3 * per));
        assert!(
            cache.take(0).is_none() && cache.take(1).is_none(),
            "evicted"
        );
        assert!(cache.take(2).is_some() && cache.take(4).is_some());
        // Too large to keep at all.
        cache.insert(9, &mut vec![ev(&"y".repeat(3 * per))]);
        assert!(cache.take(9).is_none());
    }

    #[test]
    fn taken_numbers_do_not_pile_up_behind_an_event_nobody_takes() {
        let cache = EventCache::new(1 << 30);
        cache.caught_up(0);
        cache.insert(0, &mut vec![ev("stays")]);
        for s in 1..20_000 {
            cache.insert(s, &mut vec![ev("e")]);
            assert!(cache.take(s).is_some());
        }
        let (n, order, _) = cache.held();
        assert_eq!(n, 1);
        assert!(order <= 2 * n + 1025, "{order} numbers kept for {n} event");
        assert!(cache.take(0).is_some());
    }

    #[test]
    fn puts_far_ahead_of_the_takers_are_not_kept_and_near_ones_are() {
        let per = 10 + EVENT_OVERHEAD;
        // Room for 10 events; the takers have asked for up to 100.
        let cache = EventCache::new(10 * per);
        cache.caught_up(100);
        let body = "x".repeat(10);
        // 40 numbers ahead: about 20 puts in between, which the cache could not hold.
        cache.insert(140, &mut vec![ev(&body)]);
        assert_eq!(
            cache.held().0,
            0,
            "kept although the takers cannot reach it"
        );
        // 10 numbers ahead: about 5 puts in between.
        let mut near = vec![ev(&body)];
        cache.insert(110, &mut near);
        assert!(near.is_empty(), "moved into the cache");
        assert!(cache.take(110).is_some());
        // The takers moved on: what is near them now is kept.
        cache.insert(125, &mut vec![ev(&body)]);
        assert!(cache.take(125).is_some());
    }

    #[test]
    fn nothing_is_kept_before_a_taker_shows_up() {
        let cache = EventCache::new(1 << 20);
        cache.insert(0, &mut vec![ev("early")]);
        assert_eq!(cache.held().0, 0, "kept with no taker around");
        assert!(cache.take(0).is_none(), "from the segment");
        cache.insert(2, &mut vec![ev("later")]);
        assert_eq!(cache.take(2).unwrap().body, &b"later"[..]);
    }

    #[test]
    fn a_disabled_or_never_used_cache_counts_nothing() {
        let off = EventCache::new(0);
        off.insert(1, &mut vec![ev("x")]);
        assert!(off.take(1).is_none());
        assert_eq!(off.hits_misses(), (0, 0));
        let tiny = EventCache::new(1);
        tiny.caught_up(0);
        tiny.insert(1, &mut vec![ev("x")]);
        assert!(tiny.take(1).is_none());
        assert_eq!(tiny.hits_misses(), (0, 0), "nothing ever fitted");
    }
}
