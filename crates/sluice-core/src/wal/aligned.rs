//! [`AlignedBuf`]: a growable byte buffer whose start is [`DIRECT_ALIGN`]-aligned in memory,
//! as direct I/O needs, without `unsafe`: it over-allocates by one alignment unit and starts
//! at the first aligned byte. Its padded view ([`AlignedBuf::padded`]) rounds the length up
//! to a whole block with zeros.

use super::record::RecordBuf;
use crate::invariant::hot_assert;
use crate::io::DIRECT_ALIGN;

/// Rounds `n` up to a multiple of [`DIRECT_ALIGN`].
pub fn align_up(n: u64) -> u64 {
    let a = DIRECT_ALIGN as u64;
    n.div_ceil(a) * a
}

/// An aligned, growable buffer.
#[derive(Debug)]
pub struct AlignedBuf {
    raw: Vec<u8>,
    start: usize,
    cap: usize,
    len: usize,
}

impl AlignedBuf {
    /// An empty buffer that holds `capacity` bytes (rounded up to whole blocks) before growing.
    pub fn with_capacity(capacity: usize) -> Self {
        let cap = capacity.max(DIRECT_ALIGN).div_ceil(DIRECT_ALIGN) * DIRECT_ALIGN;
        let raw = vec![0u8; cap + DIRECT_ALIGN];
        let start = raw.as_ptr().align_offset(DIRECT_ALIGN);
        assert!(
            start < DIRECT_ALIGN,
            "no aligned byte in an over-allocation"
        );
        AlignedBuf {
            raw,
            start,
            cap,
            len: 0,
        }
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no bytes are held (the pair of `len`; only tests ask it now).
    #[allow(dead_code)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held before the buffer must grow.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// The bytes held.
    pub fn as_slice(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.len]
    }

    /// Empties the buffer (keeping its memory).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends `bytes`, growing (and copying) when they do not fit.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        let need = self.len + bytes.len();
        let at = self.start + self.len;
        self.raw[at..at + bytes.len()].copy_from_slice(bytes);
        self.len = need;
        hot_assert!(self.len <= self.cap, "an aligned buffer past its capacity");
    }

    /// The bytes held, to patch in place.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.raw[self.start..self.start + self.len]
    }

    /// Makes room for `more` bytes beyond those held (growing and copying when needed).
    pub fn reserve(&mut self, more: usize) {
        let need = self.len + more;
        if need > self.cap {
            let mut bigger = AlignedBuf::with_capacity(need.max(self.cap * 2));
            bigger.extend(self.as_slice());
            *self = bigger;
        }
    }

    /// The bytes held followed by zeros up to the next whole block: aligned in memory and in
    /// length, ready for a direct write.
    pub fn padded(&mut self) -> &[u8] {
        let end = align_up(self.len as u64) as usize;
        let (from, to) = (self.start + self.len, self.start + end);
        // Bytes past `len` may be left from an earlier use of the buffer.
        self.raw[from..to].fill(0);
        &self.raw[self.start..to]
    }
}

impl RecordBuf for AlignedBuf {
    fn end(&self) -> usize {
        self.len()
    }
    fn reserve(&mut self, more: usize) {
        AlignedBuf::reserve(self, more);
    }
    fn put(&mut self, bytes: &[u8]) {
        self.extend(bytes);
    }
    fn held_mut(&mut self) -> &mut [u8] {
        self.as_mut_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_view_is_aligned_zero_filled_and_survives_growth_and_reuse() {
        let mut b = AlignedBuf::with_capacity(10);
        assert_eq!(b.capacity(), DIRECT_ALIGN);
        b.extend(&[7u8; 5000]);
        assert!(b.capacity() >= 5000);
        assert_eq!(b.as_slice().len(), 5000);
        b.clear();
        b.extend(&[1, 2, 3]);
        let p = b.padded();
        assert_eq!(p.len(), DIRECT_ALIGN);
        assert_eq!(p.as_ptr().align_offset(DIRECT_ALIGN), 0);
        assert_eq!(&p[..3], &[1, 2, 3]);
        assert!(p[3..].iter().all(|&x| x == 0), "stale bytes in the padding");
        assert_eq!(align_up(1), 4096);
        assert_eq!(align_up(4096), 4096);
    }
}
