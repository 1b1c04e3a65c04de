//! Frame buffers kept for reuse by an RPC source: a call's frame (≈ 1 MiB at batch 1,000 ×
//! 1 KiB) is handed to the decoder whole and its memory freed after the decode, so every call
//! took a fresh megabyte from the allocator, which the kernel then faulted in and cleared
//! (2–3 % of the CPU samples of `sluice bench --rpc avro --channel file`). A decoded call's
//! buffer comes back here and the next large frame is read into it.
//!
//! The decoded events' bodies are slices of their frame ([`crate::wire::bodies`]), so a frame
//! comes back only once no event holds it ([`FramePool::give_frame`]): after a put into the
//! file channel, which copies the bodies into its log; not while a memory channel keeps them.
//!
//! Bounded, so idle memory stays small: at most [`POOLED_MAX`] buffers of at most
//! [`POOLED_BYTES_MAX`] each (and at least [`POOLED_BYTES_MIN`]: small frames are not worth a
//! place). A connection holds a pooled buffer only while it receives a
//! frame (that memory is the frame budget's); between calls it holds none, as before.

use bytes::Bytes;
use parking_lot::Mutex;

/// Most buffers kept.
pub const POOLED_MAX: usize = 4;
/// Largest buffer kept (a larger one is freed).
pub const POOLED_BYTES_MAX: usize = 4 << 20;
/// Smallest buffer kept: a smaller one costs little to allocate and would take a place.
pub const POOLED_BYTES_MIN: usize = 64 << 10;

/// The pool of one source.
#[derive(Debug, Default)]
pub struct FramePool {
    kept: Mutex<Vec<Vec<u8>>>,
}

impl FramePool {
    /// A kept buffer with room for at least `n` bytes, emptied; `None` when there is none.
    pub fn take(&self, n: usize) -> Option<Vec<u8>> {
        let mut kept = self.kept.lock();
        let at = kept.iter().position(|v| v.capacity() >= n)?;
        let mut v = kept.swap_remove(at);
        v.clear();
        Some(v)
    }

    /// Gives a buffer back (kept if small enough and there is room, else freed).
    pub fn give(&self, v: Vec<u8>) {
        if !(POOLED_BYTES_MIN..=POOLED_BYTES_MAX).contains(&v.capacity()) {
            return;
        }
        let mut kept = self.kept.lock();
        if kept.len() < POOLED_MAX {
            kept.push(v);
        }
    }

    /// Gives a received frame back once nothing else shares it (the events decoded from it
    /// are gone); a frame still shared is only dropped here.
    pub fn give_frame(&self, frame: Bytes) {
        // Emptied only once unshared (an empty `Bytes` is a static one, never unique), and
        // before it becomes a `Vec`, so no byte moves.
        if let Ok(mut unshared) = frame.try_into_mut() {
            unshared.clear();
            self.give(Vec::from(unshared));
        }
    }

    /// Bytes of buffers kept.
    pub fn kept_bytes(&self) -> usize {
        self.kept.lock().iter().map(Vec::capacity).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_bounded_number_of_bounded_buffers_and_hands_out_one_large_enough() {
        let pool = FramePool::default();
        assert!(pool.take(1).is_none());
        pool.give(Vec::with_capacity(POOLED_BYTES_MAX + 1));
        assert_eq!(pool.kept_bytes(), 0, "too large to keep");
        pool.give(vec![7u8; POOLED_BYTES_MIN - 1]);
        assert_eq!(pool.kept_bytes(), 0, "too small to keep");
        for _ in 0..POOLED_MAX + 2 {
            pool.give(vec![7u8; POOLED_BYTES_MIN]);
        }
        assert_eq!(pool.kept.lock().len(), POOLED_MAX);
        assert!(pool.take(1 << 20).is_none(), "none has room for 1 MiB");
        let v = pool.take(500).unwrap_or_default();
        assert!(v.is_empty() && v.capacity() >= POOLED_BYTES_MIN);
        assert_eq!(pool.kept.lock().len(), POOLED_MAX - 1);
    }

    #[test]
    fn a_frame_comes_back_only_when_no_body_shares_it() {
        let pool = FramePool::default();
        let frame = Bytes::from(vec![1u8; POOLED_BYTES_MIN * 2]).slice(16..);
        let body = frame.slice(10..20);
        pool.give_frame(frame.clone());
        assert_eq!(pool.kept_bytes(), 0, "a body still holds it");
        drop(body);
        pool.give_frame(frame);
        assert_eq!(
            pool.kept_bytes(),
            POOLED_BYTES_MIN * 2,
            "the whole buffer, unsliced"
        );
    }
}
