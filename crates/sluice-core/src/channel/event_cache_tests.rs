//! Tests of the event cache: handles back on take, eviction oldest first, the takers' window,
//! and a proptest against a model.

use super::held::EVENT_OVERHEAD;
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

/// Fills `cache` with `n` events of 100-byte bodies from sequence number `first`.
fn fill(cache: &EventCache, first: u64, n: usize) {
    let body = "x".repeat(100);
    cache.insert(first, &mut (0..n).map(|_| ev(&body)).collect());
}

#[test]
fn caches_on_one_budget_hold_at_most_an_equal_share_each() {
    let per = 100 + EVENT_OVERHEAD;
    let budget = CacheBudget::new(10 * per);
    let a = std::sync::Arc::new(EventCache::new(1 << 20));
    let b = std::sync::Arc::new(EventCache::new(1 << 20));
    a.caught_up(0);
    b.caught_up(0);
    budget.join(&a);
    fill(&a, 0, 20);
    assert_eq!(a.held().0, 10, "alone, a cache has the whole budget");
    budget.join(&b);
    assert_eq!(
        a.held(),
        (5, 1, 5 * per),
        "a second member trims the first at once"
    );
    fill(&b, 0, 20);
    assert_eq!(b.held().0, 5);
    assert!(
        a.take(15).is_some() && a.take(14).is_none(),
        "the oldest left"
    );
    drop(b);
    fill(&a, 20, 20);
    assert_eq!(a.held().0, 10, "a closed member's share goes back");
}

#[test]
fn a_cache_keeps_its_own_limit_under_a_larger_share() {
    let per = 100 + EVENT_OVERHEAD;
    let budget = CacheBudget::new(100 * per);
    let a = std::sync::Arc::new(EventCache::new(3 * per));
    a.caught_up(0);
    budget.join(&a);
    fill(&a, 0, 10);
    assert_eq!(a.held().0, 3);
}

#[test]
fn a_budget_of_zero_keeps_nothing() {
    let budget = CacheBudget::new(0);
    let a = std::sync::Arc::new(EventCache::new(1 << 20));
    a.caught_up(0);
    budget.join(&a);
    fill(&a, 0, 10);
    assert_eq!(a.held(), (0, 0, 0));
    assert!(a.take(0).is_none());
}
