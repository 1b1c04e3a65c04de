//! The checkpoint's cursor section (version 2 on, after the deduplication section): the last
//! committed value of each cursor key (the commit tail of `wal::record::layout`), by key, and
//! (version 3) the sequence number of the commit that set it.
//!
//! `n_cursors u32`, then per cursor, keys strictly increasing: `key_len u32 | key (UTF-8) |
//! value_len u32 | value`, within the commit record's limits, then (version 3) `commit_seq
//! u64`. Recovery lets a replayed commit's cursor replace the image's only when its commit
//! came later: with several data directories a commit replayed after its directory's
//! position can be older than one the image holds (docs/recovery.md, "Sink cursors").

use super::{CheckpointError, Reader};
use crate::wal::record::{CURSOR_KEY_BYTES_MAX, CURSOR_VALUE_BYTES_MAX};

/// Most cursors a checkpoint holds.
pub const CURSORS_MAX: usize = 1 << 16;

/// A cursor as a checkpoint holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SavedCursor {
    /// The cursor's key (a sink's name).
    pub key: String,
    /// Its last committed value.
    pub value: Vec<u8>,
    /// The sequence number of the commit record that set it (0 when read from version 2).
    pub commit_seq: u64,
}

/// Bytes of the section.
pub fn encoded_len(cursors: &[SavedCursor]) -> usize {
    4 + cursors
        .iter()
        .map(|c| 16 + c.key.len() + c.value.len())
        .sum::<usize>()
}

/// Asserts what [`decode`] checks.
pub(super) fn assert_encodable(cursors: &[SavedCursor]) {
    assert!(cursors.len() <= CURSORS_MAX, "too many cursors");
    assert!(
        cursors.windows(2).all(|w| w[0].key < w[1].key),
        "cursor keys not strictly increasing"
    );
    for c in cursors {
        assert!(
            c.key.len() <= CURSOR_KEY_BYTES_MAX && c.value.len() <= CURSOR_VALUE_BYTES_MAX,
            "cursor {:?} beyond the limits",
            c.key
        );
    }
}

/// Appends the section.
pub(super) fn encode(cursors: &[SavedCursor], b: &mut Vec<u8>) {
    b.extend_from_slice(&super::count_u32(cursors.len()).to_le_bytes());
    for c in cursors {
        b.extend_from_slice(&super::count_u32(c.key.len()).to_le_bytes());
        b.extend_from_slice(c.key.as_bytes());
        b.extend_from_slice(&super::count_u32(c.value.len()).to_le_bytes());
        b.extend_from_slice(&c.value);
        b.extend_from_slice(&c.commit_seq.to_le_bytes());
    }
}

/// Reads the section (at most [`CURSORS_MAX`] cursors: the loop's bound); `with_seq`: each
/// ends with its commit's sequence number (version 3).
pub(super) fn decode(
    r: &mut Reader<'_>,
    with_seq: bool,
) -> Result<Vec<SavedCursor>, CheckpointError> {
    let n = r.count(CURSORS_MAX, "too many cursors")?;
    let mut out: Vec<SavedCursor> = Vec::with_capacity(n.min(1 << 8));
    for _ in 0..n {
        let klen = r.count(CURSOR_KEY_BYTES_MAX, "cursor key too long")?;
        let key = std::str::from_utf8(r.take(klen)?)
            .map_err(|_| CheckpointError::Malformed("cursor key is not UTF-8"))?
            .to_owned();
        if out.last().is_some_and(|last| last.key >= key) {
            return Err(CheckpointError::Malformed("cursor keys are not sorted"));
        }
        let vlen = r.count(CURSOR_VALUE_BYTES_MAX, "cursor value too long")?;
        let value = r.take(vlen)?.to_vec();
        let commit_seq = if with_seq { r.u64()? } else { 0 };
        out.push(SavedCursor {
            key,
            value,
            commit_seq,
        });
    }
    Ok(out)
}
