//! The direct-I/O buffers of a channel's writers, kept for reuse: a group-commit write
//! copies its records into an aligned buffer, and once the bytes are on disk the buffer comes
//! back here, so steady traffic reuses warm memory instead of faulting in fresh pages (the
//! kernel zeroing them was a tenth of a receiver's samples). Takers that keep up are served
//! from the channel's event cache (`channel/event_cache.rs`), not from these bytes.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::aligned::AlignedBuf;

/// Buffers kept for reuse at most.
const POOL_MAX: usize = 16;
/// Buffers smaller than this are not worth keeping for reuse.
const POOL_MIN_BYTES: usize = 64 << 10;
/// The capacity the pool keeps at most, all its buffers together (16 MiB): a steady stream's
/// buffers (128 KiB to 2 MiB) all fit, while the 16 MiB buffers of 8 MiB events are freed
/// at once instead of sixteen of them (256 MiB) staying with an idle channel.
const POOL_MAX_TOTAL: usize = 16 << 20;

/// The buffer pool of one channel (shared by its directories' writers).
#[derive(Debug, Default)]
pub struct BufferPool {
    pool: Mutex<Vec<AlignedBuf>>,
    fresh: AtomicU64,
}

impl BufferPool {
    /// An empty buffer of at least `capacity` bytes: the smallest pooled buffer that holds
    /// them, or a new one. New buffers get a power-of-two capacity, so one given back fits
    /// the next request of its size class: with exact sizes, about half the
    /// requests of a steady stream (twice 110-115 KiB per commit at batch 100) found every
    /// pooled buffer a few KiB short and zero-filled a fresh one, page faults included.
    pub fn buffer(&self, want: usize) -> AlignedBuf {
        let mut pool = self.pool.lock();
        let best = pool
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= want)
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

    /// Returns a buffer to the pool (dropped when it is small, or larger than the whole
    /// pool may hold). A full pool drops its oldest buffers instead, so the pool follows the
    /// sizes the writers ask for now: keeping the first sixteen once filled the pool with
    /// buffers one size class too small for every later request, and each cut zero-filled a
    /// fresh one.
    pub fn recycle(&self, buf: AlignedBuf) {
        if buf.capacity() < POOL_MIN_BYTES || buf.capacity() > POOL_MAX_TOTAL {
            return;
        }
        let old: Vec<AlignedBuf> = {
            let mut pool = self.pool.lock();
            pool.push(buf);
            let mut total: usize = pool.iter().map(AlignedBuf::capacity).sum();
            let mut cut = 0;
            while pool.len() - cut > POOL_MAX || total > POOL_MAX_TOTAL {
                total -= pool[cut].capacity();
                cut += 1;
            }
            pool.drain(..cut).collect()
        };
        // Freed outside the lock.
        drop(old);
    }

    /// Buffers allocated because the pool had none large enough.
    pub fn fresh_buffers(&self) -> u64 {
        self.fresh.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recycled_buffer_serves_a_slightly_larger_request_of_its_size_class() {
        let cache = BufferPool::default();
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
        let cache = BufferPool::default();
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
    fn the_pool_keeps_no_more_than_its_total_and_no_buffer_larger_than_that() {
        let cache = BufferPool::default();
        cache.recycle(AlignedBuf::with_capacity(2 * POOL_MAX_TOTAL));
        assert!(cache.pool.lock().is_empty(), "a buffer over the total kept");
        // Events of 8 MiB: buffers of 16 MiB, one at a time.
        for _ in 0..4 {
            cache.recycle(AlignedBuf::with_capacity(POOL_MAX_TOTAL));
        }
        assert_eq!(cache.pool.lock().len(), 1);
        // A smaller buffer in pushes the large one out, the oldest first.
        cache.recycle(AlignedBuf::with_capacity(POOL_MIN_BYTES));
        let kept: Vec<usize> = cache.pool.lock().iter().map(|b| b.capacity()).collect();
        assert_eq!(kept, vec![POOL_MIN_BYTES]);
    }
}
