//! The seal block: 160 bytes after a sealed (version-3) segment's 32-byte header, naming the
//! user key that wraps the segment's data key, the segment's nonce prefix and the wrapped data
//! key. Pure codec; the wrapping itself is [`Keyring`](super::Keyring)'s.
//!
//! ```text
//! offset size field
//! 0      4    magic        "SLSB"
//! 4      1    cipher       1: records sealed with AES-256-GCM
//! 5      1    wrap cipher  1: data key wrapped with AES-128-GCM, 2: with AES-256-GCM
//! 6      1    alias length 1..=64
//! 7      1    reserved     0
//! 8      64   alias        the user key's alias, zero padded
//! 72     4    prefix       the segment's nonce prefix (random)
//! 76     12   wrap nonce   (random)
//! 88     48   wrapped key  the 32-byte data key, encrypted, and its 16-byte tag
//! 136    16   channel      the channel's id (random, the same in all its segments)
//! 152    4    reserved     0
//! 156    4    crc32        of bytes 0..156
//! ```

use std::ops::Range;

use byteorder::{ByteOrder, LittleEndian as LE};

use super::error::SealError;
use super::frame::PREFIX_BYTES;
use crate::wal::segment::SEGMENT_HEADER_BYTES;

/// Bytes of a seal block.
pub const SEAL_BLOCK_BYTES: usize = 160;
/// Where a sealed segment's records start: after its header and seal block.
pub const SEALED_RECORDS_START: u64 = SEGMENT_HEADER_BYTES + SEAL_BLOCK_BYTES as u64;
/// First bytes of a seal block.
pub const SEAL_BLOCK_MAGIC: [u8; 4] = *b"SLSB";
/// The record cipher byte of AES-256-GCM.
pub(super) const CIPHER_AES_256_GCM: u8 = 1;
/// The longest alias a seal block holds.
pub(super) const ALIAS_BYTES_MAX: usize = 64;

const MAGIC_AT: Range<usize> = 0..4;
const CIPHER_AT: usize = 4;
const WRAP_CIPHER_AT: usize = 5;
const ALIAS_LEN_AT: usize = 6;
const RESERVED_AT: usize = 7;
const ALIAS_AT: Range<usize> = 8..72;
const PREFIX_AT: Range<usize> = 72..76;
const WRAP_NONCE_AT: Range<usize> = 76..88;
const WRAPPED_AT: Range<usize> = 88..136;
/// The channel's id.
pub(super) const CHANNEL_AT: Range<usize> = 136..152;
const PAD_AT: Range<usize> = 152..156;
const CRC_AT: Range<usize> = 156..160;
/// The bytes the wrap binds as associated data (with the segment header's first 28).
pub(super) const BOUND_AT: Range<usize> = 0..WRAP_NONCE_AT.start;

const _: () = {
    assert!(MAGIC_AT.end == CIPHER_AT && CIPHER_AT + 1 == WRAP_CIPHER_AT);
    assert!(WRAP_CIPHER_AT + 1 == ALIAS_LEN_AT && ALIAS_LEN_AT + 1 == RESERVED_AT);
    assert!(RESERVED_AT + 1 == ALIAS_AT.start);
    assert!(ALIAS_AT.end - ALIAS_AT.start == ALIAS_BYTES_MAX);
    assert!(ALIAS_AT.end == PREFIX_AT.start && PREFIX_AT.end - PREFIX_AT.start == PREFIX_BYTES);
    assert!(PREFIX_AT.end == WRAP_NONCE_AT.start && WRAP_NONCE_AT.end == WRAPPED_AT.start);
    assert!(WRAPPED_AT.end == CHANNEL_AT.start && CHANNEL_AT.end == PAD_AT.start);
    assert!(PAD_AT.end == CRC_AT.start);
    assert!(CRC_AT.end == SEAL_BLOCK_BYTES);
};

/// A decoded seal block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealBlock {
    /// The alias of the user key that wraps the data key.
    pub alias: String,
    /// The wrap cipher byte (1: AES-128-GCM, 2: AES-256-GCM).
    pub wrap_cipher: u8,
    /// The segment's nonce prefix.
    pub prefix: [u8; PREFIX_BYTES],
    /// The nonce of the wrap.
    pub wrap_nonce: [u8; 12],
    /// The wrapped data key and its tag.
    pub wrapped: [u8; 48],
    /// The id of the channel the segment belongs to (bound by the wrap).
    pub channel: [u8; 16],
}

impl SealBlock {
    /// The block's bytes (the alias is at most [`ALIAS_BYTES_MAX`] bytes: asserted, the
    /// keyring refuses longer ones).
    pub fn encode(&self) -> [u8; SEAL_BLOCK_BYTES] {
        let alias = self.alias.as_bytes();
        assert!(
            (1..=ALIAS_BYTES_MAX).contains(&alias.len()),
            "alias of {} bytes",
            alias.len()
        );
        let mut b = [0u8; SEAL_BLOCK_BYTES];
        b[MAGIC_AT].copy_from_slice(&SEAL_BLOCK_MAGIC);
        b[CIPHER_AT] = CIPHER_AES_256_GCM;
        b[WRAP_CIPHER_AT] = self.wrap_cipher;
        b[ALIAS_LEN_AT] = alias.len() as u8;
        b[ALIAS_AT.start..ALIAS_AT.start + alias.len()].copy_from_slice(alias);
        b[PREFIX_AT].copy_from_slice(&self.prefix);
        b[WRAP_NONCE_AT].copy_from_slice(&self.wrap_nonce);
        b[WRAPPED_AT].copy_from_slice(&self.wrapped);
        b[CHANNEL_AT].copy_from_slice(&self.channel);
        let crc = crc32fast::hash(&b[..CRC_AT.start]);
        LE::write_u32(&mut b[CRC_AT], crc);
        b
    }

    /// Decodes the seal block of `segment`, checking its magic, CRC, ciphers and alias.
    pub fn decode(b: &[u8], segment: u32) -> Result<SealBlock, SealError> {
        let bad = |what: &str| SealError::BadBlock {
            segment,
            what: what.to_owned(),
        };
        if b.len() < SEAL_BLOCK_BYTES {
            return Err(bad(&format!("{} bytes of {SEAL_BLOCK_BYTES}", b.len())));
        }
        if b[MAGIC_AT] != SEAL_BLOCK_MAGIC {
            return Err(bad("bad magic"));
        }
        if crc32fast::hash(&b[..CRC_AT.start]) != LE::read_u32(&b[CRC_AT]) {
            return Err(bad("checksum mismatch"));
        }
        if b[CIPHER_AT] != CIPHER_AES_256_GCM {
            return Err(bad(&format!("unknown record cipher {}", b[CIPHER_AT])));
        }
        if !matches!(b[WRAP_CIPHER_AT], 1 | 2) {
            return Err(bad(&format!("unknown wrap cipher {}", b[WRAP_CIPHER_AT])));
        }
        let n = usize::from(b[ALIAS_LEN_AT]);
        if !(1..=ALIAS_BYTES_MAX).contains(&n) || b[RESERVED_AT] != 0 {
            return Err(bad("bad alias length"));
        }
        let Ok(alias) = std::str::from_utf8(&b[ALIAS_AT.start..ALIAS_AT.start + n]) else {
            return Err(bad("the alias is not UTF-8"));
        };
        let mut block = SealBlock {
            alias: alias.to_owned(),
            wrap_cipher: b[WRAP_CIPHER_AT],
            prefix: [0; PREFIX_BYTES],
            wrap_nonce: [0; 12],
            wrapped: [0; 48],
            channel: [0; 16],
        };
        block.channel.copy_from_slice(&b[CHANNEL_AT]);
        block.prefix.copy_from_slice(&b[PREFIX_AT]);
        block.wrap_nonce.copy_from_slice(&b[WRAP_NONCE_AT]);
        block.wrapped.copy_from_slice(&b[WRAPPED_AT]);
        Ok(block)
    }
}

/// Reads and decodes the seal block of sealed segment `segment` from `file`.
pub fn read_seal_block(file: &dyn crate::io::FsFile, segment: u32) -> Result<SealBlock, SealError> {
    let mut b = [0u8; SEAL_BLOCK_BYTES];
    if let Err(e) = file.read_exact_at(&mut b, SEGMENT_HEADER_BYTES) {
        return Err(SealError::BadBlock {
            segment,
            what: format!("cannot read it: {e}"),
        });
    }
    SealBlock::decode(&b, segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> SealBlock {
        SealBlock {
            alias: "key-0".into(),
            wrap_cipher: 2,
            prefix: [1, 2, 3, 4],
            wrap_nonce: [5; 12],
            wrapped: [6; 48],
            channel: [8; 16],
        }
    }

    #[test]
    fn a_block_round_trips_and_pins_its_bytes() {
        let b = block().encode();
        assert_eq!(&b[..8], b"SLSB\x01\x02\x05\x00");
        assert_eq!(&b[8..13], b"key-0");
        assert_eq!(&b[72..76], &[1, 2, 3, 4]);
        assert_eq!(SealBlock::decode(&b, 7).unwrap(), block());
    }

    #[test]
    fn every_damaged_byte_is_refused_naming_the_segment() {
        let good = block().encode();
        for i in 0..SEAL_BLOCK_BYTES {
            let mut b = good;
            b[i] ^= 0x40;
            let e = SealBlock::decode(&b, 7).unwrap_err();
            assert!(e.to_string().contains("segment 7"), "{e}");
        }
        assert!(SealBlock::decode(&good[..100], 7).is_err());
    }
}
