//! [`SegmentKey`]: one sealed segment's data key, which seals records as they are appended
//! and opens them as they are read.
//!
//! A sealed frame is the plain frame (`crc | len | kind | reserved | txid | seq | body`) with
//! the body replaced by `counter u64 | ciphertext | tag [16]`: `len` counts the 24 bytes more,
//! and the CRC (salted with the segment id) covers the sealed bytes, so torn writes and the
//! end of the records read as before. The nonce is the segment's 4-byte random prefix and the
//! counter, which a segment's key hands out once each and never again (a segment is only ever
//! appended to by the writer that started it, and never after a restart). The associated data
//! is the segment id, the record's offset in it and the frame header (len, kind, reserved,
//! txid, seq): a record moved to another place, another segment or another transaction fails
//! its tag.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use byteorder::{ByteOrder, LittleEndian as LE};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

use super::error::SealError;
use crate::wal::record::{
    frame_len, record_crc, DecodeError, RecordBuf, FRAME_CRC_AT, FRAME_LEN_AT, RECORD_HEADER_BYTES,
    SEALED_FRAME_EXTRA,
};

/// Bytes of the nonce counter stored before a sealed body.
pub const SEAL_COUNTER_BYTES: usize = 8;
/// Bytes of the authentication tag after a sealed body.
pub const SEAL_TAG_BYTES: usize = 16;
/// Bytes a sealed frame takes beyond its plain frame.
pub const SEAL_OVERHEAD: usize = SEAL_COUNTER_BYTES + SEAL_TAG_BYTES;
/// Bytes of a data key (AES-256).
pub(super) const DATA_KEY_BYTES: usize = 32;
/// Bytes of the nonce prefix.
pub(super) const PREFIX_BYTES: usize = 4;
/// Associated data: segment id, offset, frame bytes `FRAME_LEN_AT.start..RECORD_HEADER_BYTES`.
const AAD_BYTES: usize = 4 + 8 + (RECORD_HEADER_BYTES - FRAME_LEN_AT.start);

const _: () = {
    assert!(PREFIX_BYTES + SEAL_COUNTER_BYTES == NONCE_LEN);
    assert!(SEAL_OVERHEAD == SEALED_FRAME_EXTRA);
};

/// One sealed segment's data key.
pub struct SegmentKey {
    aead: LessSafeKey,
    segment: u32,
    prefix: [u8; PREFIX_BYTES],
    /// The next nonce counter to hand out.
    next: AtomicU64,
    alias: String,
}

impl fmt::Debug for SegmentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SegmentKey")
            .field("segment", &self.segment)
            .field("alias", &self.alias)
            .finish_non_exhaustive()
    }
}

impl SegmentKey {
    /// The key of `segment` from its data key bytes and nonce prefix, wrapped under `alias`.
    pub(super) fn new(
        data_key: &[u8],
        segment: u32,
        prefix: [u8; PREFIX_BYTES],
        alias: &str,
    ) -> Result<Self, SealError> {
        let unbound = UnboundKey::new(&AES_256_GCM, data_key).map_err(|_| SealError::BadBlock {
            segment,
            what: format!("a data key of {} bytes", data_key.len()),
        })?;
        Ok(SegmentKey {
            aead: LessSafeKey::new(unbound),
            segment,
            prefix,
            next: AtomicU64::new(0),
            alias: alias.to_owned(),
        })
    }

    /// The segment this key seals.
    pub fn segment(&self) -> u32 {
        self.segment
    }

    /// The alias of the user key its data key is wrapped with.
    pub fn alias(&self) -> &str {
        &self.alias
    }

    /// The nonce counters handed out so far (records sealed).
    pub fn sealed(&self) -> u64 {
        self.next.load(Ordering::Relaxed)
    }

    fn nonce(&self, counter: u64) -> Nonce {
        let mut n = [0u8; NONCE_LEN];
        n[..PREFIX_BYTES].copy_from_slice(&self.prefix);
        LE::write_u64(&mut n[PREFIX_BYTES..], counter);
        Nonce::assume_unique_for_key(n)
    }

    fn aad(&self, offset: u64, frame: &[u8]) -> [u8; AAD_BYTES] {
        let mut a = [0u8; AAD_BYTES];
        LE::write_u32(&mut a[..4], self.segment);
        LE::write_u64(&mut a[4..12], offset);
        a[12..].copy_from_slice(&frame[FRAME_LEN_AT.start..RECORD_HEADER_BYTES]);
        a
    }

    /// Appends the whole plain frames `plain` to `out`, sealed, the first landing at byte
    /// `offset` of the segment. Returns the bytes appended (`plain.len()` plus
    /// [`SEAL_OVERHEAD`] per frame). Panics on bytes that are not whole frames (a bug).
    pub fn seal_frames(&self, plain: &[u8], out: &mut dyn RecordBuf, offset: u64) -> usize {
        let first = out.end();
        let mut pos = 0;
        // Each step moves past one frame of at least RECORD_HEADER_BYTES bytes.
        while pos < plain.len() {
            let Ok(total) = frame_len(&plain[pos..]) else {
                panic!("sealing bytes that are not whole frames (at {pos})");
            };
            assert!(pos + total <= plain.len(), "a frame runs past the bytes");
            let frame = &plain[pos..pos + total];
            let start = out.end();
            out.put(&frame[..RECORD_HEADER_BYTES]);
            out.put(&[0u8; SEAL_COUNTER_BYTES]);
            out.put(&frame[RECORD_HEADER_BYTES..]);
            out.put(&[0u8; SEAL_TAG_BYTES]);
            let sealed_total = total + SEAL_OVERHEAD;
            let buf = &mut out.held_mut()[start..start + sealed_total];
            // Fits: FRAME_BYTES_MAX < u32::MAX (asserted with the layout).
            LE::write_u32(
                &mut buf[FRAME_LEN_AT],
                (sealed_total - FRAME_LEN_AT.end) as u32,
            );
            pos += total;
        }
        let end = out.end();
        self.seal_in_place(&mut out.held_mut()[first..end], offset);
        end - first
    }

    /// Seals in place whole frames laid out for sealing (`Framing { sealed: true }`: room
    /// for the counter and the tag, `len` counting them), the first at byte `offset` of the
    /// segment: hands each its nonce counter, encrypts its body, writes its tag and its CRC.
    /// Panics on bytes that are not such frames (a bug).
    pub fn seal_in_place(&self, bytes: &mut [u8], offset: u64) {
        let mut pos = 0;
        // Each step moves past one frame of at least RECORD_HEADER_BYTES bytes.
        while pos < bytes.len() {
            let Ok(total) = frame_len(&bytes[pos..]) else {
                panic!("sealing bytes that are not whole frames (at {pos})");
            };
            assert!(
                pos + total <= bytes.len() && total >= RECORD_HEADER_BYTES + SEAL_OVERHEAD,
                "a frame laid out for sealing runs past the bytes or has no room for its seal"
            );
            let buf = &mut bytes[pos..pos + total];
            let counter = self.next.fetch_add(1, Ordering::Relaxed);
            let body_at = RECORD_HEADER_BYTES + SEAL_COUNTER_BYTES;
            LE::write_u64(&mut buf[RECORD_HEADER_BYTES..body_at], counter);
            let aad = self.aad(offset + pos as u64, buf);
            let tag_at = total - SEAL_TAG_BYTES;
            let Ok(tag) = self.aead.seal_in_place_separate_tag(
                self.nonce(counter),
                Aad::from(aad),
                &mut buf[body_at..tag_at],
            ) else {
                panic!("AES-GCM refused {} bytes", tag_at - body_at);
            };
            buf[tag_at..].copy_from_slice(tag.as_ref());
            let crc = record_crc(self.segment, &buf[FRAME_LEN_AT.start..]);
            LE::write_u32(&mut buf[FRAME_CRC_AT], crc);
            pos += total;
        }
    }

    /// Opens the sealed frame at the start of `bytes`, read at `offset` of the segment: checks
    /// its CRC and its tag and returns the plain frame it was sealed from (its `len` set, its
    /// CRC field left as it was: the tag vouches for it) and the sealed frame's length.
    pub fn open_frame(&self, bytes: &[u8], offset: u64) -> Result<(Vec<u8>, usize), DecodeError> {
        let total = frame_len(bytes)?;
        let Some(frame) = bytes.get(..total) else {
            return Err(DecodeError::Truncated {
                needed: total,
                available: bytes.len(),
            });
        };
        let stored = LE::read_u32(&frame[FRAME_CRC_AT]);
        let computed = record_crc(self.segment, &frame[FRAME_LEN_AT.start..]);
        if stored != computed {
            return Err(DecodeError::Checksum { stored, computed });
        }
        if total < RECORD_HEADER_BYTES + SEAL_OVERHEAD {
            return Err(DecodeError::Malformed(
                "a sealed record without its nonce and tag",
            ));
        }
        let counter_at = RECORD_HEADER_BYTES..RECORD_HEADER_BYTES + SEAL_COUNTER_BYTES;
        let counter = LE::read_u64(&frame[counter_at.clone()]);
        let mut plain = Vec::with_capacity(total - SEAL_COUNTER_BYTES);
        plain.extend_from_slice(&frame[..RECORD_HEADER_BYTES]);
        plain.extend_from_slice(&frame[counter_at.end..]);
        let aad = self.aad(offset, frame);
        let opened = self
            .aead
            .open_in_place(
                self.nonce(counter),
                Aad::from(aad),
                &mut plain[RECORD_HEADER_BYTES..],
            )
            .map(|body| body.len());
        let Ok(body_len) = opened else {
            return Err(DecodeError::Tag);
        };
        plain.truncate(RECORD_HEADER_BYTES + body_len);
        let plain_total = plain.len();
        LE::write_u32(
            &mut plain[FRAME_LEN_AT],
            (plain_total - FRAME_LEN_AT.end) as u32,
        );
        Ok((plain, total))
    }
}

#[cfg(test)]
mod tests;
