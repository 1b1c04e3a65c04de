//! Encoded bytes with bodies spliced in ([`Spliced`]), for a vectored write: an encoder
//! writes everything but the large bodies into one buffer and notes where each body goes, so
//! the socket takes every body from its event (the kernel's one copy) instead of after a copy
//! into the request buffer. Used by the avro and thrift clients; the bytes on the wire are
//! those of the copying encoders (their tests compare them).

use std::io::IoSlice;

use sluice_core::{Bytes, Event};

/// Bodies from this size on are spliced rather than copied (below it, another entry for the
/// kernel to walk costs more than the copy).
pub const SPLICE_BODY_MIN: usize = 512;

/// About how many bytes an encoding of `events` holds in its buffer when bodies of at least
/// `splice_min` bytes are spliced (headers, smaller bodies and 16 bytes of structure per
/// event): what an encoder reserves.
pub fn inline_bytes(events: &[Event], splice_min: usize) -> usize {
    events
        .iter()
        .map(|e| {
            let spliced = if e.body.len() >= splice_min {
                e.body.len()
            } else {
                0
            };
            e.payload_bytes().saturating_sub(spliced) + 16
        })
        .sum()
}

/// Encoded bytes with bodies spliced in between.
#[derive(Debug, Default)]
pub struct Spliced {
    bytes: Vec<u8>,
    bodies: Bodies,
}

/// The spliced bodies: each with how many encoded bytes precede it.
#[derive(Debug, Default)]
pub struct Bodies {
    at: Vec<(usize, Bytes)>,
    bytes: usize,
}

impl Bodies {
    /// Splices `body` after the first `at` encoded bytes (at or after the last splice).
    pub fn splice(&mut self, at: usize, body: &Bytes) {
        debug_assert!(self.at.last().is_none_or(|(a, _)| *a <= at));
        self.bytes += body.len();
        self.at.push((at, body.clone()));
    }
}

impl Spliced {
    /// The encoding buffer and the bodies, for an encoder that writes into the one and splices
    /// into the other.
    pub fn parts(&mut self) -> (&mut Vec<u8>, &mut Bodies) {
        (&mut self.bytes, &mut self.bodies)
    }

    /// Drops the encoding and the references to the bodies (the buffer's memory is kept).
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.bodies.at.clear();
        self.bodies.bytes = 0;
    }

    /// The length on the wire.
    pub fn len(&self) -> usize {
        self.bytes.len() + self.bodies.bytes
    }

    /// Whether nothing is encoded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of encoding buffer held (its capacity).
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Everything in wire order as slices, appended to `out` (empty ones left out).
    pub fn slices<'a>(&'a self, out: &mut Vec<IoSlice<'a>>) {
        out.reserve(2 * self.bodies.at.len() + 1);
        let mut from = 0;
        for (at, body) in &self.bodies.at {
            if let Some(b) = self.bytes.get(from..*at).filter(|b| !b.is_empty()) {
                out.push(IoSlice::new(b));
            }
            if !body.is_empty() {
                out.push(IoSlice::new(body));
            }
            from = *at;
        }
        if let Some(b) = self.bytes.get(from..).filter(|b| !b.is_empty()) {
            out.push(IoSlice::new(b));
        }
    }

    /// Everything in wire order, copied to the end of `out` (a transport without vectored
    /// writes).
    pub fn copy_into(&self, out: &mut Vec<u8>) {
        let mut slices = Vec::new();
        self.slices(&mut slices);
        out.reserve(self.len());
        for s in slices {
            out.extend_from_slice(&s);
        }
    }

    /// Everything in wire order, in one buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.copy_into(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_come_between_the_bytes_at_their_places_from_their_own_memory() {
        let mut s = Spliced::default();
        let (a, b) = (Bytes::from(vec![1u8; 3]), Bytes::from(vec![2u8; 2]));
        let (bytes, bodies) = s.parts();
        bytes.extend_from_slice(b"xy");
        bodies.splice(bytes.len(), &a);
        bodies.splice(bytes.len(), &Bytes::new());
        bytes.push(b'z');
        bodies.splice(bytes.len(), &b);
        assert_eq!(s.to_vec(), b"xy\x01\x01\x01z\x02\x02");
        assert_eq!(s.len(), 8);
        let mut slices = Vec::new();
        s.slices(&mut slices);
        assert_eq!(slices.len(), 4, "the empty body is left out");
        assert_eq!(slices[1].as_ptr(), a.as_ptr());
        drop(slices);
        s.clear();
        assert!(s.is_empty() && s.bodies.at.is_empty());
        assert!(s.capacity() >= 3);
    }
}
