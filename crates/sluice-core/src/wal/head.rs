//! The head record of a data directory: a 16-byte file naming the directory's newest
//! segment, rewritten atomically at every roll. A segment names its predecessor in its header,
//! so a gap in the middle of a directory is seen; the head is what lets recovery see that the
//! newest segments themselves vanished (a stray `rm`, a lost directory entry) when no
//! checkpoint names them yet.
//!
//! Layout (`HEAD_*_AT`, docs/format.md "Head record"): magic `SLUICEHD` (8 bytes), segment id
//! (u32 LE), CRC32 of the first 12 bytes.

use std::io;
use std::ops::Range;
use std::path::Path;

use byteorder::{ByteOrder, LittleEndian as LE};

use crate::io::{read_file, write_file_atomic, Fs};

/// File name of the head record in a data directory.
pub const HEAD_FILE_NAME: &str = "newest-segment";
/// First bytes of a head record.
pub const HEAD_MAGIC: [u8; 8] = *b"SLUICEHD";
/// Bytes of a head record.
pub const HEAD_BYTES: usize = 16;
/// Bytes 0..8: [`HEAD_MAGIC`].
pub const HEAD_MAGIC_AT: Range<usize> = 0..8;
/// Bytes 8..12: the directory's newest segment id.
pub const HEAD_SEGMENT_ID_AT: Range<usize> = 8..12;
/// Bytes 12..16: CRC32 of bytes `0..HEAD_CRC_AT.start`.
pub const HEAD_CRC_AT: Range<usize> = 12..16;

const _: () = {
    assert!(HEAD_MAGIC_AT.start == 0);
    assert!(HEAD_MAGIC_AT.end - HEAD_MAGIC_AT.start == HEAD_MAGIC.len());
    assert!(HEAD_MAGIC_AT.end == HEAD_SEGMENT_ID_AT.start);
    assert!(HEAD_SEGMENT_ID_AT.end == HEAD_CRC_AT.start);
    assert!(HEAD_CRC_AT.end == HEAD_BYTES);
};

/// Encodes a head record naming segment `id` (never 0: a directory without segments has no
/// head record), asserting that it decodes back to `id`.
pub fn encode(id: u32) -> [u8; HEAD_BYTES] {
    assert!(id > 0, "a head record names a segment");
    let mut b = [0u8; HEAD_BYTES];
    b[HEAD_MAGIC_AT].copy_from_slice(&HEAD_MAGIC);
    LE::write_u32(&mut b[HEAD_SEGMENT_ID_AT], id);
    let crc = crc32fast::hash(&b[..HEAD_CRC_AT.start]);
    LE::write_u32(&mut b[HEAD_CRC_AT], crc);
    assert_eq!(decode(&b), Some(id));
    b
}

/// Decodes a head record; `None` unless magic, length and checksum hold.
pub fn decode(b: &[u8]) -> Option<u32> {
    if b.len() != HEAD_BYTES || b[HEAD_MAGIC_AT] != HEAD_MAGIC {
        return None;
    }
    if crc32fast::hash(&b[..HEAD_CRC_AT.start]) != LE::read_u32(&b[HEAD_CRC_AT]) {
        return None;
    }
    Some(LE::read_u32(&b[HEAD_SEGMENT_ID_AT]))
}

/// Records durably that `id` is the newest segment of `dir` (temporary file, fsync, rename,
/// directory fsync).
pub fn write(fs: &dyn Fs, dir: &Path, id: u32) -> io::Result<()> {
    write_file_atomic(fs, &dir.join(HEAD_FILE_NAME), &encode(id))
}

/// The newest segment `dir`'s head record names: `None` if there is none (a channel written
/// before head records, or a directory that never rolled) or it is damaged (then logged).
pub fn read(fs: &dyn Fs, dir: &Path) -> Option<u32> {
    let path = dir.join(HEAD_FILE_NAME);
    if !fs.exists(&path) {
        return None;
    }
    match read_file(fs, &path) {
        Ok(bytes) => {
            let id = decode(&bytes);
            if id.is_none() {
                tracing::warn!(path = %path.display(), "ignoring a damaged head record");
            }
            id
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read the head record");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_records_round_trip_and_damage_reads_as_none() {
        let b = encode(77);
        assert_eq!(decode(&b), Some(77));
        let mut bad = b;
        bad[9] ^= 1;
        assert_eq!(decode(&bad), None);
        assert_eq!(decode(&b[..15]), None);
    }

    #[test]
    fn head_record_has_the_documented_golden_bytes() {
        let b = encode(0x0102_0304);
        assert_eq!(&b[0..8], b"SLUICEHD");
        assert_eq!(b[8..12], [4, 3, 2, 1]);
        assert_eq!(LE::read_u32(&b[12..16]), crc32fast::hash(&b[0..12]));
    }
}
