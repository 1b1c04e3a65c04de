//! The deletion journal: the set of segments a checkpoint is about to delete, written durably
//! before the first of them is removed, so that a crash half-way through is finished on the
//! next open instead of leaving some of a set whose members depend on each other (layout in
//! `docs/format.md`, reasoning in `docs/recovery.md`).

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

/// Encodes a set of (data-dir index, segment id).
pub fn encode(segments: &[(u32, u32)]) -> Vec<u8> {
    let mut b = Vec::with_capacity(20 + segments.len() * 8);
    b.extend_from_slice(&JOURNAL_MAGIC);
    b.extend_from_slice(&JOURNAL_VERSION.to_le_bytes());
    b.extend_from_slice(&(segments.len() as u32).to_le_bytes());
    for (dir, id) in segments {
        b.extend_from_slice(&dir.to_le_bytes());
        b.extend_from_slice(&id.to_le_bytes());
    }
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_le_bytes());
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
    if b.len() < 20 {
        return Err(JournalError::Damaged("truncated"));
    }
    if b[0..8] != JOURNAL_MAGIC {
        return Err(JournalError::Damaged("bad magic"));
    }
    let (body, crc) = b.split_at(b.len() - 4);
    if LE::read_u32(crc) != crc32fast::hash(body) {
        return Err(JournalError::Damaged("checksum mismatch"));
    }
    if LE::read_u32(&body[8..12]) != JOURNAL_VERSION {
        return Err(JournalError::Damaged("unsupported version"));
    }
    let n = LE::read_u32(&body[12..16]) as usize;
    let rest = &body[16..];
    if n.checked_mul(8) != Some(rest.len()) {
        return Err(JournalError::Damaged("count does not match the length"));
    }
    Ok(rest
        .chunks_exact(8)
        .map(|c| (LE::read_u32(&c[0..4]), LE::read_u32(&c[4..8])))
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
