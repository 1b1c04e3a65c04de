//! Row buffers kept between takes ([`BufPool`]): a take's rows are encoded into a buffer an
//! earlier take gave back, so a take of megabytes does not map (and fault in) fresh pages each
//! time. A buffer comes back from whoever drops it last: the take once it is delivered, or its
//! INSERT (a slice of the buffer, `rows.rs`) once ClickHouse answered.

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

/// Most buffers kept: one being encoded, one whose INSERT is on its way (`handoff.rs`).
const KEPT_MAX: usize = 2;
/// A buffer larger than this is let go (a take of unusually large events keeps no memory).
const KEPT_BYTES_MAX: usize = 64 << 20;

/// The sink's spare row buffers (a clone shares them).
#[derive(Clone, Debug, Default)]
pub(super) struct BufPool(Arc<Mutex<Vec<Vec<u8>>>>);

impl BufPool {
    /// A spare buffer (empty), or a new one.
    pub(super) fn get(&self) -> Vec<u8> {
        self.0.lock().pop().unwrap_or_default()
    }

    /// Keeps the buffer `b` is a slice of, if nothing else holds a part of it.
    pub(super) fn give(&self, b: Bytes) {
        let Ok(mut m) = b.try_into_mut() else {
            return;
        };
        m.clear();
        let v = Vec::from(m);
        let mut kept = self.0.lock();
        if kept.len() < KEPT_MAX && v.capacity() <= KEPT_BYTES_MAX {
            kept.push(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_comes_back_whole_from_its_last_holder_only() {
        let pool = BufPool::default();
        let mut v = pool.get();
        v.extend_from_slice(&[7u8; 1000]);
        let at = v.as_ptr();
        let all = Bytes::from(v);
        let part = all.slice(100..200);
        pool.give(all);
        assert!(pool.0.lock().is_empty(), "a slice still holds it");
        pool.give(part);
        let back = pool.get();
        assert!(back.is_empty());
        assert!(back.capacity() >= 1000);
        assert_eq!(back.as_ptr(), at, "the same memory");
        assert!(pool.get().capacity() == 0, "one buffer given, one kept");
    }
}
