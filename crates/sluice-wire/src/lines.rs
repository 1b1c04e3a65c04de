//! Splitting a byte stream into newline-terminated lines with a length limit, scanning each
//! byte once: a long line read in many small chunks costs time linear in its length (the
//! search for `\n` resumes where the previous one stopped) instead of rescanning the buffer
//! after every read. The search is `memchr` (word-at-a-time/SIMD), and each line costs one
//! allocation: its own `Vec`, exactly sized. The netcat and exec sources split their streams
//! with it.

/// What the splitter yields.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    /// A complete line, without its `\n` and without a trailing `\r`.
    Line(Vec<u8>),
    /// A line longer than the limit (newline included) was dropped.
    TooLong,
}

/// A line splitter over a growing buffer.
#[derive(Debug)]
pub struct LineSplitter {
    buf: Vec<u8>,
    /// Bytes before this are consumed.
    start: usize,
    /// Bytes from `start` up to here are known to hold no `\n`.
    scanned: usize,
    /// Longest line accepted, newline included.
    max_line_bytes: usize,
    /// Dropping the rest of a too-long line up to its newline.
    discarding: bool,
    /// Bytes examined by the newline search so far (for tests of linearity).
    scan_work: u64,
}

impl LineSplitter {
    /// A splitter for lines of at most `max_line_bytes` bytes, newline included.
    pub fn new(max_line_bytes: usize) -> Self {
        LineSplitter {
            buf: Vec::with_capacity(4096),
            start: 0,
            scanned: 0,
            max_line_bytes: max_line_bytes.max(1),
            discarding: false,
            scan_work: 0,
        }
    }

    /// Appends bytes read from the peer.
    pub fn push(&mut self, data: &[u8]) {
        // Drop the consumed prefix once it is at least half the buffer: amortised O(1) a byte.
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Whether a complete line (or a verdict) may be ready without more input: true when
    /// unscanned bytes remain.
    pub fn has_unscanned(&self) -> bool {
        self.scanned < self.buf.len()
    }

    /// Bytes examined by the newline search since creation.
    #[cfg(test)]
    pub(crate) fn scan_work(&self) -> u64 {
        self.scan_work
    }

    /// Bytes buffered and not yet consumed.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next piece, or `None` when more input is needed.
    pub fn next_piece(&mut self) -> Option<Piece> {
        loop {
            let from = self.scanned;
            let found = memchr::memchr(b'\n', &self.buf[from..]);
            match found {
                Some(i) => {
                    self.scan_work += i as u64 + 1;
                    let end = from + i;
                    let line_start = self.start;
                    self.start = end + 1;
                    self.scanned = self.start;
                    if self.discarding {
                        self.discarding = false;
                        continue;
                    }
                    if end + 1 - line_start > self.max_line_bytes {
                        return Some(Piece::TooLong);
                    }
                    return Some(Piece::Line(without_cr(&self.buf[line_start..end])));
                }
                None => {
                    self.scan_work += (self.buf.len() - from) as u64;
                    self.scanned = self.buf.len();
                    if self.discarding {
                        self.buf.clear();
                        self.start = 0;
                        self.scanned = 0;
                    } else if self.buffered() >= self.max_line_bytes {
                        self.buf.clear();
                        self.start = 0;
                        self.scanned = 0;
                        self.discarding = true;
                        return Some(Piece::TooLong);
                    }
                    return None;
                }
            }
        }
    }

    /// At the end of the stream: the last line if it had no `\n` (without a trailing `\r`),
    /// or `None` when nothing is left (or the rest belongs to a line already reported too
    /// long). The splitter is empty afterwards.
    pub fn finish(&mut self) -> Option<Piece> {
        let rest = &self.buf[self.start..];
        let piece = if self.discarding || rest.is_empty() {
            None
        } else if rest.len() >= self.max_line_bytes {
            Some(Piece::TooLong)
        } else {
            Some(Piece::Line(without_cr(rest)))
        };
        self.buf.clear();
        self.start = 0;
        self.scanned = 0;
        self.discarding = false;
        piece
    }
}

/// A copy of `line` without one trailing `\r`.
fn without_cr(line: &[u8]) -> Vec<u8> {
    line.strip_suffix(b"\r").unwrap_or(line).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: &mut LineSplitter) -> Vec<Piece> {
        std::iter::from_fn(|| s.next_piece()).collect()
    }

    #[test]
    fn lines_split_on_newline_and_lose_a_trailing_carriage_return() {
        let mut s = LineSplitter::new(512);
        s.push(b"a\r\nbc\n\nd");
        assert_eq!(
            all(&mut s),
            vec![
                Piece::Line(b"a".to_vec()),
                Piece::Line(b"bc".to_vec()),
                Piece::Line(Vec::new())
            ]
        );
        s.push(b"e\n");
        assert_eq!(all(&mut s), vec![Piece::Line(b"de".to_vec())]);
    }

    #[test]
    fn a_too_long_line_is_reported_once_and_dropped_up_to_its_newline() {
        let mut s = LineSplitter::new(4);
        s.push(b"abcd\nok\n");
        assert_eq!(
            all(&mut s),
            vec![Piece::TooLong, Piece::Line(b"ok".to_vec())]
        );
        s.push(b"xxxx");
        assert_eq!(all(&mut s), vec![Piece::TooLong]);
        s.push(b"yyyyyyyy");
        assert_eq!(all(&mut s), vec![]);
        s.push(b"y\nz\n");
        assert_eq!(all(&mut s), vec![Piece::Line(b"z".to_vec())]);
    }

    #[test]
    fn a_16_mib_line_read_in_8_kib_chunks_is_scanned_once() {
        let total = 16 << 20;
        let mut s = LineSplitter::new(total + 1);
        let chunk = vec![b'x'; 8192];
        for _ in 0..total / chunk.len() {
            s.push(&chunk);
            assert_eq!(s.next_piece(), None);
        }
        s.push(b"\n");
        match s.next_piece() {
            Some(Piece::Line(l)) => assert_eq!(l.len(), total),
            other => panic!("expected the long line, got {other:?}"),
        }
        // Every byte examined once (the old code examined ~total^2 / 16 KiB bytes).
        assert_eq!(s.scan_work(), total as u64 + 1);
    }

    #[test]
    fn many_short_lines_keep_the_buffer_small() {
        let mut s = LineSplitter::new(512);
        for i in 0..10_000 {
            s.push(format!("line {i}\n").as_bytes());
            assert!(matches!(s.next_piece(), Some(Piece::Line(_))));
        }
        assert_eq!(s.buffered(), 0);
        assert!(s.buf.capacity() < 64 * 1024, "{}", s.buf.capacity());
    }

    #[test]
    fn finish_returns_an_unterminated_last_line_once() {
        let mut s = LineSplitter::new(16);
        s.push(b"a\nlast\r");
        assert_eq!(all(&mut s), vec![Piece::Line(b"a".to_vec())]);
        assert_eq!(s.finish(), Some(Piece::Line(b"last".to_vec())));
        assert_eq!(s.finish(), None);
        assert_eq!(s.buffered(), 0);
    }

    #[test]
    fn finish_gives_nothing_after_a_newline_or_for_the_tail_of_a_dropped_line() {
        let mut s = LineSplitter::new(4);
        s.push(b"ok\n");
        assert_eq!(all(&mut s), vec![Piece::Line(b"ok".to_vec())]);
        assert_eq!(s.finish(), None);
        s.push(b"toolong");
        assert_eq!(all(&mut s), vec![Piece::TooLong]);
        s.push(b"more");
        assert_eq!(all(&mut s), vec![]);
        assert_eq!(s.finish(), None);
        s.push(b"abcd");
        assert_eq!(s.finish(), Some(Piece::TooLong));
    }

    #[test]
    fn lines_cut_across_reads_at_every_position_come_out_whole() {
        let text = b"alpha\r\nbeta\n\ngamma delta\nlast";
        for cut in 0..=text.len() {
            let mut s = LineSplitter::new(64);
            s.push(&text[..cut]);
            let mut got = all(&mut s);
            s.push(&text[cut..]);
            got.extend(all(&mut s));
            got.extend(s.finish());
            let want: Vec<Piece> = ["alpha", "beta", "", "gamma delta", "last"]
                .iter()
                .map(|l| Piece::Line(l.as_bytes().to_vec()))
                .collect();
            assert_eq!(got, want, "cut at {cut}");
        }
    }
}
