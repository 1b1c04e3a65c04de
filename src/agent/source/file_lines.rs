//! Splitting a file into lines with a bounded buffer, for the file sources (`spooldir`'s LINE
//! deserializer and `TAILDIR`). A line ends at `\n` (not included); a line longer than
//! `max_line_bytes` is cut into pieces of at most that many bytes, each its own event, as
//! Flume's LineDeserializer does, so memory stays bounded whatever the input. A cut never
//! splits a UTF-8 character when the piece is valid UTF-8 up to it.
//!
//! The buffer tracks the file offset of every byte, so each line reports how many input bytes
//! it consumed and the caller can keep an exact position. The search for a newline remembers
//! how far it got, so a long line arriving in many reads is scanned once (linear, not
//! quadratic, in its length).

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the file sources read their files on the real disk and are tested there (DESIGN.md, the agent's std::fs rule)"
)]

use std::fs::File;
use std::os::unix::fs::FileExt;

/// Bytes read from the file per call.
pub(crate) const READ_BYTES: usize = 64 * 1024;
/// Bytes remembered before the read position to notice a file truncated and rewritten.
pub(crate) const MARK_BYTES: usize = 64;

/// One line (or one piece of an over-long line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// The bytes, without the `\n` (and without a `\r` before it when CR stripping is on).
    pub bytes: Vec<u8>,
    /// File offset of the first byte.
    pub offset: u64,
    /// Input bytes consumed, newline included.
    pub consumed: u64,
    /// False for a piece of a line longer than the limit (or an unterminated last line).
    pub complete: bool,
}

/// What a fill found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fill {
    /// This many new bytes were buffered.
    Read(usize),
    /// Nothing more in the file for now.
    Eof,
    /// The bytes before the read position are not the ones read earlier: the file was
    /// truncated (and maybe rewritten) under us.
    Replaced,
}

/// A line buffer over a file position.
#[derive(Debug)]
pub(crate) struct LineBuf {
    buf: Vec<u8>,
    start: usize,
    /// File offset of `buf[start]`.
    offset: u64,
    max_line_bytes: usize,
    strip_cr: bool,
    /// The last bytes read before `offset + available` (for [`Fill::Replaced`]).
    mark: Vec<u8>,
    /// Bytes after `start` known to hold no newline.
    scanned: usize,
}

impl LineBuf {
    /// A buffer positioned at `offset`, cutting lines at `max_line_bytes` (at least 1).
    pub(crate) fn new(offset: u64, max_line_bytes: usize, strip_cr: bool) -> Self {
        LineBuf {
            buf: Vec::new(),
            start: 0,
            offset,
            max_line_bytes: max_line_bytes.max(1),
            strip_cr,
            mark: Vec::new(),
            scanned: 0,
        }
    }

    /// File offset of the next unconsumed byte.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes buffered and not consumed (a partial line).
    pub(crate) fn available(&self) -> usize {
        self.buf.len() - self.start
    }

    /// File offset where the next read starts.
    pub(crate) fn read_offset(&self) -> u64 {
        self.offset + self.available() as u64
    }

    /// Forgets everything and restarts at `offset`.
    pub(crate) fn reset(&mut self, offset: u64) {
        self.buf = Vec::new();
        self.start = 0;
        self.offset = offset;
        self.mark.clear();
        self.scanned = 0;
    }

    /// Frees the buffer when nothing is pending (many idle files must not hold 64 KiB each).
    pub(crate) fn release_if_empty(&mut self) {
        if self.available() == 0 {
            self.buf = Vec::new();
            self.start = 0;
        }
    }

    /// Appends bytes (for tests and in-memory input).
    #[cfg(test)]
    pub(crate) fn push(&mut self, data: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(data);
        self.remember_tail(data.len());
    }

    /// Remembers the last `MARK_BYTES` read, of which the buffer's last `fresh` bytes are new.
    fn remember_tail(&mut self, fresh: usize) {
        let end = self.buf.len();
        let tail = end - fresh.min(MARK_BYTES);
        let keep = MARK_BYTES - (end - tail);
        self.mark.drain(..self.mark.len().saturating_sub(keep));
        self.mark.extend_from_slice(&self.buf[tail..]);
    }

    fn compact(&mut self) {
        if self.start > 0 && (self.start >= self.buf.len() / 2 || self.start >= READ_BYTES) {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    /// Reads the next bytes of `file` (positional, so the file's cursor does not matter).
    /// With `check_mark`, the bytes remembered before the read position are read again and
    /// compared, in the same call.
    pub(crate) fn fill(&mut self, file: &File, check_mark: bool) -> std::io::Result<Fill> {
        self.compact();
        let at = self.read_offset();
        let m = if check_mark {
            (self.mark.len() as u64).min(at) as usize
        } else {
            0
        };
        let old = self.buf.len();
        self.buf.resize(old + m + READ_BYTES, 0);
        let n = loop {
            match file.read_at(&mut self.buf[old..], at - m as u64) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            }
        };
        if n < m || self.buf[old..old + m] != self.mark[self.mark.len() - m..] {
            self.buf.truncate(old);
            return Ok(Fill::Replaced);
        }
        self.buf.copy_within(old + m..old + n, old);
        self.buf.truncate(old + n - m);
        let got = n - m;
        if got == 0 {
            return Ok(Fill::Eof);
        }
        self.remember_tail(got);
        Ok(Fill::Read(got))
    }

    /// The next complete line, or a piece of `max_line_bytes` of an over-long one; `None`
    /// when more input is needed.
    pub(crate) fn next_line(&mut self) -> Option<Line> {
        let avail = &self.buf[self.start..];
        let window = &avail[..avail.len().min(self.max_line_bytes + 1)];
        let from = self.scanned.min(window.len());
        let found = memchr::memchr(b'\n', &window[from..]).map(|i| from + i);
        if found.is_none() {
            self.scanned = window.len();
        }
        let (len, consumed, complete) = match found {
            Some(i) => (i, i + 1, true),
            None if avail.len() > self.max_line_bytes => {
                let cut = utf8_cut(&avail[..self.max_line_bytes]);
                (cut, cut, false)
            }
            None => return None,
        };
        let mut bytes = avail[..len].to_vec();
        if complete && self.strip_cr && bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        let line = Line {
            bytes,
            offset: self.offset,
            consumed: consumed as u64,
            complete,
        };
        self.start += consumed;
        self.offset += consumed as u64;
        self.scanned = 0;
        Some(line)
    }

    /// Everything still buffered as one last (unterminated) line, for the end of a file.
    pub(crate) fn take_rest(&mut self) -> Option<Line> {
        if self.available() == 0 {
            return None;
        }
        let bytes = self.buf[self.start..].to_vec();
        let consumed = bytes.len() as u64;
        let line = Line {
            bytes,
            offset: self.offset,
            consumed,
            complete: false,
        };
        self.start = self.buf.len();
        self.offset += consumed;
        self.scanned = 0;
        Some(line)
    }
}

/// Where to cut `piece` (the first `max` bytes of a long line): before a UTF-8 character
/// that the cut would split, if the piece is UTF-8 there; otherwise at its end.
fn utf8_cut(piece: &[u8]) -> usize {
    let n = piece.len();
    // A character is at most 4 bytes: look back at most 3 for its lead byte.
    for back in 1..=3.min(n) {
        let b = piece[n - back];
        if b & 0xC0 == 0x80 {
            continue; // continuation byte
        }
        let width = match b {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return n,
        };
        return if width > back && n - back > 0 {
            n - back
        } else {
            n
        };
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(buf: &mut LineBuf) -> Vec<(String, u64, bool)> {
        std::iter::from_fn(|| buf.next_line())
            .map(|l| {
                (
                    String::from_utf8_lossy(&l.bytes).into_owned(),
                    l.consumed,
                    l.complete,
                )
            })
            .collect()
    }

    #[test]
    fn complete_lines_are_returned_and_a_partial_line_waits_for_its_newline() {
        let mut b = LineBuf::new(0, 100, false);
        b.push(b"one\ntwo\nthr");
        assert_eq!(
            all(&mut b),
            vec![("one".into(), 4, true), ("two".into(), 4, true)]
        );
        assert_eq!(b.offset(), 8);
        assert_eq!(b.available(), 3);
        b.push(b"ee\n");
        assert_eq!(all(&mut b), vec![("three".into(), 6, true)]);
        assert_eq!(b.offset(), 14);
    }

    #[test]
    fn a_line_longer_than_the_limit_is_cut_into_pieces_of_the_limit() {
        let mut b = LineBuf::new(0, 4, false);
        b.push(b"abcdefghij\nxy\n");
        assert_eq!(
            all(&mut b),
            vec![
                ("abcd".into(), 4, false),
                ("efgh".into(), 4, false),
                ("ij".into(), 3, true),
                ("xy".into(), 3, true),
            ]
        );
    }

    #[test]
    fn a_line_of_exactly_the_limit_keeps_its_newline_and_makes_no_empty_event() {
        let mut b = LineBuf::new(0, 4, false);
        b.push(b"abcd\nef\n");
        assert_eq!(
            all(&mut b),
            vec![("abcd".into(), 5, true), ("ef".into(), 3, true)]
        );
    }

    #[test]
    fn a_cut_does_not_split_a_utf8_character() {
        let mut b = LineBuf::new(0, 4, false);
        b.push("abcé\n".as_bytes());
        let got = all(&mut b);
        assert_eq!(got[0], ("abc".into(), 3, false));
        assert_eq!(got[1], ("é".into(), 3, true));
    }

    #[test]
    fn carriage_returns_are_stripped_only_when_asked() {
        let mut b = LineBuf::new(0, 100, true);
        b.push(b"a\r\nb\n");
        assert_eq!(
            all(&mut b),
            vec![("a".into(), 3, true), ("b".into(), 2, true)]
        );
        let mut b = LineBuf::new(0, 100, false);
        b.push(b"a\r\n");
        assert_eq!(all(&mut b), vec![("a\r".into(), 3, true)]);
    }

    #[test]
    fn the_rest_of_a_file_without_a_final_newline_is_one_last_line() {
        let mut b = LineBuf::new(10, 100, false);
        b.push(b"x\nlast");
        assert_eq!(all(&mut b).len(), 1);
        let rest = b.take_rest().unwrap();
        assert_eq!(rest.bytes, b"last");
        assert_eq!(rest.offset, 12);
        assert_eq!(b.offset(), 16);
        assert!(b.take_rest().is_none());
    }

    #[test]
    fn fill_reads_from_the_position_and_notices_a_rewritten_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"hello\nworld\n").unwrap();
        let f = File::open(&p).unwrap();
        let mut b = LineBuf::new(6, 100, false);
        assert_eq!(b.fill(&f, true).unwrap(), Fill::Read(6));
        assert_eq!(all(&mut b), vec![("world".into(), 6, true)]);
        assert_eq!(b.fill(&f, true).unwrap(), Fill::Eof);
        std::fs::write(&p, b"HELLO\nWORLD\nmore\n").unwrap();
        assert_eq!(b.fill(&f, true).unwrap(), Fill::Replaced);
        assert_eq!(b.fill(&f, false).unwrap(), Fill::Read(5));
    }

    #[test]
    fn memory_stays_bounded_by_the_limit_for_a_huge_line() {
        let mut b = LineBuf::new(0, 2048, false);
        let chunk = vec![b'x'; READ_BYTES];
        let mut pieces = 0;
        for _ in 0..64 {
            b.push(&chunk);
            while let Some(l) = b.next_line() {
                assert!(l.bytes.len() <= 2048);
                pieces += 1;
            }
            assert!(b.buf.len() <= 2048 + 2 * READ_BYTES);
        }
        // The last piece waits: a newline right after it would make it a complete line.
        assert_eq!(pieces, 64 * READ_BYTES / 2048 - 1);
        assert_eq!(b.available(), 2048);
    }
}
