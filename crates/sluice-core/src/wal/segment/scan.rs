//! The sequential scanner over a segment's records: reads through the [`FsFile`] seam in
//! 4 MiB windows, decodes each record's metadata, and on damage either stops (reporting
//! whether readable records follow) or, with `resync`, searches forward for the next record.
//! Every loop moves forward by at least one byte per step and ends at the end of the file.
//!
//! Records are checked with the segment's CRC salt (0 in a version-1 segment, its id in
//! versions 2 to 4). In a salted segment, zeroed space followed only by bytes that hold no record
//! of this salt is the *end of this use of the file* ([`ScanOutcome::stale_bytes`]): a
//! recycled file keeps an earlier use's bytes after the new tail (the direct writer pads the
//! last block with zeros, and a new segment's first block is written whole), and none of them
//! can pass the salted CRC. It is not damage: nothing after it was ever part of this segment.

use std::io;

use crate::invariant::hot_assert;
use crate::io::FsFile;
use crate::wal::record::{frame_len, plausible_frame, DecodeError, RecordMeta};
use crate::wal::seal::FrameCodec;

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
    /// In a salted (version 2 or later) segment: bytes after `valid_end` that follow zeroed space and
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
    /// How the segment's records read (CRC salt, data key when sealed).
    codec: &'a FrameCodec,
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
/// good one, checking every CRC (and every tag of a sealed segment) with `codec`. Without `resync` it stops at the
/// first bad frame; with it, it searches forward byte by byte for the next frame whose
/// checksum holds and goes on from there.
pub fn scan_records(
    file: &dyn FsFile,
    start: u64,
    codec: &FrameCodec,
    resync: bool,
    mut visit: impl FnMut(u64, &RecordMeta),
) -> io::Result<ScanOutcome> {
    let file_len = file.len()?;
    let mut r = Buffered {
        file,
        file_len,
        buf: Vec::new(),
        buf_start: start,
        codec,
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
    let codec = r.codec;
    let frame = r.window(pos, total)?;
    Ok(match codec.decode_meta(frame, pos) {
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
    if r.codec.salt != 0 && error == DecodeError::Zeroed && out.problem.is_none() {
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
    // Each round moves past one candidate (or ends), so this runs at most once per byte.
    while let Some((at, total)) = next_plausible(r, pos, end)? {
        let codec = r.codec;
        let frame = r.window(at, total)?;
        if codec.decode_meta(frame, at).is_ok() {
            return Ok(Some(at));
        }
        pos = at + 1;
    }
    Ok(None)
}

/// The first offset in `[from, end)` whose 12 bytes could start a record ([`plausible_frame`])
/// and that record's length,
/// tested over one window slice at a time: about 1 ns per byte instead of a window lookup per
/// byte (a recycled file's earlier use can leave most of a large file to search after a torn
/// last write).
fn next_plausible(r: &mut Buffered<'_>, from: u64, end: u64) -> io::Result<Option<(u64, usize)>> {
    let mut pos = from;
    while pos < end && pos + 12 <= r.file_len {
        // At most one chunk of starting positions (so the conversion cannot fail), and the
        // 11 bytes after the last one.
        let starts =
            usize::try_from((end - pos).min(SCAN_CHUNK_BYTES as u64)).unwrap_or(SCAN_CHUNK_BYTES);
        let w = r.window(pos, starts + 11)?;
        let testable = w.len().saturating_sub(11).min(starts);
        if testable == 0 {
            return Ok(None);
        }
        let found = (0..testable).find_map(|i| plausible_frame(&w[i..i + 12]).map(|t| (i, t)));
        if let Some((i, total)) = found {
            return Ok(Some((pos + i as u64, total)));
        }
        pos += testable as u64;
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
