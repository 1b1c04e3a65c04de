//! A hasher for the channel's maps whose keys are its own transaction and segment ids or
//! sequence numbers (integers it hands out itself, never input from outside): the queue
//! state's and the event cache's.
//!
//! The standard `SipHash` guards maps against keys chosen to collide; these keys are not
//! chosen by anyone, and a take looks its transaction up once per event, so the maps use a
//! multiply-rotate hash (as rustc's `FxHasher`) instead.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` keyed by a transaction or segment id.
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// Multiply-rotate hashing of integer ids.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_map_to_distinct_hashes_and_the_map_finds_them() {
        let mut m: IdMap<u64, u64> = IdMap::default();
        for id in 0..10_000u64 {
            m.insert(id, id * 2);
        }
        assert!((0..10_000u64).all(|id| m.get(&id) == Some(&(id * 2))));
        let hashes: std::collections::HashSet<u64> = (0..10_000u32)
            .map(|id| {
                let mut h = IdHasher::default();
                h.write_u32(id);
                h.finish()
            })
            .collect();
        assert_eq!(hashes.len(), 10_000);
    }
}
