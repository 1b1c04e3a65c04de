//! Fuzz body: the acknowledged-end record (`wal::acked`, docs/format.md). Decoding never
//! panics; a decoded record re-encodes to the same bytes. When the first byte is odd, the
//! trailing CRC is fixed up first so the entry checks are reached.

use sluice_core::internals::wal::acked::{decode, encode};

/// Rewrites the trailing CRC of a record to match its bytes (the record ends in a CRC32 of
/// everything before it, as a checkpoint image does).
pub use super::checkpoint_decode::fix_checkpoint_crc as fix_acked_crc;

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut bytes = rest.to_vec();
    if mode & 1 == 1 {
        fix_acked_crc(&mut bytes);
    }
    if let Ok(ends) = decode(&bytes) {
        assert_eq!(encode(&ends), bytes, "re-encoding changed the record");
    }
}
