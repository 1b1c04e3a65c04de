//! Frame buffers kept for reuse by an RPC source: a call's frame (≈ 1 MiB at batch 1,000 ×
//! 1 KiB) is handed to the decoder whole and its memory freed after the decode, so every call
//! took a fresh megabyte from the allocator, which the kernel then faulted in and cleared
//! (2–3 % of the CPU samples of `sluice bench --rpc avro --channel file`). A decoded call's
//! buffer comes back here and the next large frame is read into it.
//!
//! The decoded events' bodies are slices of their frame ([`crate::wire::bodies`]), so a frame
//! comes back when the last of them is dropped, wherever that is (the pool is the frame
//! readers' [`BufferHome`]): after a put into the file channel once its event cache lets go,
//! after a memory channel's sink took them.
//!
//! Bounded, so idle memory stays small: at most [`POOLED_MAX`] buffers of at most
//! [`POOLED_BYTES_MAX`] each (and at least [`POOLED_BYTES_MIN`]: small frames are not worth a
//! place). A connection holds a pooled buffer only while it receives a
//! frame (that memory is the frame budget's); between calls it holds none, as before.

use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::wire::recv_buf::BufferHome;

/// Most buffers kept.
pub(crate) const POOLED_MAX: usize = 4;
/// Largest buffer kept (a larger one is freed).
pub(crate) const POOLED_BYTES_MAX: usize = 4 << 20;
/// Smallest buffer kept: a smaller one costs little to allocate and would take a place.
pub(crate) const POOLED_BYTES_MIN: usize = 64 << 10;

/// The pool of one source.
#[derive(Debug, Default)]
pub(crate) struct FramePool {
    kept: Mutex<Vec<Vec<u8>>>,
}

impl FramePool {
    /// A kept buffer with room for at least `n` bytes, emptied; `None` when there is none.
    pub(crate) fn take(&self, n: usize) -> Option<Vec<u8>> {
        let mut kept = self.kept.lock();
        let at = kept.iter().position(|v| v.capacity() >= n)?;
        let mut v = kept.swap_remove(at);
        v.clear();
        Some(v)
    }

    /// Gives a buffer back (kept if small enough and there is room, else freed).
    pub(crate) fn give(&self, v: Vec<u8>) {
        if !(POOLED_BYTES_MIN..=POOLED_BYTES_MAX).contains(&v.capacity()) {
            return;
        }
        let mut kept = self.kept.lock();
        if kept.len() < POOLED_MAX {
            kept.push(v);
        }
    }

    /// The pool as the frame readers' home for handed-over buffers.
    pub(crate) fn home(self: &Arc<Self>) -> Weak<dyn BufferHome> {
        Arc::downgrade(self) as Weak<dyn BufferHome>
    }

    /// Bytes of buffers kept.
    #[cfg(test)]
    pub(crate) fn kept_bytes(&self) -> usize {
        self.kept.lock().iter().map(Vec::capacity).sum()
    }
}

impl BufferHome for FramePool {
    fn give(&self, buf: Vec<u8>) {
        FramePool::give(self, buf);
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
    fn a_frame_comes_back_when_its_last_body_is_dropped() {
        let pool = Arc::new(FramePool::default());
        let mut reader = crate::wire::thrift::FrameReader::new(1 << 20);
        reader.set_home(pool.home());
        let mut frame = (POOLED_BYTES_MIN as u32).to_be_bytes().to_vec();
        frame.resize(4 + POOLED_BYTES_MIN, 7);
        reader.push(&frame);
        let payload = reader.next_frame().ok().flatten().unwrap_or_default();
        assert_eq!(payload.len(), POOLED_BYTES_MIN);
        let body = payload.slice(10..20);
        drop(payload);
        assert_eq!(pool.kept_bytes(), 0, "a body still holds it");
        drop(body);
        assert!(
            pool.kept_bytes() >= POOLED_BYTES_MIN,
            "the whole buffer back"
        );
    }
}
