//! The queue of committed, untaken events: (put seq, pointer) pairs sorted by seq, in shared
//! chunks.
//!
//! Takes pop the smallest seq and commits add seqs that are almost always larger than every
//! queued one, so the queue is a deque of sorted chunks of at most [`CHUNK_ENTRIES_MAX`]
//! entries: a take and an in-order put touch one end of one chunk (no tree descent, no
//! rebalancing), and an out-of-order insert (a rollback putting taken events back, commits
//! applied out of seq order, a copy forward) is a binary search and a move within one chunk.
//! The chunks and the deque of them sit behind `Arc`s, so a checkpoint's `clone` under the gate
//! is two pointer copies. The first change after a snapshot copies the deque (one pointer per
//! chunk: ≈ 1,000 for a million events, tens of µs, once per checkpoint, outside the gate), and
//! a chunk is copied only when it is next changed while a snapshot still shares it.
//!
//! Replaces `imbl::OrdMap`, whose `O(1)` clone cost a B-tree descent, node copies and a
//! shift of up to 64 entries on every take and put (≈ 10 % of the process's CPU per event in
//! the profile of docs/performance-findings.md, "CPU per event").

use std::collections::VecDeque;
use std::sync::Arc;

use crate::wal::EventPtr;

/// Entries per chunk before it is split in two.
pub const CHUNK_ENTRIES_MAX: usize = 1024;

type Chunk = VecDeque<(u64, EventPtr)>;

/// Committed events by put seq. Every chunk is non-empty and sorted, and every seq of a chunk
/// is below every seq of the next one.
#[derive(Clone, Debug, Default)]
pub struct ReadyQueue {
    chunks: Arc<VecDeque<Arc<Chunk>>>,
    len: usize,
}

impl ReadyQueue {
    /// Events queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The entry with the smallest seq.
    pub fn first(&self) -> Option<(u64, EventPtr)> {
        self.chunks.front().and_then(|c| c.front()).copied()
    }

    fn last_seq(&self) -> Option<u64> {
        self.chunks.back().and_then(|c| c.back()).map(|e| e.0)
    }

    /// Removes and returns the entry with the smallest seq.
    pub fn pop_first(&mut self) -> Option<(u64, EventPtr)> {
        let chunks = Arc::make_mut(&mut self.chunks);
        let front = chunks.front_mut()?;
        let entry = Arc::make_mut(front).pop_front();
        if front.is_empty() {
            chunks.pop_front();
        }
        if entry.is_some() {
            self.len -= 1;
        }
        entry
    }

    /// Inserts `ptr` at `seq`; returns the pointer it replaced, if `seq` was queued.
    pub fn insert(&mut self, seq: u64, ptr: EventPtr) -> Option<EventPtr> {
        match self.last_seq() {
            None => return self.push_back_chunk(seq, ptr),
            Some(last) if seq > last => {
                let back = Arc::make_mut(&mut self.chunks).back_mut()?;
                if back.len() >= CHUNK_ENTRIES_MAX {
                    return self.push_back_chunk(seq, ptr);
                }
                Arc::make_mut(back).push_back((seq, ptr));
                self.len += 1;
                return None;
            }
            Some(_) => {}
        }
        // Some queued seq is >= `seq`: the first chunk whose last seq is >= `seq` holds it or
        // is where it goes (every seq of the chunk before is smaller).
        let i = self.chunk_of(seq);
        let chunks = Arc::make_mut(&mut self.chunks);
        let chunk = Arc::make_mut(chunks.get_mut(i)?);
        match chunk.binary_search_by_key(&seq, |e| e.0) {
            Ok(j) => {
                let old = std::mem::replace(&mut chunk[j].1, ptr);
                Some(old)
            }
            Err(j) => {
                chunk.insert(j, (seq, ptr));
                if chunk.len() > CHUNK_ENTRIES_MAX {
                    let upper = chunk.split_off(chunk.len() / 2);
                    chunks.insert(i + 1, Arc::new(upper));
                }
                self.len += 1;
                None
            }
        }
    }

    /// Removes the entry at `seq`; returns its pointer if it was queued.
    pub fn remove(&mut self, seq: u64) -> Option<EventPtr> {
        let i = self.chunk_of(seq);
        let j = self
            .chunks
            .get(i)?
            .binary_search_by_key(&seq, |e| e.0)
            .ok()?;
        let chunks = Arc::make_mut(&mut self.chunks);
        let slot = chunks.get_mut(i)?;
        let (_, ptr) = Arc::make_mut(slot).remove(j)?;
        if slot.is_empty() {
            chunks.remove(i);
        }
        self.len -= 1;
        Some(ptr)
    }

    /// Every entry in seq order.
    pub fn iter(&self) -> impl Iterator<Item = &(u64, EventPtr)> + '_ {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// Index of the first chunk whose last seq is >= `seq` (`chunks.len()` if none).
    fn chunk_of(&self, seq: u64) -> usize {
        self.chunks
            .partition_point(|c| c.back().is_some_and(|last| last.0 < seq))
    }

    fn push_back_chunk(&mut self, seq: u64, ptr: EventPtr) -> Option<EventPtr> {
        let mut chunk = Chunk::with_capacity(CHUNK_ENTRIES_MAX);
        chunk.push_back((seq, ptr));
        Arc::make_mut(&mut self.chunks).push_back(Arc::new(chunk));
        self.len += 1;
        None
    }

    /// Checks the ordering and size invariants (tests).
    #[cfg(test)]
    fn check(&self) {
        let mut last = None;
        let mut n = 0;
        for c in self.chunks.iter() {
            assert!(!c.is_empty() && c.len() <= CHUNK_ENTRIES_MAX, "chunk size");
            for (seq, _) in c.iter() {
                assert!(last < Some(*seq), "seqs not increasing");
                last = Some(*seq);
                n += 1;
            }
        }
        assert_eq!(n, self.len, "length");
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn ptr(v: u64) -> EventPtr {
        EventPtr {
            segment: (v >> 32) as u32,
            offset: v as u32,
        }
    }

    /// SplitMix64: a seeded sequence, so a failure names its seed.
    fn next(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn the_queue_behaves_as_an_ordered_map_and_snapshots_stay_unchanged() {
        for seed in 0..40u64 {
            let mut rng = seed;
            let mut q = ReadyQueue::default();
            let mut model: BTreeMap<u64, EventPtr> = BTreeMap::new();
            let mut snaps: Vec<(ReadyQueue, Vec<(u64, EventPtr)>)> = Vec::new();
            // Mostly appends and takes (the channel's traffic), with inserts anywhere,
            // removals and snapshots mixed in; seqs drift upwards like the channel's. Odd
            // seeds take less, so the queue grows past a chunk and inserts split chunks.
            let takes_until = if seed % 2 == 0 { 98 } else { 75 };
            let mut high = 0u64;
            for i in 0..6_000u64 {
                let value = ptr(i);
                let r = next(&mut rng) % 100;
                if r < 40 {
                    high += 1 + next(&mut rng) % 3;
                    assert_eq!(
                        q.insert(high, value),
                        model.insert(high, value),
                        "seed {seed}"
                    );
                } else if r < 55 {
                    let seq = next(&mut rng) % (high + 1);
                    assert_eq!(
                        q.insert(seq, value),
                        model.insert(seq, value),
                        "seed {seed}"
                    );
                } else if r < 62 {
                    let seq = next(&mut rng) % (high + 1);
                    assert_eq!(q.remove(seq), model.remove(&seq), "seed {seed}");
                } else if r < takes_until {
                    assert_eq!(q.pop_first(), model.pop_first(), "seed {seed}");
                } else if r < 98 {
                    high += 1;
                    assert_eq!(
                        q.insert(high, value),
                        model.insert(high, value),
                        "seed {seed}"
                    );
                } else {
                    let entries = q.iter().copied().collect();
                    snaps.push((q.clone(), entries));
                }
                if i % 16 == 0 {
                    q.check();
                }
                assert_eq!(q.len(), model.len(), "seed {seed}");
                let first = model.first_key_value().map(|(k, v)| (*k, *v));
                assert_eq!(q.first(), first, "seed {seed}");
            }
            q.check();
            if seed % 2 == 1 {
                assert!(
                    q.chunks.len() > 2,
                    "seed {seed}: the queue never split a chunk"
                );
            }
            let all: Vec<(u64, EventPtr)> = q.iter().copied().collect();
            let expected: Vec<(u64, EventPtr)> = model.into_iter().collect();
            assert_eq!(all, expected, "seed {seed}");
            for (snap, entries) in snaps {
                let now: Vec<(u64, EventPtr)> = snap.iter().copied().collect();
                assert_eq!(now, entries, "seed {seed}: a snapshot changed");
            }
        }
    }

    #[test]
    fn appends_and_takes_in_order_fill_whole_chunks_and_a_rollback_restores_the_head() {
        let mut q = ReadyQueue::default();
        for seq in 0..(3 * CHUNK_ENTRIES_MAX as u64 + 7) {
            assert_eq!(q.insert(seq, ptr(seq)), None);
        }
        assert_eq!(q.chunks.len(), 4);
        let snapshot = q.clone();
        let taken: Vec<_> = (0..10).filter_map(|_| q.pop_first()).collect();
        assert_eq!(taken[0], (0, ptr(0)));
        assert_eq!(q.first(), Some((10, ptr(10))));
        for (seq, p) in taken.iter().rev() {
            assert_eq!(q.insert(*seq, *p), None);
        }
        q.check();
        assert_eq!(q.first(), Some((0, ptr(0))));
        assert_eq!(q.len(), 3 * CHUNK_ENTRIES_MAX + 7);
        assert!(q.iter().eq(snapshot.iter()));
    }

    #[test]
    fn an_insert_into_a_full_chunk_splits_it_and_a_snapshot_keeps_the_old_order() {
        let mut q = ReadyQueue::default();
        for i in 0..CHUNK_ENTRIES_MAX as u64 {
            q.insert(2 * i, ptr(2 * i));
        }
        assert_eq!(q.chunks.len(), 1);
        let snapshot = q.clone();
        assert_eq!(q.insert(101, ptr(101)), None);
        assert_eq!(q.chunks.len(), 2, "the full chunk was split");
        assert_eq!(
            q.insert(100, ptr(7)),
            Some(ptr(100)),
            "a queued seq is replaced"
        );
        q.check();
        let seqs: Vec<u64> = q.iter().map(|e| e.0).collect();
        let mut expected: Vec<u64> = (0..CHUNK_ENTRIES_MAX as u64).map(|i| 2 * i).collect();
        expected.insert(51, 101);
        assert_eq!(seqs, expected);
        assert_eq!(snapshot.len(), CHUNK_ENTRIES_MAX);
        assert!(snapshot
            .iter()
            .map(|e| e.0)
            .eq((0..CHUNK_ENTRIES_MAX as u64).map(|i| 2 * i)));
        assert_eq!(q.remove(101), Some(ptr(101)));
        assert_eq!(q.remove(101), None);
        assert_eq!(q.len(), CHUNK_ENTRIES_MAX);
    }
}
