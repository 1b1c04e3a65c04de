//! A byte budget of a network source: a semaphore of bytes that bounds what requests in
//! flight may hold, over all connections. The avro and http sources keep two, which never
//! wait on each other: bytes of frames or bodies being received, and bytes the decoded
//! events of calls are counted for, from decoding until the put returns. Bytes are reserved
//! before they are read or decoded; a request waiting for decoded bytes holds only received
//! bytes, and decoded bytes are always given back (a decode ends, a put ends), so the two
//! waits cannot close a cycle.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A semaphore of bytes.
#[derive(Debug)]
pub(crate) struct Budget {
    sem: Arc<Semaphore>,
    total: u64,
}

/// Bytes held from a [`Budget`] (given back on drop).
pub(crate) type Held = OwnedSemaphorePermit;

impl Budget {
    /// A budget of `total` bytes (at most `u32::MAX`: one wait asks for at most that).
    pub(crate) fn new(total: u64) -> Self {
        let total = total.min(u64::from(u32::MAX));
        Budget {
            sem: Arc::new(Semaphore::new(total as usize)),
            total,
        }
    }

    /// All of it.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// Bytes not held now.
    #[cfg(test)]
    pub(crate) fn free(&self) -> u64 {
        self.sem.available_permits() as u64
    }

    /// Waits for `n` bytes (fair: in the order asked); `None` if `n` is more than
    /// [`Budget::total`] (it would never come). Cancel safe: a cancelled wait holds nothing.
    pub(crate) async fn acquire(&self, n: u64) -> Option<Held> {
        if n > self.total {
            return None;
        }
        // The semaphore is never closed, so the wait ends only with the bytes.
        self.sem.clone().acquire_many_owned(n as u32).await.ok()
    }

    /// `n` bytes if they are free now and nobody waits before us.
    pub(crate) fn try_acquire(&self, n: u64) -> Option<Held> {
        let n = u32::try_from(n).ok()?;
        self.sem.clone().try_acquire_many_owned(n).ok()
    }
}

/// Adds `more` to what `held` holds.
pub(crate) fn grow(held: &mut Option<Held>, more: Held) {
    match held {
        Some(h) => h.merge(more),
        None => *held = Some(more),
    }
}

/// Bytes `held` holds.
pub(crate) fn bytes(held: &Option<Held>) -> u64 {
    held.as_ref().map_or(0, |h| h.num_permits() as u64)
}

/// Gives back what `held` holds beyond `keep` bytes.
pub(crate) fn shrink_to(held: &mut Held, keep: u64) {
    let have = held.num_permits() as u64;
    if have > keep {
        drop(held.split((have - keep) as usize));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn held_bytes_grow_shrink_and_come_back() {
        let b = Budget::new(100);
        let mut held = None;
        grow(&mut held, b.acquire(30).await.unwrap());
        assert!(b.acquire(101).await.is_none());
        grow(&mut held, b.try_acquire(50).unwrap());
        assert_eq!(bytes(&held), 80);
        assert!(b.try_acquire(30).is_none());
        let mut h = held.take().unwrap();
        shrink_to(&mut h, 10);
        assert_eq!(b.free(), 90);
        drop(h);
        assert_eq!(b.free(), 100);
    }
}
