//! Conflicts: a put dropped as a duplicate whose body is not the body the channel committed
//! under its id. A resend is the same event again; two *different* events under one id mean
//! an upstream numbered two events alike (a channel copied with its origin, issue 87), and
//! dropping one of them loses it. The table of spans cannot tell (it keeps no content), so
//! the channel keeps the body digest ([`digest`]: length and CRC32) of the last
//! [`RECENT_DIGESTS_MAX`] spans it committed from ids its puts carried (its own fresh ids
//! never conflict), and a dropped put whose span is among them and whose digest differs is
//! counted (`EventDuplicateConflictCount`) and said at WARN, naming the origin and the id
//! (the agent's RPC sources put in a span naming the peer, so the line names it too).
//!
//! The bound: at most [`RECENT_DIGESTS_MAX`] entries of two `u64`s, about 1.5 MiB per
//! channel at most (a map and its insertion order), filled only by puts that carry ids (a
//! collector). A conflict whose first event left the window (more ids committed since) is
//! dropped as a duplicate unnoticed, as before.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};

use crate::dedup::IdSpan;

/// Committed spans whose body digest a channel keeps.
pub(super) const RECENT_DIGESTS_MAX: usize = 32_768;

/// A body's digest: its length (high 32 bits) and its CRC32 (low).
pub(super) fn digest(body: &[u8]) -> u64 {
    ((body.len() as u64) << 32) | u64::from(crc32fast::hash(body))
}

/// A span's key in the window (a 64-bit mix of its three numbers; a collision could only
/// name a conflict that is not one, never hide a drop).
pub(super) fn key(span: &IdSpan) -> u64 {
    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    mix(span.origin ^ mix(span.lo ^ mix(span.hi.wrapping_add(0x9E37_79B9_7F4A_7C15))))
}

/// How the window hashes its keys. A key is already a 64-bit mix ([`key`]), so one more
/// splitmix step over it and a seed drawn per window spreads it over the buckets, where
/// SipHash's rounds (twice per id committed: its insert and an eviction) showed in the
/// profile of a spooldir's puts (issue 91). The seed is random, so ids an upstream chooses
/// cannot aim at one bucket.
#[derive(Clone, Copy, Debug)]
struct Seeded(u64);

impl Default for Seeded {
    fn default() -> Self {
        Seeded(RandomState::new().hash_one(0x5eed_u64))
    }
}

impl BuildHasher for Seeded {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(self.0)
    }
}

/// The hasher of [`Seeded`]: splitmix64's finalizer over the seed and each word written.
#[derive(Debug)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        let mut z = self.0 ^ n;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        self.0 = z ^ (z >> 31);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The digests of the spans committed last, at most [`RECENT_DIGESTS_MAX`].
#[derive(Debug, Default)]
pub(super) struct Recent {
    by_key: HashMap<u64, u64, Seeded>,
    /// Keys in the order they came in: the oldest goes first.
    order: VecDeque<u64>,
}

impl Recent {
    /// The digest of the body committed under `key`, if it is in the window.
    pub(super) fn get(&self, key: u64) -> Option<u64> {
        self.by_key.get(&key).copied()
    }

    /// Keeps `digest` under `key`, the oldest entry going past the bound.
    pub(super) fn insert(&mut self, key: u64, digest: u64) {
        if self.by_key.insert(key, digest).is_some() {
            return;
        }
        self.order.push_back(key);
        if self.order.len() > RECENT_DIGESTS_MAX {
            if let Some(old) = self.order.pop_front() {
                self.by_key.remove(&old);
            }
        }
    }

    /// Entries held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.by_key.len()
    }
}

/// A put dropped as a duplicate of a different event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Conflict {
    /// Its id.
    pub span: IdSpan,
    /// The digest of the body committed under it.
    pub kept: u64,
    /// The digest of the body dropped.
    pub dropped: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_keeps_the_last_digests_and_forgets_the_oldest() {
        let mut r = Recent::default();
        let span = |n: u64| IdSpan::one(7, n).unwrap();
        for n in 1..=(RECENT_DIGESTS_MAX as u64 + 10) {
            r.insert(key(&span(n)), n);
        }
        assert_eq!(r.len(), RECENT_DIGESTS_MAX);
        assert_eq!(r.get(key(&span(5))), None, "the oldest went");
        assert_eq!(r.get(key(&span(20))), Some(20));
        assert_ne!(digest(b"a"), digest(b"b"));
        assert_ne!(digest(b""), digest(b"\0"));
    }

    #[test]
    fn two_windows_hash_a_key_apart_and_each_hashes_it_alike() {
        let (a, b) = (Seeded::default(), Seeded::default());
        let k = key(&IdSpan::one(7, 1).unwrap());
        assert_eq!(a.hash_one(k), a.hash_one(k));
        assert_ne!(a.hash_one(k), b.hash_one(k), "a seed per window");
        // Bytes hash as the words they make, a short tail padded with zeros.
        let mut h = a.build_hasher();
        h.write(&k.to_le_bytes());
        assert_eq!(h.finish(), a.hash_one(k));
    }
}
