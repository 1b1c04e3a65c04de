//! The memory-resident tail: the newest bytes written with direct I/O, kept so that takers
//! whose sinks keep up are served from memory and the disk is never read.
//!
//! Direct writes bypass the page cache, so without this every take would read the disk. Each
//! group-commit write hands its buffer here once it is on disk ([`TailCache::insert`]); takes
//! look an event up by pointer ([`TailCache::event`]) and decode it from the chunk, checking
//! frame, checksum, kind and sequence number exactly as a read from the file does. A miss (the
//! taker lags by more than the cache holds, or the bytes were written buffered) falls back to
//! reading the segment. The cache is bounded in bytes (`tailCacheSize`); evicted buffers go to
//! a small pool the writers draw from, so steady traffic reuses warm memory instead of
//! faulting in fresh pages.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};

use super::aligned::AlignedBuf;
use super::record::{decode, frame_len, EventPtr, RecordBody};
use crate::event::Event;

/// Buffers kept for reuse at most.
const POOL_MAX: usize = 16;
/// Buffers smaller than this are not worth keeping for reuse.
const POOL_MIN_BYTES: usize = 64 << 10;

/// Bytes of one segment, from `start`, as written.
#[derive(Debug)]
pub struct Chunk {
    /// The segment.
    pub segment: u32,
    /// File offset of the first byte.
    pub start: u64,
    /// The bytes (their logical length: no padding).
    pub buf: AlignedBuf,
    /// The segment's record CRC salt.
    pub salt: u32,
}

#[derive(Debug, Default)]
struct Chunks {
    by_pos: BTreeMap<(u32, u64), Chunk>,
    order: VecDeque<(u32, u64)>,
    bytes: usize,
}

/// The tail cache of one channel (shared by its directories' writers and its takers).
#[derive(Debug)]
pub struct TailCache {
    limit: usize,
    chunks: RwLock<Chunks>,
    pool: Mutex<Vec<AlignedBuf>>,
    hits: AtomicU64,
    misses: AtomicU64,
    fresh: AtomicU64,
    /// Whether any chunk was ever kept: until then (buffered writes) lookups are not counted.
    used: AtomicBool,
}

impl Default for TailCache {
    fn default() -> Self {
        TailCache::new(0)
    }
}

impl TailCache {
    /// A cache holding at most `limit` bytes (0: nothing is cached).
    pub fn new(limit: usize) -> Self {
        TailCache {
            limit,
            chunks: RwLock::new(Chunks::default()),
            pool: Mutex::new(Vec::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            fresh: AtomicU64::new(0),
            used: AtomicBool::new(false),
        }
    }

    /// An empty buffer of at least `capacity` bytes: the smallest pooled buffer that holds
    /// them, or a new one. New buffers get a power-of-two capacity, so one evicted from the
    /// cache fits the next request of its size class: with exact sizes, about half the
    /// requests of a steady stream (twice 110-115 KiB per commit at batch 100) found every
    /// pooled buffer a few KiB short and zero-filled a fresh one, page faults included.
    pub fn buffer(&self, capacity: usize) -> AlignedBuf {
        self.pooled_or_new(capacity, usize::MAX)
    }

    /// Like [`TailCache::buffer`], but a pooled buffer serves only when it is less than twice
    /// the size class of `capacity`: for the copy of a small cut, which a large buffer would
    /// hold with mostly spare capacity (a batch's take records, 45 KiB, each kept a 2 MiB
    /// buffer and the 64 MiB tail held 20 MiB of data).
    pub fn buffer_near(&self, capacity: usize) -> AlignedBuf {
        let class = capacity.checked_next_power_of_two().unwrap_or(capacity);
        self.pooled_or_new(capacity, class.saturating_mul(2))
    }

    /// The smallest pooled buffer with `want <= capacity < below`, or a new one.
    fn pooled_or_new(&self, want: usize, below: usize) -> AlignedBuf {
        let mut pool = self.pool.lock();
        let best = pool
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= want && b.capacity() < below)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        match best {
            Some(i) => {
                let mut b = pool.remove(i);
                b.clear();
                b
            }
            None => {
                drop(pool);
                self.fresh.fetch_add(1, Ordering::Relaxed);
                AlignedBuf::with_capacity(want.checked_next_power_of_two().unwrap_or(want))
            }
        }
    }

    /// Returns a buffer to the pool (dropped when it is small). A full pool drops its oldest
    /// buffer instead, so the pool follows the sizes the writers ask for now: keeping the
    /// first sixteen once filled the pool with buffers one size class too small for every
    /// later request, and each cut zero-filled a fresh one.
    pub fn recycle(&self, buf: AlignedBuf) {
        if buf.capacity() < POOL_MIN_BYTES {
            return;
        }
        let old = {
            let mut pool = self.pool.lock();
            pool.push(buf);
            (pool.len() > POOL_MAX).then(|| pool.remove(0))
        };
        // Freed outside the lock.
        drop(old);
    }

    /// Buffers allocated because the pool had none large enough.
    pub fn fresh_buffers(&self) -> u64 {
        self.fresh.load(Ordering::Relaxed)
    }

    /// Keeps `chunk` (bytes now in the file), evicting the oldest chunks beyond the limit (which
    /// counts the buffers' memory, not just their bytes).
    pub fn insert(&self, chunk: Chunk) {
        if self.limit == 0 || chunk.buf.is_empty() || chunk.buf.capacity() > self.limit {
            self.recycle(chunk.buf);
            return;
        }
        self.used.store(true, Ordering::Relaxed);
        let mut evicted = Vec::new();
        {
            let mut c = self.chunks.write();
            let key = (chunk.segment, chunk.start);
            c.bytes += chunk.buf.capacity();
            if let Some(old) = c.by_pos.insert(key, chunk) {
                // The same start written again (a rewrite of the partial last block).
                c.bytes -= old.buf.capacity();
                c.order.retain(|k| *k != key);
                evicted.push(old.buf);
            }
            c.order.push_back(key);
            while c.bytes > self.limit {
                let Some(k) = c.order.pop_front() else {
                    break;
                };
                if let Some(old) = c.by_pos.remove(&k) {
                    c.bytes -= old.buf.capacity();
                    evicted.push(old.buf);
                }
            }
        }
        for b in evicted {
            self.recycle(b);
        }
    }

    /// Drops every chunk of `segment` (it is being deleted).
    pub fn forget_segment(&self, segment: u32) {
        let mut c = self.chunks.write();
        let keys: Vec<_> = c
            .by_pos
            .range((segment, 0)..=(segment, u64::MAX))
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            if let Some(old) = c.by_pos.remove(&k) {
                c.bytes -= old.buf.capacity();
            }
        }
        c.order.retain(|(s, _)| *s != segment);
    }

    /// The event of the put record with sequence number `seq` at `ptr`, when the cache holds
    /// it whole and it checks out; `None` sends the caller to the file.
    pub fn event(&self, ptr: EventPtr, seq: u64) -> Option<Event> {
        if self.limit == 0 || !self.used.load(Ordering::Relaxed) {
            return None;
        }
        let found = self.lookup(ptr, seq);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    fn lookup(&self, ptr: EventPtr, seq: u64) -> Option<Event> {
        let offset = u64::from(ptr.offset);
        let c = self.chunks.read();
        let (_, chunk) = c
            .by_pos
            .range((ptr.segment, 0)..=(ptr.segment, offset))
            .next_back()?;
        let rel = usize::try_from(offset - chunk.start).ok()?;
        let head = chunk.buf.as_slice().get(rel..)?;
        let total = frame_len(head).ok()?;
        let (record, _) = decode(head.get(..total)?, chunk.salt).ok()?;
        match record.body {
            RecordBody::Put(event) if record.seq == seq => Some(event),
            _ => None,
        }
    }

    /// Events served from memory, and lookups that went to the file.
    pub fn hits_misses(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::record::encode_put;

    fn chunk_of(segment: u32, start: u64, events: &[(&str, u64)]) -> (Chunk, Vec<EventPtr>) {
        let mut bytes = Vec::new();
        let mut ptrs = Vec::new();
        for (body, seq) in events {
            ptrs.push(EventPtr {
                segment,
                offset: u32::try_from(start).unwrap() + bytes.len() as u32,
            });
            encode_put(&mut bytes, 0, 1, *seq, &Event::new(*body));
        }
        let mut buf = AlignedBuf::with_capacity(bytes.len());
        buf.extend(&bytes);
        (
            Chunk {
                segment,
                start,
                buf,
                salt: 0,
            },
            ptrs,
        )
    }

    #[test]
    fn serves_what_it_holds_checks_the_sequence_number_and_evicts_the_oldest() {
        let cache = TailCache::new(3 * 4096);
        let (c1, p1) = chunk_of(3, 4096, &[("a", 10), ("b", 11)]);
        let first_len = c1.buf.capacity();
        cache.insert(c1);
        assert_eq!(cache.event(p1[1], 11).unwrap().body, b"b");
        assert!(cache.event(p1[1], 12).is_none(), "a wrong seq is a miss");
        assert!(cache
            .event(
                EventPtr {
                    segment: 4,
                    offset: 4096
                },
                10
            )
            .is_none());
        assert_eq!(cache.hits_misses(), (1, 2));
        // Chunks up to the limit (in buffer memory) stay; one more evicts the oldest.
        let (c2, p2) = chunk_of(3, 8192, &[("c", 12), ("d", 13), ("e", 14)]);
        let (c3, _) = chunk_of(3, 12288, &[("f", 15)]);
        assert!(first_len + c2.buf.capacity() + c3.buf.capacity() <= 3 * 4096);
        cache.insert(c3);
        assert_eq!(
            cache.event(p1[0], 10).unwrap().body,
            b"a",
            "three blocks fit"
        );
        let (c2b, _) = chunk_of(3, 16384, &[("g", 16)]);
        cache.insert(c2b);
        cache.insert(c2);
        assert!(cache.event(p1[0], 10).is_none(), "evicted");
        assert_eq!(cache.event(p2[2], 14).unwrap().body, b"e");
        cache.forget_segment(3);
        assert!(cache.event(p2[2], 14).is_none(), "forgotten");
    }

    #[test]
    fn a_disabled_cache_keeps_nothing_and_counts_nothing() {
        let cache = TailCache::new(0);
        let (c, p) = chunk_of(1, 0, &[("x", 1)]);
        cache.insert(c);
        assert!(cache.event(p[0], 1).is_none());
        assert_eq!(cache.hits_misses(), (0, 0));
        // A big buffer goes to the pool for the writers to reuse.
        let mut big = AlignedBuf::with_capacity(POOL_MIN_BYTES);
        big.extend(b"y");
        let big_cap = big.capacity();
        cache.insert(Chunk {
            segment: 2,
            start: 0,
            buf: big,
            salt: 0,
        });
        assert_eq!(cache.buffer(big_cap).capacity(), big_cap);
    }

    #[test]
    fn a_recycled_buffer_serves_a_slightly_larger_request_of_its_size_class() {
        let cache = TailCache::new(0);
        let first = cache.buffer(221 << 10);
        assert_eq!(first.capacity(), 256 << 10);
        let at = first.as_slice().as_ptr();
        cache.recycle(first);
        let again = cache.buffer(230 << 10);
        assert_eq!(
            again.as_slice().as_ptr(),
            at,
            "the pooled buffer was not reused"
        );
        assert!(again.is_empty());
        assert_eq!(cache.buffer(300 << 10).capacity(), 512 << 10);
    }

    #[test]
    fn the_pool_serves_the_smallest_fit_and_a_full_pool_keeps_the_newest_sizes() {
        let cache = TailCache::new(0);
        // A full pool of buffers too small for what the writers ask for now...
        for _ in 0..POOL_MAX {
            cache.recycle(AlignedBuf::with_capacity(POOL_MIN_BYTES));
        }
        // ...still takes the right size in, dropping the oldest small one.
        cache.recycle(AlignedBuf::with_capacity(4 * POOL_MIN_BYTES));
        cache.recycle(AlignedBuf::with_capacity(2 * POOL_MIN_BYTES));
        let before = cache.fresh_buffers();
        assert_eq!(
            cache.buffer(2 * POOL_MIN_BYTES - 1).capacity(),
            2 * POOL_MIN_BYTES
        );
        assert_eq!(
            cache.buffer(3 * POOL_MIN_BYTES).capacity(),
            4 * POOL_MIN_BYTES
        );
        assert_eq!(cache.fresh_buffers(), before, "both came from the pool");
        assert_eq!(cache.buffer(POOL_MIN_BYTES).capacity(), POOL_MIN_BYTES);
        assert_eq!(
            cache.buffer(5 * POOL_MIN_BYTES).capacity(),
            8 * POOL_MIN_BYTES
        );
        assert_eq!(cache.fresh_buffers(), before + 1);
        assert_eq!(cache.pool.lock().len(), POOL_MAX - 3, "three taken out");
    }

    #[test]
    fn a_small_cut_s_copy_never_takes_a_pooled_buffer_of_twice_its_size_class_or_more() {
        let cache = TailCache::new(0);
        cache.recycle(AlignedBuf::with_capacity(32 * POOL_MIN_BYTES));
        let before = cache.fresh_buffers();
        // 45 KiB of take records: class 64 KiB; the 2 MiB pooled buffer is not near it.
        let small = cache.buffer_near(45 << 10);
        assert_eq!(small.capacity(), 64 << 10);
        assert_eq!(cache.fresh_buffers(), before + 1);
        cache.recycle(small);
        assert_eq!(
            cache.buffer_near(40 << 10).capacity(),
            64 << 10,
            "the pooled one fits"
        );
        assert_eq!(cache.fresh_buffers(), before + 1);
        assert_eq!(
            cache.buffer(45 << 10).capacity(),
            32 * POOL_MIN_BYTES,
            "any fit will do"
        );
    }
}
