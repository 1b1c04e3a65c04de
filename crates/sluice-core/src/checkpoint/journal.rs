//! The deletion journal: the set of segments a checkpoint is about to delete, written durably
//! before the first of them is removed, so that a crash half-way through is finished on the
//! next open instead of leaving some of a set whose members depend on each other (layout in
//! `docs/format.md` "Deletion journal", as the `JOURNAL_*` constants; reasoning in
//! `docs/recovery.md`).

use std::ops::Range;
use std::path::{Path, PathBuf};

use byteorder::{ByteOrder, LittleEndian as LE};

use crate::io::{read_file, write_file_atomic, Fs};

/// File name of the journal inside the checkpoint directory.
pub const JOURNAL_FILE_NAME: &str = "deleting";
/// First bytes of a journal.
pub const JOURNAL_MAGIC: [u8; 8] = *b"SLUICEDL";
/// The journal format this code writes and reads.
pub const JOURNAL_VERSION: u32 = 1;

/// The journal file of a checkpoint directory.
pub fn journal_path(checkpoint_dir: &Path) -> PathBuf {
    checkpoint_dir.join(JOURNAL_FILE_NAME)
}

/// Journal bytes 0..8: [`JOURNAL_MAGIC`].
pub const JOURNAL_MAGIC_AT: Range<usize> = 0..8;
/// Journal bytes 8..12: [`JOURNAL_VERSION`].
pub const JOURNAL_VERSION_AT: Range<usize> = 8..12;
/// Journal bytes 12..16: the number of items that follow.
pub const JOURNAL_COUNT_AT: Range<usize> = 12..16;
/// Bytes before the first item.
pub const JOURNAL_FIXED_BYTES: usize = 16;
/// Item bytes 0..4: the data directory's index in `dataDirs`.
pub const JOURNAL_ITEM_DIR_AT: Range<usize> = 0..4;
/// Item bytes 4..8: the segment id.
pub const JOURNAL_ITEM_SEGMENT_AT: Range<usize> = 4..8;
/// Bytes of one item.
pub const JOURNAL_ITEM_BYTES: usize = 8;
/// The trailing CRC32 of every byte before it.
pub const JOURNAL_CRC_BYTES: usize = 4;
/// Most items a journal holds: one per segment of a channel, far below `u32::MAX`.
pub const JOURNAL_ITEMS_MAX: usize = 1 << 24;

const _: () = {
    assert!(JOURNAL_MAGIC_AT.start == 0);
    assert!(JOURNAL_MAGIC_AT.end - JOURNAL_MAGIC_AT.start == JOURNAL_MAGIC.len());
    assert!(JOURNAL_MAGIC_AT.end == JOURNAL_VERSION_AT.start);
    assert!(JOURNAL_VERSION_AT.end == JOURNAL_COUNT_AT.start);
    assert!(JOURNAL_COUNT_AT.end == JOURNAL_FIXED_BYTES);
    assert!(JOURNAL_ITEM_DIR_AT.start == 0);
    assert!(JOURNAL_ITEM_DIR_AT.end == JOURNAL_ITEM_SEGMENT_AT.start);
    assert!(JOURNAL_ITEM_SEGMENT_AT.end == JOURNAL_ITEM_BYTES);
    assert!(JOURNAL_ITEMS_MAX <= u32::MAX as usize);
};

/// Encodes a set of (data-dir index, segment id); asserts that it decodes back to `segments`.
pub fn encode(segments: &[(u32, u32)]) -> Vec<u8> {
    assert!(
        segments.len() <= JOURNAL_ITEMS_MAX,
        "a journal of {} segments",
        segments.len()
    );
    let size = JOURNAL_FIXED_BYTES + segments.len() * JOURNAL_ITEM_BYTES + JOURNAL_CRC_BYTES;
    let mut b = Vec::with_capacity(size);
    b.extend_from_slice(&JOURNAL_MAGIC);
    b.extend_from_slice(&JOURNAL_VERSION.to_le_bytes());
    // In range: at most JOURNAL_ITEMS_MAX, asserted above.
    b.extend_from_slice(&(segments.len() as u32).to_le_bytes());
    for (dir, id) in segments {
        b.extend_from_slice(&dir.to_le_bytes());
        b.extend_from_slice(&id.to_le_bytes());
    }
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(b.len(), size);
    assert_eq!(decode(&b).as_deref(), Ok(segments));
    b
}

/// Why bytes are not a journal.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    /// Damaged in any way.
    #[error("deletion journal damaged: {0}")]
    Damaged(&'static str),
}

/// Decodes a journal.
pub fn decode(b: &[u8]) -> Result<Vec<(u32, u32)>, JournalError> {
    if b.len() < JOURNAL_FIXED_BYTES + JOURNAL_CRC_BYTES {
        return Err(JournalError::Damaged("truncated"));
    }
    if b[JOURNAL_MAGIC_AT] != JOURNAL_MAGIC {
        return Err(JournalError::Damaged("bad magic"));
    }
    let (body, crc) = b.split_at(b.len() - JOURNAL_CRC_BYTES);
    if LE::read_u32(crc) != crc32fast::hash(body) {
        return Err(JournalError::Damaged("checksum mismatch"));
    }
    if LE::read_u32(&body[JOURNAL_VERSION_AT]) != JOURNAL_VERSION {
        return Err(JournalError::Damaged("unsupported version"));
    }
    let n = usize::try_from(LE::read_u32(&body[JOURNAL_COUNT_AT]))
        .map_err(|_| JournalError::Damaged("count out of range"))?;
    let rest = &body[JOURNAL_FIXED_BYTES..];
    if n.checked_mul(JOURNAL_ITEM_BYTES) != Some(rest.len()) {
        return Err(JournalError::Damaged("count does not match the length"));
    }
    Ok(rest
        .chunks_exact(JOURNAL_ITEM_BYTES)
        .map(|c| {
            (
                LE::read_u32(&c[JOURNAL_ITEM_DIR_AT]),
                LE::read_u32(&c[JOURNAL_ITEM_SEGMENT_AT]),
            )
        })
        .collect())
}

/// Writes the journal atomically.
pub fn write(fs: &dyn Fs, checkpoint_dir: &Path, segments: &[(u32, u32)]) -> std::io::Result<()> {
    write_file_atomic(fs, &journal_path(checkpoint_dir), &encode(segments))
}

/// What the checkpoint directory holds in the way of a journal.
#[derive(Debug)]
pub enum Journal {
    /// No deletion was under way.
    Absent,
    /// These (data-dir index, segment id) were being deleted.
    Listed(Vec<(u32, u32)>),
    /// A journal that does not decode.
    Damaged(JournalError),
}

/// Reads the journal.
pub fn read(fs: &dyn Fs, checkpoint_dir: &Path) -> std::io::Result<Journal> {
    let path = journal_path(checkpoint_dir);
    if !fs.exists(&path) {
        return Ok(Journal::Absent);
    }
    Ok(match decode(&read_file(fs, &path)?) {
        Ok(listed) => Journal::Listed(listed),
        Err(e) => Journal::Damaged(e),
    })
}

/// Removes the journal once every segment in it is gone.
pub fn clear(fs: &dyn Fs, checkpoint_dir: &Path) -> std::io::Result<()> {
    match fs.remove_file(&journal_path(checkpoint_dir)) {
        Ok(()) => fs.sync_dir(checkpoint_dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_round_trips_and_rejects_every_flip_and_truncation() {
        let set = vec![(0, 3), (1, 4), (0, 9)];
        let b = encode(&set);
        assert_eq!(b.len(), 16 + 3 * 8 + 4);
        assert_eq!(decode(&b).unwrap(), set);
        for n in 0..b.len() {
            assert!(decode(&b[..n]).is_err());
        }
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 4;
            assert!(decode(&c).is_err(), "flip at {i}");
        }
    }
}
