//! What an append carries: one transaction's records, which the writer either takes encoded
//! ahead (buffered segments: encoded before the writer's lock, written with one `pwrite`) or
//! has encoded straight into a direct segment's aligned tail under its lock, with the exact
//! salt of the segment they land in. The second saves a copy of every body: encoded into a
//! `Vec` first, a 1 KiB event was copied twice more before its direct write (≈ 10 % of a
//! direct avro → file receiver's samples, docs/performance-findings.md).

use crate::wal::record::{first_frame_salted_with, resalt, RecordBuf};
use crate::wal::seal::SegmentKey;

/// One transaction's records, as a [`DirWriter`](super::DirWriter) appends them.
pub trait Records {
    /// Bytes the records take, exactly.
    fn len(&self) -> u64;
    /// Whether there are none (an append of nothing is a bug).
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Encodes them (ahead, salted with a guess of the salt; the first call encodes and later
    /// calls give the same bytes) and returns the bytes and their salt. Whoever re-salts the
    /// bytes updates the salt with them ([`resalt_for`]), so that a retry in another
    /// directory (after ENOSPC mid-write) knows what it holds.
    fn encoded(&mut self) -> (&mut [u8], &mut u32);
    /// Appends them to `out` salted with `salt`: encoded there, or copied from the bytes
    /// [`Records::encoded`] made (re-salted when their salt is another).
    fn encode_into(&mut self, out: &mut dyn RecordBuf, salt: u32);
    /// Appends them to `out` sealed with `key`, the first landing at `offset` of the segment
    /// (sealed segments; [`Records::len`] then counts the sealed bytes). The plain bytes of
    /// [`Records::encoded`] stay as they were, for a retry elsewhere.
    fn seal_into(&mut self, out: &mut dyn RecordBuf, key: &SegmentKey, offset: u64) {
        let (bytes, _) = self.encoded();
        key.seal_frames(bytes, out, offset);
    }
}

/// Records that were encoded before the append (the writer's tests).
#[cfg(test)]
#[derive(Debug)]
pub struct Encoded<'a> {
    /// The records.
    pub bytes: &'a mut [u8],
    /// The salt their CRCs were computed with.
    pub salt: u32,
}

#[cfg(test)]
impl Records for Encoded<'_> {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn encoded(&mut self) -> (&mut [u8], &mut u32) {
        (self.bytes, &mut self.salt)
    }

    fn encode_into(&mut self, out: &mut dyn RecordBuf, salt: u32) {
        copy_salted(self.bytes, &mut self.salt, out, salt);
    }
}

/// Re-salts records encoded with `*from` for `salt` when the two differ, and remembers it.
pub fn resalt_for(bytes: &mut [u8], from: &mut u32, salt: u32) {
    if *from != salt {
        resalt(bytes, salt);
        *from = salt;
    }
}

/// Copies records encoded with `*from` into `out` salted with `salt` ([`resalt_for`] first).
pub fn copy_salted(bytes: &mut [u8], from: &mut u32, out: &mut dyn RecordBuf, salt: u32) {
    resalt_for(bytes, from, salt);
    out.put(bytes);
}

/// Whether the first frame of `bytes`, appended at `offset` of a segment salted with `salt`
/// (and sealed with `key`), reads back (for assertions).
pub fn first_frame_checks_out(
    bytes: &[u8],
    salt: u32,
    key: Option<&SegmentKey>,
    offset: u64,
) -> bool {
    match key {
        None => first_frame_salted_with(bytes, salt),
        Some(key) => key.open_frame(bytes, offset).is_ok(),
    }
}
