//! [`TtlCache`]: the resolver's answers (a positive and a negative cache are two of these),
//! each kept for a time to live and at most a fixed number of entries; a full cache forgets
//! its oldest entry to make room (never all at once).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Entry {
    value: String,
    expires: Instant,
    seq: u64,
}

/// Answers by address, each until its time to live ends, at most `entries_max` of them.
#[derive(Debug)]
pub(crate) struct TtlCache {
    map: HashMap<IpAddr, Entry>,
    /// Insertion order (an entry replaced since leaves a stale pair, skipped by its `seq`).
    order: VecDeque<(IpAddr, u64)>,
    next_seq: u64,
    ttl: Duration,
    entries_max: usize,
}

impl TtlCache {
    /// An empty cache keeping each answer for `ttl`, at most `entries_max` (at least 1).
    pub(crate) fn new(ttl: Duration, entries_max: usize) -> Self {
        TtlCache {
            map: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
            ttl,
            entries_max: entries_max.max(1),
        }
    }

    /// The answer for `ip` while it lives (an expired one is forgotten).
    pub(crate) fn get(&mut self, ip: IpAddr, now: Instant) -> Option<&str> {
        let expired = self.map.get(&ip).is_some_and(|e| e.expires <= now);
        if expired {
            self.map.remove(&ip);
            return None;
        }
        self.map.get(&ip).map(|e| e.value.as_str())
    }

    /// Keeps `value` for `ip` from `now`, forgetting the oldest entries beyond the bound.
    pub(crate) fn insert(&mut self, ip: IpAddr, value: String, now: Instant) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry {
            value,
            expires: now + self.ttl,
            seq,
        };
        self.map.insert(ip, entry);
        self.order.push_back((ip, seq));
        while self.map.len() > self.entries_max {
            let Some((old, old_seq)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&old).is_some_and(|e| e.seq == old_seq) {
                self.map.remove(&old);
            }
        }
        if self.order.len() > self.entries_max * 2 {
            self.compact();
        }
    }

    /// Entries held now (expired ones included until they are looked up or pushed out).
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether it holds nothing.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Drops the stale pairs of the order (entries replaced or expired since).
    fn compact(&mut self) {
        let map = &self.map;
        self.order
            .retain(|(ip, seq)| map.get(ip).is_some_and(|e| e.seq == *seq));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(std::net::Ipv4Addr::from(0x7f00_0000 + n))
    }

    #[test]
    fn a_full_cache_forgets_its_oldest_entry_only() {
        let now = Instant::now();
        let mut c = TtlCache::new(Duration::from_secs(60), 3);
        for n in 0..3 {
            c.insert(ip(n), format!("h{n}"), now);
        }
        // Replacing the oldest makes it the newest.
        c.insert(ip(0), "h0b".into(), now);
        c.insert(ip(3), "h3".into(), now);
        assert_eq!(c.len(), 3);
        assert_eq!(c.get(ip(1), now), None);
        assert_eq!(c.get(ip(0), now), Some("h0b"));
        assert_eq!(c.get(ip(2), now), Some("h2"));
        assert_eq!(c.get(ip(3), now), Some("h3"));
    }

    #[test]
    fn an_answer_is_forgotten_when_its_time_to_live_ends() {
        let now = Instant::now();
        let mut c = TtlCache::new(Duration::from_secs(5), 10);
        c.insert(ip(1), "h".into(), now);
        assert_eq!(c.get(ip(1), now + Duration::from_secs(4)), Some("h"));
        assert_eq!(c.get(ip(1), now + Duration::from_secs(5)), None);
        assert!(c.is_empty());
    }

    #[test]
    fn many_replacements_keep_the_order_bounded() {
        let now = Instant::now();
        let mut c = TtlCache::new(Duration::from_secs(60), 4);
        for n in 0..10_000 {
            c.insert(ip(n % 2), format!("{n}"), now);
        }
        assert!(c.order.len() <= 8, "{}", c.order.len());
        assert_eq!(c.get(ip(1), now), Some("9999"));
    }
}
