//! The acknowledged-end record of a data directory (`acked-end`): how long each of the
//! directory's newest segments was known durable and acknowledged. A kill -9 or a power loss
//! cannot shorten an fdatasynced file, so a segment shorter than its recorded end was cut back
//! by an outside actor, and recovery says so instead of taking the shorter file for a crash's
//! tail (docs/recovery.md, "Segments cut back").
//!
//! The group-commit leader refreshes it after an fdatasync at a bounded interval
//! (`ackedEndRefreshInterval`) or size ([`REFRESH_BYTES`]), a roll right after it sealed a
//! segment, the checkpoint and a clean close every time; each write is atomic (temporary file,
//! fsync, rename, directory fsync) and names only bytes an fdatasync has covered.
//!
//! Layout (`ACKED_*_AT`, docs/format.md "Acknowledged-end record"), little-endian: magic
//! `SLUICEAE` (8 bytes), version (u32), count n (u32, 1..=[`ACKED_SEGMENTS_MAX`]), n entries of
//! segment id (u32) and end (u64) with strictly increasing ids, then CRC32 of every byte
//! before it.

use std::io;
use std::ops::Range;
use std::path::Path;

use byteorder::{ByteOrder, LittleEndian as LE};

use super::segment::SEGMENT_HEADER_BYTES;
use crate::io::{read_file, write_file_atomic, Fs};

/// File name of the acknowledged-end record in a data directory.
pub const ACKED_FILE_NAME: &str = "acked-end";
/// First bytes of the record.
pub const ACKED_MAGIC: [u8; 8] = *b"SLUICEAE";
/// The format this code writes and reads.
pub const ACKED_VERSION: u32 = 1;
/// Bytes 0..8: [`ACKED_MAGIC`].
pub const ACKED_MAGIC_AT: Range<usize> = 0..8;
/// Bytes 8..12: [`ACKED_VERSION`].
pub const ACKED_VERSION_AT: Range<usize> = 8..12;
/// Bytes 12..16: the number of entries.
pub const ACKED_COUNT_AT: Range<usize> = 12..16;
/// Bytes of the fixed part before the entries.
pub const ACKED_FIXED_BYTES: usize = 16;
/// Entry bytes 0..4: a segment id of the directory.
pub const ACKED_ENTRY_SEGMENT_AT: Range<usize> = 0..4;
/// Entry bytes 4..12: how many bytes of it were durable and acknowledged.
pub const ACKED_ENTRY_END_AT: Range<usize> = 4..12;
/// Bytes of one entry.
pub const ACKED_ENTRY_BYTES: usize = 12;
/// The trailing CRC32.
pub const ACKED_CRC_BYTES: usize = 4;
/// Segments named at most: the newest ones of the directory.
pub const ACKED_SEGMENTS_MAX: usize = 16;

/// While commits come, a leader refreshes the record once `ackedEndRefreshInterval` (default
/// 1 s) has passed since the last refresh, or sooner once this many acknowledged bytes are not
/// in it (64 MiB). A refresh is an atomic file write (two fsyncs) that the leader's own commit
/// waits for: every 100 ms it cost `sluice bench` (put, B = 100) 12 % of its events/s on a
/// disk whose fsyncs were slow (a few ms, under other load).
pub const REFRESH_BYTES: u64 = 64 << 20;

const _: () = {
    assert!(ACKED_MAGIC_AT.start == 0);
    assert!(ACKED_MAGIC_AT.end - ACKED_MAGIC_AT.start == ACKED_MAGIC.len());
    assert!(ACKED_MAGIC_AT.end == ACKED_VERSION_AT.start);
    assert!(ACKED_VERSION_AT.end == ACKED_COUNT_AT.start);
    assert!(ACKED_COUNT_AT.end == ACKED_FIXED_BYTES);
    assert!(ACKED_ENTRY_SEGMENT_AT.start == 0);
    assert!(ACKED_ENTRY_SEGMENT_AT.end == ACKED_ENTRY_END_AT.start);
    assert!(ACKED_ENTRY_END_AT.end == ACKED_ENTRY_BYTES);
};

/// (segment id, acknowledged end in bytes), strictly increasing ids.
pub type SegmentEnds = Vec<(u32, u64)>;

/// Why bytes are not an acknowledged-end record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AckedError {
    /// Shorter than its fixed part or than its declared entries.
    #[error("acknowledged-end record truncated ({0} bytes)")]
    Truncated(usize),
    /// Wrong magic.
    #[error("not an acknowledged-end record (bad magic)")]
    BadMagic,
    /// Unsupported version.
    #[error("unsupported acknowledged-end record version {0}")]
    BadVersion(u32),
    /// Checksum mismatch.
    #[error("acknowledged-end record checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        /// Stored.
        stored: u32,
        /// Computed.
        computed: u32,
    },
    /// The content is inconsistent.
    #[error("malformed acknowledged-end record: {0}")]
    Malformed(&'static str),
}

/// Checks what [`decode`] checks of the entries.
fn check_entries(ends: &[(u32, u64)]) -> Result<(), &'static str> {
    if ends.is_empty() || ends.len() > ACKED_SEGMENTS_MAX {
        return Err("entry count out of range");
    }
    if ends.iter().any(|(id, _)| *id == 0) {
        return Err("segment id 0");
    }
    if ends.iter().any(|(_, end)| *end < SEGMENT_HEADER_BYTES) {
        return Err("an end inside the segment header");
    }
    if !ends.windows(2).all(|w| w[0].0 < w[1].0) {
        return Err("segment ids not increasing");
    }
    Ok(())
}

/// Encodes a record (asserting what decoding checks: 1..=16 entries, ids above 0 and
/// increasing, ends past the segment header) and asserts that it decodes back.
pub fn encode(ends: &[(u32, u64)]) -> Vec<u8> {
    if let Err(why) = check_entries(ends) {
        panic!("acknowledged-end record not encodable: {why}: {ends:?}");
    }
    let size = ACKED_FIXED_BYTES + ends.len() * ACKED_ENTRY_BYTES + ACKED_CRC_BYTES;
    let mut b = Vec::with_capacity(size);
    b.extend_from_slice(&ACKED_MAGIC);
    b.extend_from_slice(&ACKED_VERSION.to_le_bytes());
    b.extend_from_slice(&(ends.len() as u32).to_le_bytes());
    for (id, end) in ends {
        b.extend_from_slice(&id.to_le_bytes());
        b.extend_from_slice(&end.to_le_bytes());
    }
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(b.len(), size);
    assert_eq!(decode(&b).as_deref(), Ok(ends));
    b
}

/// Decodes a record, checking magic, checksum, version, count, length and entries.
pub fn decode(b: &[u8]) -> Result<SegmentEnds, AckedError> {
    if b.len() < ACKED_FIXED_BYTES + ACKED_CRC_BYTES {
        return Err(AckedError::Truncated(b.len()));
    }
    if b[ACKED_MAGIC_AT] != ACKED_MAGIC {
        return Err(AckedError::BadMagic);
    }
    let (body, crc) = b.split_at(b.len() - ACKED_CRC_BYTES);
    let stored = LE::read_u32(crc);
    let computed = crc32fast::hash(body);
    if stored != computed {
        return Err(AckedError::Checksum { stored, computed });
    }
    let version = LE::read_u32(&b[ACKED_VERSION_AT]);
    if version != ACKED_VERSION {
        return Err(AckedError::BadVersion(version));
    }
    let count = LE::read_u32(&b[ACKED_COUNT_AT]) as usize;
    if count == 0 || count > ACKED_SEGMENTS_MAX {
        return Err(AckedError::Malformed("entry count out of range"));
    }
    let entries = &body[ACKED_FIXED_BYTES..];
    if entries.len() != count * ACKED_ENTRY_BYTES {
        return Err(AckedError::Malformed(
            "entry count does not match the length",
        ));
    }
    let ends: SegmentEnds = entries
        .chunks_exact(ACKED_ENTRY_BYTES)
        .map(|e| {
            (
                LE::read_u32(&e[ACKED_ENTRY_SEGMENT_AT]),
                LE::read_u64(&e[ACKED_ENTRY_END_AT]),
            )
        })
        .collect();
    check_entries(&ends).map_err(AckedError::Malformed)?;
    Ok(ends)
}

/// Records `ends` durably as `dir`'s acknowledged ends (temporary file, fsync, rename,
/// directory fsync).
pub fn write(fs: &dyn Fs, dir: &Path, ends: &[(u32, u64)]) -> io::Result<()> {
    write_file_atomic(fs, &dir.join(ACKED_FILE_NAME), &encode(ends))
}

/// What a directory's acknowledged-end record says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AckedEnds {
    /// No record: a directory written before it existed, or never acknowledged a commit.
    #[default]
    Absent,
    /// The ends it names.
    Found(SegmentEnds),
    /// It cannot be read or decoded (written atomically, so not a crash): why.
    Damaged(String),
}

impl AckedEnds {
    /// The ends named (none when absent or damaged).
    pub fn ends(&self) -> &[(u32, u64)] {
        match self {
            AckedEnds::Found(e) => e,
            AckedEnds::Absent | AckedEnds::Damaged(_) => &[],
        }
    }

    /// The recorded end of segment `id`, if named.
    pub fn end_of(&self, id: u32) -> Option<u64> {
        self.ends().iter().find(|(s, _)| *s == id).map(|(_, e)| *e)
    }
}

/// Reads `dir`'s acknowledged-end record.
pub fn read(fs: &dyn Fs, dir: &Path) -> AckedEnds {
    let path = dir.join(ACKED_FILE_NAME);
    if !fs.exists(&path) {
        return AckedEnds::Absent;
    }
    match read_file(fs, &path) {
        Ok(bytes) => match decode(&bytes) {
            Ok(ends) => AckedEnds::Found(ends),
            Err(e) => AckedEnds::Damaged(e.to_string()),
        },
        Err(e) => AckedEnds::Damaged(format!("cannot read: {e}")),
    }
}

/// `ends` with segment `id` raised to at least `end` (added if new), keeping the newest
/// [`ACKED_SEGMENTS_MAX`] segments. Returns whether anything changed.
pub fn raise(ends: &mut SegmentEnds, id: u32, end: u64) -> bool {
    debug_assert!(id > 0 && end >= SEGMENT_HEADER_BYTES);
    match ends.binary_search_by_key(&id, |(s, _)| *s) {
        Ok(i) if ends[i].1 >= end => false,
        Ok(i) => {
            ends[i].1 = end;
            true
        }
        Err(i) => {
            ends.insert(i, (id, end));
            if ends.len() > ACKED_SEGMENTS_MAX {
                ends.remove(0);
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_has_the_documented_golden_bytes() {
        let b = encode(&[(7, 0x0102_0304_0506_0708), (9, 32)]);
        assert_eq!(&b[0..8], b"SLUICEAE");
        assert_eq!(b[8..12], [1, 0, 0, 0]);
        assert_eq!(b[12..16], [2, 0, 0, 0]);
        assert_eq!(b[16..20], [7, 0, 0, 0]);
        assert_eq!(b[20..28], [8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(b[28..32], [9, 0, 0, 0]);
        assert_eq!(b[32..40], [32, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(b.len(), 44);
        assert_eq!(LE::read_u32(&b[40..44]), crc32fast::hash(&b[0..40]));
    }

    /// `b` with its CRC recomputed after an edit.
    fn resealed(mut b: Vec<u8>) -> Vec<u8> {
        let n = b.len() - ACKED_CRC_BYTES;
        let crc = crc32fast::hash(&b[..n]);
        b[n..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    #[test]
    fn every_kind_of_damage_is_refused_by_name() {
        let good = encode(&[(3, 100), (5, 4096)]);
        assert_eq!(decode(&good), Ok(vec![(3, 100), (5, 4096)]));
        assert_eq!(decode(&good[..10]), Err(AckedError::Truncated(10)));
        let mut bad = good.clone();
        bad[0] = b'X';
        assert_eq!(decode(&bad), Err(AckedError::BadMagic));
        let mut bad = good.clone();
        bad[20] ^= 1;
        assert!(matches!(decode(&bad), Err(AckedError::Checksum { .. })));
        let mut bad = good.clone();
        bad[8] = 2;
        assert_eq!(decode(&resealed(bad)), Err(AckedError::BadVersion(2)));
        let mut bad = good.clone();
        bad[12] = 3;
        assert_eq!(
            decode(&resealed(bad)),
            Err(AckedError::Malformed(
                "entry count does not match the length"
            ))
        );
        let mut bad = good.clone();
        bad[12] = 0;
        assert_eq!(
            decode(&resealed(bad)),
            Err(AckedError::Malformed("entry count out of range"))
        );
        // Ids out of order, and an end inside the header.
        let mut bad = good.clone();
        bad[28] = 2;
        assert_eq!(
            decode(&resealed(bad)),
            Err(AckedError::Malformed("segment ids not increasing"))
        );
        let mut bad = good;
        bad[20..28].copy_from_slice(&31u64.to_le_bytes());
        assert_eq!(
            decode(&resealed(bad)),
            Err(AckedError::Malformed("an end inside the segment header"))
        );
    }

    #[test]
    fn raise_only_grows_and_keeps_the_newest_segments() {
        let mut ends = vec![(2, 100)];
        assert!(!raise(&mut ends, 2, 90));
        assert!(raise(&mut ends, 2, 120));
        assert_eq!(ends, vec![(2, 120)]);
        for id in 3..40 {
            assert!(raise(&mut ends, id, 64));
        }
        assert_eq!(ends.len(), ACKED_SEGMENTS_MAX);
        assert_eq!(ends.first(), Some(&(24, 64)));
        assert_eq!(ends.last(), Some(&(39, 64)));
        let b = encode(&ends);
        assert_eq!(decode(&b), Ok(ends));
    }

    #[test]
    fn a_record_reads_back_through_the_seam_and_damage_is_named() {
        let fs = crate::io::SimFs::new(1);
        let dir = Path::new("/d");
        fs.create_dir_all(dir).unwrap();
        assert_eq!(read(&fs, dir), AckedEnds::Absent);
        write(&fs, dir, &[(4, 77)]).unwrap();
        let got = read(&fs, dir);
        assert_eq!(got, AckedEnds::Found(vec![(4, 77)]));
        assert_eq!(got.end_of(4), Some(77));
        assert_eq!(got.end_of(5), None);
        fs.corrupt_byte(&dir.join(ACKED_FILE_NAME), 17).unwrap();
        assert!(matches!(read(&fs, dir), AckedEnds::Damaged(why) if why.contains("checksum")));
    }
}
