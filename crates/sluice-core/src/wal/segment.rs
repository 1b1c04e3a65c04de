//! Segment files: the header codec, file naming, and a sequential scanner over records.
//!
//! A segment is `log-<id>` (id zero-padded to 10 digits) in a data directory; it starts with a
//! 32-byte header (magic, format version, segment id, creation time, the id of the segment
//! before it in the same directory, CRC) followed by records.

use std::io;

use byteorder::{ByteOrder, LittleEndian as LE};

use super::record::{decode_meta, frame_len, plausible_frame, DecodeError, RecordMeta};
use crate::io::FsFile;

/// Bytes of a segment header.
pub const SEGMENT_HEADER_BYTES: u64 = 32;
/// First bytes of every segment.
pub const SEGMENT_MAGIC: [u8; 8] = *b"SLUICEWL";
/// The segment format this code writes and reads.
pub const SEGMENT_VERSION: u32 = 1;

/// A decoded segment header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Segment id, global across the channel's data directories.
    pub segment_id: u32,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// Id of the segment written before this one in the same data directory (0: none, or a
    /// segment written before this field existed). Replay follows this chain to notice a
    /// segment that vanished from the middle of a directory.
    pub prev_in_dir: u32,
}

/// Why a segment header is bad.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Too short.
    #[error("segment header truncated ({0} bytes)")]
    Truncated(usize),
    /// Wrong magic.
    #[error("not a Sluice segment (bad magic)")]
    BadMagic,
    /// Unsupported version.
    #[error("unsupported segment format version {0}")]
    BadVersion(u32),
    /// Checksum mismatch.
    #[error("segment header checksum mismatch")]
    Checksum,
}

/// Encodes a segment header.
pub fn encode_header(h: &SegmentHeader) -> [u8; SEGMENT_HEADER_BYTES as usize] {
    let mut b = [0u8; SEGMENT_HEADER_BYTES as usize];
    b[0..8].copy_from_slice(&SEGMENT_MAGIC);
    LE::write_u32(&mut b[8..12], SEGMENT_VERSION);
    LE::write_u32(&mut b[12..16], h.segment_id);
    LE::write_u64(&mut b[16..24], h.created_ms);
    LE::write_u32(&mut b[24..28], h.prev_in_dir);
    let crc = crc32fast::hash(&b[0..28]);
    LE::write_u32(&mut b[28..32], crc);
    b
}

/// Decodes a segment header.
pub fn decode_header(b: &[u8]) -> Result<SegmentHeader, HeaderError> {
    if b.len() < SEGMENT_HEADER_BYTES as usize {
        return Err(HeaderError::Truncated(b.len()));
    }
    if b[0..8] != SEGMENT_MAGIC {
        return Err(HeaderError::BadMagic);
    }
    if crc32fast::hash(&b[0..28]) != LE::read_u32(&b[28..32]) {
        return Err(HeaderError::Checksum);
    }
    let version = LE::read_u32(&b[8..12]);
    if version != SEGMENT_VERSION {
        return Err(HeaderError::BadVersion(version));
    }
    Ok(SegmentHeader {
        segment_id: LE::read_u32(&b[12..16]),
        created_ms: LE::read_u64(&b[16..24]),
        prev_in_dir: LE::read_u32(&b[24..28]),
    })
}

/// The file name of segment `id`.
pub fn segment_file_name(id: u32) -> String {
    format!("log-{id:010}")
}

/// The segment id in a file name, if it is a segment's name.
pub fn parse_segment_file_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("log-")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A problem met while scanning: where, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanProblem {
    /// Byte offset of the bad frame.
    pub offset: u64,
    /// What was wrong.
    pub error: DecodeError,
}

/// The result of scanning a segment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanOutcome {
    /// Offset just past the last good record before the first problem (or the end).
    pub valid_end: u64,
    /// The file's length when scanned.
    pub file_len: u64,
    /// The first problem, if the scan did not end cleanly at end of file or at zeroed space.
    pub problem: Option<ScanProblem>,
    /// With `resync`: every region skipped after a problem, as (offset, bytes).
    pub skipped: Vec<(u64, u64)>,
    /// Records visited.
    pub records: u64,
    /// Without `resync`: where the first readable record after the problem starts, if any.
    /// A problem with nothing readable after it is a torn tail; one with good records after
    /// it is damage in the middle of the segment.
    pub readable_after: Option<u64>,
}

const SCAN_CHUNK_BYTES: usize = 4 << 20;

struct Buffered<'a> {
    file: &'a dyn FsFile,
    file_len: u64,
    buf: Vec<u8>,
    buf_start: u64,
}

impl Buffered<'_> {
    /// Makes `[offset, offset + n)` available (or as much as the file has); returns the slice.
    fn window(&mut self, offset: u64, n: usize) -> io::Result<&[u8]> {
        let have_end = self.buf_start + self.buf.len() as u64;
        let want_end = (offset + n as u64).min(self.file_len);
        if offset < self.buf_start || want_end > have_end {
            let read_len = (want_end - offset).max(SCAN_CHUNK_BYTES as u64);
            let read_len = read_len.min(self.file_len.saturating_sub(offset)) as usize;
            self.buf.resize(read_len, 0);
            self.buf_start = offset;
            let mut filled = 0;
            while filled < read_len {
                let got = self
                    .file
                    .read_at(&mut self.buf[filled..], offset + filled as u64)?;
                if got == 0 {
                    break;
                }
                filled += got;
            }
            self.buf.truncate(filled);
        }
        let rel = (offset - self.buf_start) as usize;
        let end = (rel + n).min(self.buf.len());
        Ok(&self.buf[rel.min(end)..end])
    }
}

/// Scans records from `start` to the end of the file, calling `visit(offset, meta)` for each
/// good one. Without `resync` it stops at the first bad frame; with it, it searches forward
/// byte by byte for the next frame whose checksum holds and goes on from there.
pub fn scan_records(
    file: &dyn FsFile,
    start: u64,
    resync: bool,
    mut visit: impl FnMut(u64, &RecordMeta),
) -> io::Result<ScanOutcome> {
    let file_len = file.len()?;
    let mut r = Buffered {
        file,
        file_len,
        buf: Vec::new(),
        buf_start: start,
    };
    let mut out = ScanOutcome {
        valid_end: start,
        file_len,
        ..ScanOutcome::default()
    };
    let mut pos = start;
    while pos < file_len {
        let head = r.window(pos, 8)?;
        let total = match frame_len(head) {
            Ok(t) => Ok(t),
            // Zeroes to the end of the file are space never written (a clean end); zeroes
            // followed by anything else are damage and are reported like any bad frame.
            Err(DecodeError::Zeroed) if all_zero_from(&mut r, pos)? => break,
            Err(e) => Err(e),
        };
        let decoded = match total {
            Ok(total) => {
                let frame = r.window(pos, total)?;
                decode_meta(frame)
            }
            Err(e) => Err(e),
        };
        match decoded {
            Ok((meta, len)) => {
                visit(pos, &meta);
                out.records += 1;
                pos += len as u64;
                out.valid_end = pos;
            }
            Err(error) => {
                if out.problem.is_none() {
                    out.problem = Some(ScanProblem { offset: pos, error });
                }
                if !resync {
                    out.readable_after = resync_from(&mut r, pos + 1)?;
                    break;
                }
                let from = pos;
                match resync_from(&mut r, pos + 1)? {
                    Some(next) => {
                        out.skipped.push((from, next - from));
                        pos = next;
                    }
                    None => {
                        out.skipped.push((from, file_len - from));
                        break;
                    }
                }
            }
        }
    }
    Ok(out)
}

/// True when every byte from `from` to the end of the file is zero.
fn all_zero_from(r: &mut Buffered<'_>, from: u64) -> io::Result<bool> {
    let mut pos = from;
    while pos < r.file_len {
        let want = (r.file_len - pos).min(SCAN_CHUNK_BYTES as u64) as usize;
        let chunk = r.window(pos, want)?;
        if chunk.is_empty() {
            break;
        }
        if chunk.iter().any(|b| *b != 0) {
            return Ok(false);
        }
        pos += chunk.len() as u64;
    }
    Ok(true)
}

/// Finds the next offset at or after `from` where a record decodes with a good checksum.
fn resync_from(r: &mut Buffered<'_>, from: u64) -> io::Result<Option<u64>> {
    let mut pos = from;
    while pos + 8 <= r.file_len {
        let head = r.window(pos, 12)?;
        if let Some(total) = plausible_frame(head) {
            let frame = r.window(pos, total)?;
            if decode_meta(frame).is_ok() {
                return Ok(Some(pos));
            }
        }
        pos += 1;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let h = SegmentHeader {
            segment_id: 42,
            created_ms: 1_700_000_000_000,
            prev_in_dir: 41,
        };
        let b = encode_header(&h);
        assert_eq!(&b[0..8], b"SLUICEWL");
        assert_eq!(decode_header(&b).unwrap(), h);
        let mut bad = b;
        bad[13] ^= 1;
        assert_eq!(decode_header(&bad).unwrap_err(), HeaderError::Checksum);
        let mut bad = b;
        bad[0] = b'X';
        assert_eq!(decode_header(&bad).unwrap_err(), HeaderError::BadMagic);
        assert!(matches!(
            decode_header(&b[..10]),
            Err(HeaderError::Truncated(10))
        ));
    }

    #[test]
    fn segment_names_round_trip_and_others_are_ignored() {
        assert_eq!(segment_file_name(7), "log-0000000007");
        assert_eq!(parse_segment_file_name("log-0000000007"), Some(7));
        assert_eq!(parse_segment_file_name("log-7.meta"), None);
        assert_eq!(parse_segment_file_name("in_use.lock"), None);
    }

    fn scan_of(bytes: &[u8], resync: bool) -> ScanOutcome {
        use crate::io::{Fs, OpenMode, SimFs};
        let fs = SimFs::new(1);
        fs.create_dir_all(std::path::Path::new("/d")).unwrap();
        let path = std::path::Path::new("/d/seg");
        let f = fs.open(path, OpenMode::CreateNew).unwrap();
        f.write_all_at(bytes, 0).unwrap();
        scan_records(f.as_ref(), 0, resync, |_, _| {}).unwrap()
    }

    fn two_records_around(gap: &[u8]) -> (Vec<u8>, u64) {
        let mut b = Vec::new();
        crate::wal::record::encode_commit(&mut b, 1, 1, 0, 0);
        let gap_at = b.len() as u64;
        b.extend_from_slice(gap);
        crate::wal::record::encode_commit(&mut b, 2, 2, 0, 0);
        (b, gap_at)
    }

    #[test]
    fn zeroes_to_the_end_of_the_file_are_a_clean_end() {
        let (mut b, _) = two_records_around(&[]);
        let end = b.len() as u64;
        b.extend_from_slice(&[0u8; 300]);
        for resync in [false, true] {
            let out = scan_of(&b, resync);
            assert_eq!(out.records, 2);
            assert_eq!(out.valid_end, end);
            assert!(out.problem.is_none(), "{:?}", out.problem);
            assert!(out.skipped.is_empty());
        }
    }

    #[test]
    fn zeroes_followed_by_records_are_damage_not_the_end() {
        let (b, gap_at) = two_records_around(&[0u8; 100]);
        let out = scan_of(&b, false);
        assert_eq!(out.records, 1);
        assert_eq!(out.readable_after, Some(gap_at + 100));
        let problem = out.problem.expect("the zero range must be reported");
        assert_eq!(problem.offset, gap_at);
        assert_eq!(problem.error, DecodeError::Zeroed);
        let out = scan_of(&b, true);
        assert_eq!(out.records, 2, "salvage finds the record after the zeroes");
        assert_eq!(out.skipped, vec![(gap_at, 100)]);
    }
}
