//! Sealed segments (format version 3): every record's body encrypted and authenticated with
//! AES-256-GCM (`ring`) under a data key that belongs to its segment alone, that data key
//! wrapped by the user's key (envelope encryption), and the record's place bound in.
//!
//! - [`block`]: the seal block after a version-3 segment's header: the user key's alias, the
//!   segment's nonce prefix and its wrapped data key (layout in docs/format.md, "Sealed
//!   segments").
//! - [`frame`]: sealing and opening one record ([`SegmentKey`]); a sealed frame is the plain
//!   frame with an 8-byte nonce counter before the body and a 16-byte tag after it.
//! - [`keyring`]: the user's keys by alias ([`Keyring`]), which wraps new data keys with the
//!   active one and unwraps any listed one.
//!
//! Readers go through a [`FrameCodec`], which opens a sealed frame into the plain frame it was
//! sealed from and hands that to the record decoder, so every reader decodes one format.

mod block;
mod error;
mod frame;
mod keyring;

use std::sync::Arc;

#[cfg(feature = "internals")]
pub use self::block::SealBlock;
pub use self::block::{read_seal_block, SEALED_RECORDS_START, SEAL_BLOCK_BYTES};
pub use self::error::SealError;
pub use self::frame::SegmentKey;
#[cfg(feature = "internals")]
pub use self::frame::SEAL_OVERHEAD;
pub use self::keyring::Keyring;
pub(crate) use self::keyring::{Unwrapped, Wrap};
use super::record::{
    decode, decode_frame, decode_meta, decode_meta_frame, DecodeError, Record, RecordMeta,
};

/// How the records of one segment are read: their CRC salt, and the segment's key when it is
/// sealed.
#[derive(Clone, Debug)]
pub struct FrameCodec {
    /// The CRC salt of the segment's records.
    pub salt: u32,
    /// The segment's data key (sealed segments only).
    pub key: Option<Arc<SegmentKey>>,
}

impl FrameCodec {
    /// An unsealed segment's records, salted with `salt`.
    pub fn plain(salt: u32) -> Self {
        FrameCodec { salt, key: None }
    }

    /// A sealed segment's records (salted with its id).
    pub fn sealed(key: Arc<SegmentKey>) -> Self {
        FrameCodec {
            salt: key.segment(),
            key: Some(key),
        }
    }

    /// Decodes the record at the start of `bytes`, read at `offset` of the segment; returns it
    /// and its length on disk.
    pub fn decode(&self, bytes: &[u8], offset: u64) -> Result<(Record, usize), DecodeError> {
        match &self.key {
            None => decode(bytes, self.salt),
            Some(key) => {
                let (plain, total) = key.open_frame(bytes, offset)?;
                decode_frame(&plain).map(|(r, _)| (r, total))
            }
        }
    }

    /// [`decode_meta`] of the record at the start of `bytes`, read at `offset`; returns the
    /// metadata and the record's length on disk.
    pub fn decode_meta(
        &self,
        bytes: &[u8],
        offset: u64,
    ) -> Result<(RecordMeta, usize), DecodeError> {
        match &self.key {
            None => decode_meta(bytes, self.salt),
            Some(key) => {
                let (plain, total) = key.open_frame(bytes, offset)?;
                decode_meta_frame(&plain).map(|(m, _)| (m, total))
            }
        }
    }
}
