//! The deduplication table: per origin, the spans committed, as sorted disjoint ranges.
//! Pure (no clock: callers pass `now_ms`), so a model test drives it directly.
//!
//! Every operation costs O(log origins) or a range's neighbours, never a scan of the table:
//! the origins are also indexed by when they were last seen, so evicting the stalest (the
//! table full, a new origin each commit) and expiring take the index's front. A table of
//! 100,000 origins scanned once per new origin held a channel's queue lock for about a
//! second per batch of new origins.
//!
//! A full table never forgets an origin committed within [`DedupLimits::recent_ms`] to make
//! room for a new one: a new origin then goes unremembered instead (counted in
//! [`DedupTable::turned_away`]; a resend of its events would be committed again, at least
//! once). So a client that names fresh origins faster than real upstreams commit can fill
//! the table, but never push a live upstream's origin out of it (issue 80, item 5).

use std::collections::{BTreeMap, BTreeSet};

use super::IdSpan;

/// How much a [`DedupTable`] may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DedupLimits {
    /// Ranges kept per origin; past it the lowest is forgotten.
    pub ranges_per_origin: usize,
    /// Origins kept; past it the one seen longest ago is forgotten, if it was last seen
    /// `recent_ms` ago or longer.
    pub origins: usize,
    /// An origin committed within this long is never forgotten for a new one (0: the
    /// stalest always goes).
    pub recent_ms: u64,
}

/// Default of [`DedupLimits::recent_ms`]: an hour (an upstream that crashed and resends
/// within it keeps its place against any churn of new origins).
pub const DEDUP_RECENT_MS_DEFAULT: u64 = 3_600_000;

impl Default for DedupLimits {
    fn default() -> Self {
        DedupLimits {
            ranges_per_origin: 64,
            origins: 100_000,
            recent_ms: DEDUP_RECENT_MS_DEFAULT,
        }
    }
}

/// What a table knows of one origin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OriginState {
    /// When a commit last added to it (ms since the epoch).
    pub last_seen_ms: u64,
    /// Committed spans `(lo, hi]`, sorted, disjoint and not touching.
    pub ranges: Vec<(u64, u64)>,
}

impl OriginState {
    fn contains(&self, lo: u64, hi: u64) -> bool {
        // The last range starting below `hi` is the only one that can hold `(lo, hi]`.
        let i = self.ranges.partition_point(|r| r.0 < hi);
        i > 0 && {
            let (a, b) = self.ranges[i - 1];
            a <= lo && hi <= b
        }
    }

    /// Adds `(lo, hi]`, merging every range it overlaps or touches.
    fn insert(&mut self, lo: u64, hi: u64) {
        let first = self.ranges.partition_point(|r| r.1 < lo);
        let end = self.ranges.partition_point(|r| r.0 <= hi);
        if first == end {
            self.ranges.insert(first, (lo, hi));
            return;
        }
        let merged = (lo.min(self.ranges[first].0), hi.max(self.ranges[end - 1].1));
        self.ranges.splice(first..end, [merged]);
    }
}

/// Per-origin committed spans, bounded by [`DedupLimits`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DedupTable {
    origins: BTreeMap<u64, OriginState>,
    /// Every origin as `(last_seen_ms, origin)`: the stalest first.
    by_age: BTreeSet<(u64, u64)>,
    limits: DedupLimits,
    /// Ranges and origins forgotten to stay within the limits (not expiry).
    evicted: u64,
    /// New origins not remembered: the table was full of recent ones.
    turned_away: u64,
}

impl DedupTable {
    /// An empty table.
    pub fn new(limits: DedupLimits) -> Self {
        DedupTable {
            origins: BTreeMap::new(),
            by_age: BTreeSet::new(),
            limits,
            evicted: 0,
            turned_away: 0,
        }
    }

    /// Whether every id of `span` was committed.
    pub fn contains(&self, span: &IdSpan) -> bool {
        self.origins
            .get(&span.origin)
            .is_some_and(|o| o.contains(span.lo, span.hi))
    }

    /// Records `span` as committed at `now_ms`, forgetting what the limits make it forget
    /// (never `keep`, the channel's own origin). A new origin in a full table takes the
    /// place of the stalest one only if that one was last seen `recent_ms` ago or longer;
    /// otherwise it is not recorded (counted in [`Self::turned_away`]). `keep` is always
    /// recorded and not counted against the limit.
    /// Returns whether the span was recorded.
    pub fn insert(&mut self, span: &IdSpan, now_ms: u64, keep: u64) -> bool {
        if span.origin != keep
            && !self.origins.contains_key(&span.origin)
            && self.others(keep) >= self.limits.origins
            && !self.evict_oldest_origin(keep, now_ms)
        {
            self.turned_away += 1;
            return false;
        }
        let o = match self.origins.entry(span.origin) {
            std::collections::btree_map::Entry::Occupied(e) => {
                let o = e.into_mut();
                if now_ms > o.last_seen_ms {
                    self.by_age.remove(&(o.last_seen_ms, span.origin));
                    self.by_age.insert((now_ms, span.origin));
                    o.last_seen_ms = now_ms;
                }
                o
            }
            std::collections::btree_map::Entry::Vacant(e) => {
                self.by_age.insert((now_ms, span.origin));
                e.insert(OriginState {
                    last_seen_ms: now_ms,
                    ranges: Vec::new(),
                })
            }
        };
        o.insert(span.lo, span.hi);
        let cap = self.limits.ranges_per_origin.max(1);
        if o.ranges.len() > cap {
            let extra = o.ranges.len() - cap;
            o.ranges.drain(..extra);
            self.evicted += extra as u64;
        }
        true
    }

    /// Origins held besides `keep` (the channel's own origin is not counted against
    /// [`DedupLimits::origins`], so it never takes an upstream's place).
    fn others(&self, keep: u64) -> usize {
        self.origins.len() - usize::from(self.origins.contains_key(&keep))
    }

    /// Forgets the stalest origin but `keep`, if it was last seen `recent_ms` before `now_ms`
    /// or earlier; whether it did.
    fn evict_oldest_origin(&mut self, keep: u64, now_ms: u64) -> bool {
        let oldest = self.by_age.iter().find(|(_, id)| *id != keep).copied();
        let Some((seen, id)) = oldest else {
            return false;
        };
        if now_ms.saturating_sub(seen) < self.limits.recent_ms {
            return false;
        }
        self.by_age.remove(&(seen, id));
        self.origins.remove(&id);
        self.evicted += 1;
        true
    }

    /// Drops the origins last seen before `before_ms` (never `keep`); returns how many.
    pub fn expire(&mut self, before_ms: u64, keep: u64) -> usize {
        let stale: Vec<(u64, u64)> = self
            .by_age
            .range(..(before_ms, 0))
            .filter(|(_, id)| *id != keep)
            .copied()
            .collect();
        for key in &stale {
            self.by_age.remove(key);
            self.origins.remove(&key.1);
        }
        stale.len()
    }

    /// The highest id committed of `origin`.
    pub fn max_id(&self, origin: u64) -> Option<u64> {
        self.origins
            .get(&origin)
            .and_then(|o| o.ranges.last().map(|r| r.1))
    }

    /// What the table holds of `origin`.
    pub fn origin(&self, origin: u64) -> Option<&OriginState> {
        self.origins.get(&origin)
    }

    /// Origins held.
    pub fn origins(&self) -> usize {
        self.origins.len()
    }

    /// Ranges and origins forgotten to stay within the limits.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// New origins not recorded because the table was full of origins seen within
    /// `recent_ms`.
    pub fn turned_away(&self) -> u64 {
        self.turned_away
    }

    /// Every origin and its state, by origin.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &OriginState)> {
        self.origins.iter().map(|(id, o)| (*id, o))
    }

    /// Puts back an origin's state as a checkpoint held it (replacing any).
    pub fn restore(&mut self, origin: u64, state: OriginState) {
        self.by_age.insert((state.last_seen_ms, origin));
        if let Some(old) = self.origins.insert(origin, state) {
            if self.origins.get(&origin).map(|o| o.last_seen_ms) != Some(old.last_seen_ms) {
                self.by_age.remove(&(old.last_seen_ms, origin));
            }
        }
    }

    /// The limits.
    pub fn limits(&self) -> DedupLimits {
        self.limits
    }
}

/// Sorts `spans` and merges those of one origin that overlap or touch: a transaction's ids
/// as its commit record carries them.
pub fn coalesce(spans: &mut Vec<IdSpan>) {
    spans.sort_unstable();
    let mut out: Vec<IdSpan> = Vec::with_capacity(spans.len());
    for s in spans.drain(..) {
        match out.last_mut() {
            Some(last) if last.origin == s.origin && s.lo <= last.hi => last.hi = last.hi.max(s.hi),
            _ => out.push(s),
        }
    }
    *spans = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(origin: u64, lo: u64, hi: u64) -> IdSpan {
        IdSpan { origin, lo, hi }
    }

    #[test]
    fn consecutive_ids_merge_into_one_range_and_gaps_stay_open() {
        let mut t = DedupTable::new(DedupLimits::default());
        for n in [1, 2, 3, 5, 4] {
            t.insert(&IdSpan::one(9, n).unwrap(), 0, 0);
        }
        let o = t.iter().next().unwrap().1;
        assert_eq!(o.ranges, vec![(0, 5)]);
        t.insert(&span(9, 10, 20), 0, 0);
        assert!(t.contains(&span(9, 12, 15)));
        assert!(!t.contains(&span(9, 5, 6)));
        assert!(!t.contains(&span(9, 4, 11)), "straddles a gap");
        assert_eq!(t.max_id(9), Some(20));
    }

    #[test]
    fn limits_forget_the_lowest_range_and_the_stalest_origin_but_never_the_kept_one() {
        let mut t = DedupTable::new(DedupLimits {
            ranges_per_origin: 2,
            origins: 1,
            recent_ms: 0,
        });
        for lo in [0, 10, 20] {
            t.insert(&span(1, lo, lo + 1), 5, 1);
        }
        assert!(!t.contains(&span(1, 0, 1)));
        assert!(t.contains(&span(1, 20, 21)));
        t.insert(&span(2, 0, 1), 6, 1);
        t.insert(&span(3, 0, 1), 7, 1);
        assert!(t.contains(&span(1, 10, 11)), "the kept origin stays");
        assert!(!t.contains(&span(2, 0, 1)));
        assert_eq!(t.evicted(), 2);
        assert_eq!(t.expire(7, 1), 0);
        assert_eq!(t.expire(8, 1), 1);
        assert_eq!(t.origins(), 1);
    }

    #[test]
    fn a_full_table_evicts_the_stalest_origin_per_new_one_through_its_age_index() {
        let origins = 10_000u64;
        let mut t = DedupTable::new(DedupLimits {
            ranges_per_origin: 4,
            origins: origins as usize - 1,
            recent_ms: 0,
        });
        for o in 1..=origins {
            t.insert(&span(o, 0, 1), o, 1);
        }
        // Origin 2 seen again: it is no longer the stalest after the kept origin 1.
        t.insert(&span(2, 1, 2), origins + 1, 1);
        for (k, o) in (origins + 1..origins + 1 + 1_000).enumerate() {
            t.insert(&span(o, 0, 1), origins + 2 + k as u64, 1);
        }
        assert_eq!(t.origins(), origins as usize);
        assert!(t.contains(&span(1, 0, 1)), "the kept origin stays");
        assert!(t.contains(&span(2, 0, 2)), "seen again, so not evicted");
        assert!(!t.contains(&span(3, 0, 1)), "the stalest went first");
        assert!(t.contains(&span(1_003, 0, 1)));
        assert_eq!(t.evicted(), 1_000);
        assert_eq!(
            t.by_age.len(),
            t.origins.len(),
            "the index holds every origin once"
        );
        let expired = t.expire(origins / 2, 1);
        assert_eq!(t.by_age.len(), t.origins.len());
        assert!(expired > 0 && !t.contains(&span(1_004, 0, 1)));
    }

    #[test]
    fn a_full_table_turns_new_origins_away_rather_than_forget_one_seen_recently() {
        let mut t = DedupTable::new(DedupLimits {
            ranges_per_origin: 4,
            origins: 3,
            recent_ms: 1_000,
        });
        // The own origin 1 (not counted), a real upstream 2 committed at 100, a churned
        // origin 3 at 200, another at 300.
        t.insert(&span(1, 0, 1), 100, 1);
        t.insert(&span(2, 0, 500), 100, 1);
        t.insert(&span(3, 0, 1), 200, 1);
        t.insert(&span(4_000, 0, 1), 300, 1);
        // Fresh origins within a second of the upstream's commit: none gets in.
        for o in 4..1_004 {
            assert!(!t.insert(&span(o, 0, 1), 300, 1), "origin {o}");
        }
        assert_eq!(t.turned_away(), 1_000);
        assert!(
            t.contains(&span(2, 0, 500)),
            "the upstream's ids are all kept"
        );
        // The upstream commits again at 1_150; at 1_250 the churned origin 3 (seen at 200)
        // is stale, so a new origin takes its place, and the next one finds no stale origin.
        assert!(t.insert(&span(2, 500, 501), 1_150, 1));
        assert!(t.insert(&span(5_000, 0, 1), 1_250, 1));
        assert!(!t.contains(&span(3, 0, 1)));
        assert!(!t.insert(&span(5_001, 0, 1), 1_260, 1));
        // The own origin always gets in, and takes no upstream's place.
        let mut own_full = DedupTable::new(t.limits());
        for o in [2, 3, 4] {
            own_full.insert(&span(o, 0, 1), 0, 9);
        }
        assert!(own_full.insert(&span(9, 0, 1), 1, 9));
        assert_eq!(own_full.origins(), 4);
        assert!(own_full.contains(&span(2, 0, 1)));
    }

    #[test]
    fn coalesce_merges_touching_spans_of_one_origin() {
        let mut v = vec![span(2, 3, 4), span(1, 0, 1), span(2, 0, 3), span(1, 5, 6)];
        coalesce(&mut v);
        assert_eq!(v, vec![span(1, 0, 1), span(1, 5, 6), span(2, 0, 4)]);
    }
}
