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

use crate::event::Event;

/// Bytes counted per event on top of its payload: the shared handle, its headers' index and
/// the cache's own entry.
const EVENT_OVERHEAD: usize = 256;

/// What an event counts against the limit (its payload never changes while it is shared:
/// a holder that writes to it gets a copy).
fn cost(event: &Event) -> usize {
    event.payload_bytes() + EVENT_OVERHEAD
}

/// The puts of one commit, numbered `first..first + slots.len()`: a slot empties when its
/// event is taken or evicted.
struct Run {
    first: u64,
    /// No event is held before this slot.
    head: usize,
    slots: Vec<Option<Event>>,
    live: usize,
}

impl Run {
    fn end(&self) -> u64 {
        self.first + self.slots.len() as u64
    }
}

/// The held events as runs in sequence order, so takes that follow the queue (the usual
/// case: it is ordered by sequence number too) read the front run's slots one after the
/// other instead of a hash table's scattered entries, which cost a cache miss per take.
#[derive(Default)]
struct Held {
    /// Sorted by `first`, never overlapping. Emptied runs leave at the front, and all at once
    /// when they outnumber the held events (a held event at the front keeps those behind it).
    runs: VecDeque<Run>,
    events: usize,
    bytes: usize,
}

impl Held {
    /// The index of the run numbering `seq`.
    fn find(&self, seq: u64) -> Option<usize> {
        let front = self.runs.front()?;
        if seq >= front.first && seq < front.end() {
            return Some(0);
        }
        let after = self.runs.partition_point(|r| r.first <= seq);
        let at = after.checked_sub(1)?;
        (seq < self.runs[at].end()).then_some(at)
    }

    /// Removes the event of the put numbered `seq`.
    fn remove(&mut self, seq: u64) -> Option<Event> {
        let at = self.find(seq)?;
        let run = &mut self.runs[at];
        let slot = usize::try_from(seq - run.first).ok()?;
        let event = run.slots.get_mut(slot)?.take()?;
        run.live -= 1;
        if slot == run.head {
            run.head += 1;
        }
        self.events -= 1;
        self.bytes -= cost(&event);
        self.trim();
        Some(event)
    }

    /// Keeps a commit's run, first dropping (into `evicted`) any held run it overlaps.
    /// Commits become durable together, so runs may arrive a little out of order: the place
    /// is found by a binary search (usually the back).
    fn insert(&mut self, run: Run, evicted: &mut Vec<Event>) {
        let mut at = self.runs.partition_point(|r| r.first < run.first);
        // A sequence number is never reused within one open; stay consistent anyway.
        while at > 0 && self.runs[at - 1].end() > run.first {
            at -= 1;
            self.drop_run(at, evicted);
        }
        while self.runs.get(at).is_some_and(|r| r.first < run.end()) {
            self.drop_run(at, evicted);
        }
        self.events += run.live;
        self.bytes += run.slots.iter().flatten().map(cost).sum::<usize>();
        self.runs.insert(at, run);
    }

    /// Removes the run at `at`, its events into `evicted`.
    fn drop_run(&mut self, at: usize, evicted: &mut Vec<Event>) {
        if let Some(old) = self.runs.remove(at) {
            for event in old.slots.into_iter().flatten() {
                self.events -= 1;
                self.bytes -= cost(&event);
                evicted.push(event);
            }
        }
    }

    /// Evicts the oldest events until the bytes fit `limit`.
    fn evict_to(&mut self, limit: usize, evicted: &mut Vec<Event>) {
        while self.bytes > limit {
            let Some(run) = self.runs.front_mut() else {
                break;
            };
            while run.head < run.slots.len() && self.bytes > limit {
                if let Some(event) = run.slots[run.head].take() {
                    run.live -= 1;
                    self.events -= 1;
                    self.bytes -= cost(&event);
                    evicted.push(event);
                }
                run.head += 1;
            }
            self.trim();
        }
    }

    /// Drops emptied runs from the front, and from everywhere once they outnumber the events.
    fn trim(&mut self) {
        while self.runs.front().is_some_and(|r| r.live == 0) {
            self.runs.pop_front();
        }
        if self.runs.len() > 2 * self.events + 1024 {
            self.runs.retain(|r| r.live > 0);
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
        let slots: Vec<Option<Event>> = puts
            .drain(..)
            .map(|event| (cost(&event) <= self.limit).then_some(event))
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
            held.evict_to(self.limit, &mut evicted);
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

    #[test]
    fn a_run_overlapping_held_ones_replaces_them_whole() {
        let cache = EventCache::new(1 << 20);
        cache.caught_up(1);
        cache.insert(10, &mut (0..5).map(|i| ev(&format!("old{i}"))).collect());
        cache.insert(20, &mut vec![ev("later")]);
        cache.insert(12, &mut vec![ev("new12"), ev("new13")]);
        assert_eq!(cache.held().0, 3, "the old run of five left whole");
        assert!(cache.take(10).is_none());
        assert_eq!(cache.take(12).unwrap().body, &b"new12"[..]);
        assert_eq!(cache.take(13).unwrap().body, &b"new13"[..]);
        assert!(cache.take(14).is_none());
        assert_eq!(cache.take(20).unwrap().body, &b"later"[..]);
        assert_eq!(cache.held(), (0, 0, 0));
    }

    /// What the cache must answer: a map by sequence number that evicts the lowest numbers
    /// first, with the same admission rule.
    #[derive(Default)]
    struct Model {
        limit: usize,
        taken_end: u64,
        used: bool,
        held: std::collections::BTreeMap<u64, Event>,
        bytes: usize,
    }

    impl Model {
        fn insert(&mut self, first: u64, puts: &[Event]) {
            if self.taken_end == 0 || puts.is_empty() {
                return;
            }
            let avg = puts.iter().map(cost).sum::<usize>() / puts.len();
            let gap = first.saturating_sub(self.taken_end - 1) / 2;
            if usize::try_from(gap).map_or(true, |g| g.saturating_mul(avg) > self.limit) {
                return;
            }
            for (seq, event) in (first..).zip(puts) {
                if cost(event) <= self.limit {
                    self.bytes += cost(event);
                    self.held.insert(seq, event.clone());
                    self.used = true;
                }
            }
            while self.bytes > self.limit {
                let Some((_, old)) = self.held.pop_first() else {
                    break;
                };
                self.bytes -= cost(&old);
            }
        }

        fn take(&mut self, seq: u64) -> Option<Event> {
            self.taken_end = self.taken_end.max(seq + 1);
            if !self.used {
                return None;
            }
            let event = self.held.remove(&seq)?;
            self.bytes -= cost(&event);
            Some(event)
        }
    }

    proptest::proptest! {
        /// Runs of puts arriving a little out of order, takes mostly in order with strays,
        /// against the model: the same events come back, the same are held.
        #[test]
        fn the_cache_answers_as_an_ordered_map_evicting_the_oldest(
            limit_events in 1usize..40,
            runs in proptest::collection::vec((0u64..4, 1usize..12, 0usize..3, proptest::bool::ANY), 1..40),
            strays in proptest::collection::vec(0u64..400, 0..20),
        ) {
            let per = 10 + EVENT_OVERHEAD;
            let cache = EventCache::new(limit_events * per + per / 2);
            let mut model = Model { limit: limit_events * per + per / 2, ..Model::default() };
            cache.caught_up(1);
            model.taken_end = 1;
            // Non-overlapping runs; each swapped with the next when asked.
            let mut planned = Vec::new();
            let mut next = 1u64;
            for &(gap, n, _, _) in &runs {
                next += gap;
                planned.push((next, n));
                next += n as u64;
            }
            let swaps = runs.len().saturating_sub(1);
            for (i, run) in runs.iter().enumerate().take(swaps) {
                if run.3 {
                    planned.swap(i, i + 1);
                }
            }
            let mut stray = strays.iter();
            let mut cursor = 1u64;
            for (i, &(first, n)) in planned.iter().enumerate() {
                let body = |seq: u64| ev(&format!("{seq:010}"));
                let puts: Vec<Event> = (first..first + n as u64).map(body).collect();
                model.insert(first, &puts);
                cache.insert(first, &mut puts.clone());
                // Take a few in order, and now and then a stray number.
                for _ in 0..runs[i].2 * 3 {
                    let want = model.take(cursor).map(|e| e.body.clone());
                    let got = cache.take(cursor).map(|e| e.body.clone());
                    proptest::prop_assert_eq!(got, want, "take {}", cursor);
                    cursor += 1;
                }
                if let Some(&s) = stray.next() {
                    let want = model.take(s).map(|e| e.body.clone());
                    let got = cache.take(s).map(|e| e.body.clone());
                    proptest::prop_assert_eq!(got, want, "stray take {}", s);
                }
                let (events, _, bytes) = cache.held();
                proptest::prop_assert_eq!((events, bytes), (model.held.len(), model.bytes));
            }
        }
    }
}
