//! The sequential scanner over a segment's records: reads through the [`FsFile`] seam in
//! 4 MiB windows, decodes each record's metadata, and on damage either stops (reporting
//! whether readable records follow) or, with `resync`, searches forward for the next record.
//! Every loop moves forward by at least one byte per step and ends at the end of the file.

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
    let total = match frame_len(head) {
        Ok(t) => t,
        // Zeroes to the end of the file are space never written (a clean end); zeroes
        // followed by anything else are damage and are reported like any bad frame.
        Err(DecodeError::Zeroed) if all_zero_from(r, pos)? => return Ok(Next::CleanEnd),
        Err(e) => return Ok(Next::Bad(e)),
    };
    let frame = r.window(pos, total)?;
    Ok(match decode_meta(frame) {
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
