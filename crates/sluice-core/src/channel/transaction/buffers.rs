//! Encode buffers and read-ahead windows reused across transactions.
//!
//! A commit encodes its records into one buffer (110 KiB for 100 events of 1 KiB). Allocated
//! and freed per commit, a buffer that size comes from fresh pages each time (the allocator
//! hands the top of its heap back to the kernel on free), so every commit paid page faults
//! and zeroing for it: ≈ 2 % of the process's CPU in the profile of docs/performance-findings.md
//! ("CPU per event"). A small process-wide pool keeps a few buffers instead, bounded in count
//! and in the size of what it keeps (`BUFFERS_MAX` × `BUFFER_BYTES_MAX` = 16 MiB at most).
//! A taking transaction borrows one for its read-ahead window (up to 256 KiB) until it ends:
//! under mimalloc a window freed per transaction went back to the kernel and was faulted in
//! again by the next (≈ 4 % of a disk run's samples with direct I/O).

use parking_lot::Mutex;

/// Buffers the pool keeps at most.
const BUFFERS_MAX: usize = 8;
/// The largest buffer the pool keeps; larger ones are freed.
const BUFFER_BYTES_MAX: usize = 2 << 20;

static POOL: Mutex<Vec<Vec<u8>>> = parking_lot::const_mutex(Vec::new());

/// An empty buffer with room for at least `bytes`.
pub(super) fn take(bytes: usize) -> Vec<u8> {
    let mut buf = POOL.lock().pop().unwrap_or_default();
    debug_assert!(buf.is_empty(), "a pooled buffer with bytes in it");
    buf.reserve(bytes);
    buf
}

/// Gives a buffer back (kept if the pool has room and it is not too large).
pub(super) fn give_back(mut buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > BUFFER_BYTES_MAX {
        return;
    }
    buf.clear();
    let mut pool = POOL.lock();
    if pool.len() < BUFFERS_MAX {
        pool.push(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_buffer_comes_back_empty_and_an_oversized_one_is_not_kept() {
        let mut b = take(1000);
        assert!(b.capacity() >= 1000);
        b.extend_from_slice(b"bytes");
        give_back(b);
        let again = take(10);
        assert!(again.is_empty());
        give_back(again);
        give_back(Vec::with_capacity(BUFFER_BYTES_MAX + 1));
        assert!(POOL.lock().iter().all(|b| b.capacity() <= BUFFER_BYTES_MAX));
        assert!(POOL.lock().len() <= BUFFERS_MAX);
    }
}
