//! The sequential scanner over a segment's records: reads through the [`FsFile`] seam in
//! 4 MiB windows, decodes each record's metadata, and on damage either stops (reporting
//! whether readable records follow) or, with `resync`, searches forward for the next record.
//! Every loop moves forward by at least one byte per step and ends at the end of the file.
//!
//! Records are checked with the segment's CRC salt (0 in a version-1 segment, its id in a
//! version-2 one). In a salted segment, zeroed space followed only by bytes that hold no record
//! of this salt is the *end of this use of the file* ([`ScanOutcome::stale_bytes`]): a
//! recycled file keeps an earlier use's bytes after the new tail (the direct writer pads the
//! last block with zeros, and a new segment's first block is written whole), and none of them
//! can pass the salted CRC. It is not damage: nothing after it was ever part of this segment.

use std::io;

use crate::invariant::hot_assert;
use crate::io::FsFile;
use crate::wal::record::{decode_meta, frame_len, plausible_frame, DecodeError, RecordMeta};

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
    /// In a salted (version-2) segment: bytes after `valid_end` that follow zeroed space and
    /// hold no record of this segment: an earlier use's bytes in a recycled file (or, after a
    /// crash, a lost write's). The scan ends cleanly there (`problem` stays `None`).
    pub stale_bytes: u64,
}

const SCAN_CHUNK_BYTES: usize = 4 << 20;

/// How far past zeroes in a salted segment the scanner looks for a record of the segment before
/// taking the bytes there for an earlier use's (the end of this use of a recycled file). A
/// record of this segment can follow zeroes only after a lost write: in a directory's newest
/// segment, within its unsynced region (cut there anyway, and never acknowledged with
/// `fsyncPerTransaction`); in an older one, media damage. The bound keeps a reopen from walking
/// a large recycled file's stale bytes one by one: it is the direct writer's allocation step,
/// the span of zeroes a fresh direct segment's tail had to be searched over already.
pub const STALE_SEARCH_BYTES: u64 = 8 << 20;

struct Buffered<'a> {
    file: &'a dyn FsFile,
    file_len: u64,
    buf: Vec<u8>,
    buf_start: u64,
    /// The segment's record CRC salt.
    salt: u32,
}

impl Buffered<'_> {
    /// Makes `[offset, offset + n)` available (or as much as the file has); returns the slice.
    fn window(&mut self, offset: u64, n: usize) -> io::Result<&[u8]> {
        let have_end = self.buf_start + self.buf.len() as u64;
        let want_end = (offset + n as u64).min(self.file_len);
        if offset < self.buf_start || want_end > have_end {
            self.refill(offset, want_end)?;
        }
        hot_assert!(offset >= self.buf_start, "window before its buffer");
        let rel = usize::try_from(offset - self.buf_start)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "scan offset too large"))?;
        let end = rel.saturating_add(n).min(self.buf.len());
        Ok(&self.buf[rel.min(end)..end])
    }

    /// Reads at least `[offset, want_end)` (a whole chunk when the file has it) into the buffer.
    fn refill(&mut self, offset: u64, want_end: u64) -> io::Result<()> {
        let read_len = want_end.saturating_sub(offset).max(SCAN_CHUNK_BYTES as u64);
        let read_len = read_len.min(self.file_len.saturating_sub(offset));
        // Bounded by the larger of one chunk and one record, both far below `usize::MAX`.
        let read_len = usize::try_from(read_len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "scan window too large"))?;
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
        Ok(())
    }
}

/// Scans records from `start` to the end of the file, calling `visit(offset, meta)` for each
/// good one, checking every CRC with `salt` (the segment's). Without `resync` it stops at the
/// first bad frame; with it, it searches forward byte by byte for the next frame whose
/// checksum holds and goes on from there.
pub fn scan_records(
    file: &dyn FsFile,
    start: u64,
    salt: u32,
    resync: bool,
    mut visit: impl FnMut(u64, &RecordMeta),
) -> io::Result<ScanOutcome> {
    let file_len = file.len()?;
    let mut r = Buffered {
        file,
        file_len,
        buf: Vec::new(),
        buf_start: start,
        salt,
    };
    let mut out = ScanOutcome {
        valid_end: start,
        file_len,
        ..ScanOutcome::default()
    };
    let mut pos = start;
    // Each step moves `pos` forward (asserted), so this runs at most `file_len` times.
    while pos < file_len {
        let step_from = pos;
        match next_record(&mut r, pos)? {
            Next::CleanEnd => break,
            Next::Record(meta, len) => {
                visit(pos, &meta);
                out.records += 1;
                pos += len as u64;
                out.valid_end = pos;
            }
            Next::Bad(error) => match on_damage(&mut r, &mut out, pos, error, resync)? {
                Some(next) => pos = next,
                None => break,
            },
        }
        hot_assert!(pos > step_from, "scan made no progress at {pos}");
    }
    hot_assert!(out.valid_end <= file_len.max(start));
    Ok(out)
}

enum Next {
    /// Zeroes to the end of the file: space never written.
    CleanEnd,
    /// A good record and its length.
    Record(RecordMeta, usize),
    /// A frame that does not decode.
    Bad(DecodeError),
}

fn next_record(r: &mut Buffered<'_>, pos: u64) -> io::Result<Next> {
    let head = r.window(pos, 8)?;
    // Fewer zero bytes than a frame header up to the end of the file: the padding of a direct
    // segment allocated to exactly `maxFileSize`, whose last record ended within 8 bytes of it.
    if head.len() < 8 && head.iter().all(|b| *b == 0) {
        return Ok(Next::CleanEnd);
    }
    let total = match frame_len(head) {
        Ok(t) => t,
        // Zeroes to the end of the file are space never written (a clean end); zeroes
        // followed by anything else are damage and are reported like any bad frame.
        Err(DecodeError::Zeroed) if all_zero_from(r, pos)? => return Ok(Next::CleanEnd),
        Err(e) => return Ok(Next::Bad(e)),
    };
    let salt = r.salt;
    let frame = r.window(pos, total)?;
    Ok(match decode_meta(frame, salt) {
        Ok((meta, len)) => {
            hot_assert!(len == total && len > 0);
            Next::Record(meta, len)
        }
        Err(e) => Next::Bad(e),
    })
}

/// Records the damage at `pos`; returns where scanning goes on, or `None` to stop.
fn on_damage(
    r: &mut Buffered<'_>,
    out: &mut ScanOutcome,
    pos: u64,
    error: DecodeError,
    resync: bool,
) -> io::Result<Option<u64>> {
    if r.salt != 0 && error == DecodeError::Zeroed && out.problem.is_none() {
        // Zeroes, then nothing of this segment: the end of this use of a recycled file.
        let limit = pos.saturating_add(STALE_SEARCH_BYTES).min(r.file_len);
        if resync_within(r, pos + 1, limit)?.is_none() {
            out.stale_bytes = r.file_len - pos;
            return Ok(None);
        }
    }
    if out.problem.is_none() {
        out.problem = Some(ScanProblem { offset: pos, error });
    }
    if !resync {
        out.readable_after = resync_from(r, pos + 1)?;
        return Ok(None);
    }
    match resync_from(r, pos + 1)? {
        Some(next) => {
            assert!(next > pos);
            out.skipped.push((pos, next - pos));
            Ok(Some(next))
        }
        None => {
            out.skipped.push((pos, r.file_len - pos));
            Ok(None)
        }
    }
}

/// True when every byte from `from` to the end of the file is zero.
fn all_zero_from(r: &mut Buffered<'_>, from: u64) -> io::Result<bool> {
    let mut pos = from;
    while pos < r.file_len {
        // At most one chunk, so the conversion cannot fail.
        let want = usize::try_from((r.file_len - pos).min(SCAN_CHUNK_BYTES as u64))
            .unwrap_or(SCAN_CHUNK_BYTES);
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
/// Bounded: one step per byte up to the end of the file.
fn resync_from(r: &mut Buffered<'_>, from: u64) -> io::Result<Option<u64>> {
    let end = r.file_len;
    resync_within(r, from, end)
}

/// [`resync_from`], for records starting before `end`.
fn resync_within(r: &mut Buffered<'_>, from: u64, end: u64) -> io::Result<Option<u64>> {
    let mut pos = from;
    while pos + 8 <= r.file_len && pos < end {
        let head = r.window(pos, 12)?;
        if let Some(total) = plausible_frame(head) {
            let salt = r.salt;
            let frame = r.window(pos, total)?;
            if decode_meta(frame, salt).is_ok() {
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

    fn scan_of(bytes: &[u8], resync: bool) -> ScanOutcome {
        scan_salted(bytes, 0, resync)
    }

    fn scan_salted(bytes: &[u8], salt: u32, resync: bool) -> ScanOutcome {
        use crate::io::{Fs, OpenMode, SimFs};
        let fs = SimFs::new(1);
        fs.create_dir_all(std::path::Path::new("/d")).unwrap();
        let path = std::path::Path::new("/d/seg");
        let f = fs.open(path, OpenMode::CreateNew).unwrap();
        f.write_all_at(bytes, 0).unwrap();
        scan_records(f.as_ref(), 0, salt, resync, |_, _| {}).unwrap()
    }

    fn two_records_around(gap: &[u8]) -> (Vec<u8>, u64) {
        let mut b = Vec::new();
        crate::wal::record::encode_commit(&mut b, 0, 1, 1, 0, 0);
        let gap_at = b.len() as u64;
        b.extend_from_slice(gap);
        crate::wal::record::encode_commit(&mut b, 0, 2, 2, 0, 0);
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
    fn fewer_zero_bytes_than_a_frame_header_at_the_end_are_a_clean_end_and_other_bytes_torn() {
        // A crash test once found a direct segment, allocated to exactly its size limit, whose
        // last record ended 5 bytes before the end: replay refused it as a truncated record.
        for n in 1..8 {
            let (mut b, _) = two_records_around(&[]);
            let end = b.len() as u64;
            b.extend_from_slice(&vec![0u8; n]);
            for resync in [false, true] {
                let out = scan_of(&b, resync);
                assert_eq!((out.records, out.valid_end), (2, end), "{n} zeros");
                assert!(out.problem.is_none(), "{n} zeros: {:?}", out.problem);
            }
            *b.last_mut().unwrap() = 1;
            let out = scan_of(&b, false);
            assert_eq!(out.records, 2);
            let problem = out.problem.expect("a torn frame header");
            assert_eq!(problem.offset, end);
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

    /// A recycled file: this use's records (salt 9), zero padding to the block's end, then a
    /// previous use's records (salt 4), at the same offsets and more of them.
    fn recycled(new_records: u64, old_records: u64) -> (Vec<u8>, u64) {
        use crate::wal::record::encode_commit;
        let mut old = Vec::new();
        for i in 0..old_records {
            encode_commit(&mut old, 4, i, i, 0, 0);
        }
        let mut b = Vec::new();
        for i in 0..new_records {
            encode_commit(&mut b, 9, i, i, 0, 0);
        }
        let end = b.len() as u64;
        b.resize(end.next_multiple_of(4096) as usize, 0);
        if old.len() > b.len() {
            b.extend_from_slice(&old[b.len()..]);
        }
        (b, end)
    }

    #[test]
    fn a_previous_uses_records_after_the_zero_padding_end_a_salted_scan_cleanly() {
        let (b, end) = recycled(10, 1000);
        for resync in [false, true] {
            let out = scan_salted(&b, 9, resync);
            assert_eq!(out.records, 10);
            assert_eq!(out.valid_end, end);
            assert!(out.problem.is_none(), "{:?}", out.problem);
            assert!(out.skipped.is_empty());
            assert_eq!(out.stale_bytes, b.len() as u64 - end);
        }
        // Zeroes followed by records that do check out with the scan's salt stay damage: the
        // salt is what tells a previous use's records from this one's.
        let (mut v1, _) = recycled(0, 1000);
        v1[..4096].fill(0);
        let out = scan_salted(&v1, 4, false);
        assert!(out.problem.is_some() && out.readable_after.is_some());
    }

    #[test]
    fn a_previous_uses_record_right_after_this_uses_last_one_is_a_torn_tail_not_inside_damage() {
        // No zero padding (as when a lost rewrite leaves old bytes at a block boundary): the
        // stale frame fails the salted checksum, and no record of this salt follows.
        let (mut b, end) = recycled(10, 1000);
        let end = end as usize;
        let mut old = Vec::new();
        for i in 0..1000u64 {
            crate::wal::record::encode_commit(&mut old, 4, i, i, 0, 0);
        }
        let len = b.len();
        b[end..].copy_from_slice(&old[end..len]);
        let out = scan_salted(&b, 9, false);
        assert_eq!(out.records, 10);
        assert_eq!(out.valid_end, end as u64);
        assert!(out.problem.is_some());
        assert_eq!(
            out.readable_after, None,
            "no stale record reads as this segment's"
        );
        assert_eq!(out.stale_bytes, 0);
    }

    #[test]
    fn zeroes_followed_by_a_record_of_this_segment_stay_damage_in_a_salted_segment() {
        use crate::wal::record::encode_commit;
        let mut b = Vec::new();
        encode_commit(&mut b, 9, 1, 1, 0, 0);
        let gap_at = b.len() as u64;
        b.resize(1 << 20, 0);
        encode_commit(&mut b, 9, 2, 2, 0, 0);
        let out = scan_salted(&b, 9, false);
        assert_eq!(out.stale_bytes, 0);
        assert_eq!(out.problem.map(|p| p.offset), Some(gap_at));
        assert_eq!(out.readable_after, Some(1 << 20));
    }
}
