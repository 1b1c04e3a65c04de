//! The checkpoint's cursor section (version 2, after the deduplication section): the last
//! committed value of each cursor key (the commit tail of `wal::record::layout`), by key.
//!
//! `n_cursors u32`, then per cursor, keys strictly increasing: `key_len u32 | key (UTF-8) |
//! value_len u32 | value`, within the commit record's limits.

use super::{CheckpointError, Reader};
use crate::wal::record::{CURSOR_KEY_BYTES_MAX, CURSOR_VALUE_BYTES_MAX};

/// Most cursors a checkpoint holds.
pub const CURSORS_MAX: usize = 1 << 16;

/// Bytes of the section.
pub fn encoded_len(cursors: &[(String, Vec<u8>)]) -> usize {
    4 + cursors
        .iter()
        .map(|(k, v)| 8 + k.len() + v.len())
        .sum::<usize>()
}

/// Asserts what [`decode`] checks.
pub(super) fn assert_encodable(cursors: &[(String, Vec<u8>)]) {
    assert!(cursors.len() <= CURSORS_MAX, "too many cursors");
    assert!(
        cursors.windows(2).all(|w| w[0].0 < w[1].0),
        "cursor keys not strictly increasing"
    );
    for (k, v) in cursors {
        assert!(
            k.len() <= CURSOR_KEY_BYTES_MAX && v.len() <= CURSOR_VALUE_BYTES_MAX,
            "cursor {k:?} beyond the limits"
        );
    }
}

/// Appends the section.
pub(super) fn encode(cursors: &[(String, Vec<u8>)], b: &mut Vec<u8>) {
    b.extend_from_slice(&super::count_u32(cursors.len()).to_le_bytes());
    for (k, v) in cursors {
        b.extend_from_slice(&super::count_u32(k.len()).to_le_bytes());
        b.extend_from_slice(k.as_bytes());
        b.extend_from_slice(&super::count_u32(v.len()).to_le_bytes());
        b.extend_from_slice(v);
    }
}

/// Reads the section (at most [`CURSORS_MAX`] cursors: the loop's bound).
pub(super) fn decode(r: &mut Reader<'_>) -> Result<Vec<(String, Vec<u8>)>, CheckpointError> {
    let n = r.count(CURSORS_MAX, "too many cursors")?;
    let mut out: Vec<(String, Vec<u8>)> = Vec::with_capacity(n.min(1 << 8));
    for _ in 0..n {
        let klen = r.count(CURSOR_KEY_BYTES_MAX, "cursor key too long")?;
        let key = std::str::from_utf8(r.take(klen)?)
            .map_err(|_| CheckpointError::Malformed("cursor key is not UTF-8"))?
            .to_owned();
        if out.last().is_some_and(|(last, _)| *last >= key) {
            return Err(CheckpointError::Malformed("cursor keys are not sorted"));
        }
        let vlen = r.count(CURSOR_VALUE_BYTES_MAX, "cursor value too long")?;
        out.push((key, r.take(vlen)?.to_vec()));
    }
    Ok(out)
}
