//! Splitting a byte stream into newline-terminated lines with a length limit, scanning each
//! byte once: a long line read in many small chunks costs time linear in its length (the
//! search for `\n` resumes where the previous one stopped) instead of rescanning the buffer
//! after every read.

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
    pub fn scan_work(&self) -> u64 {
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
            let found = self.buf[from..].iter().position(|&b| b == b'\n');
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
                    let mut line = self.buf[line_start..end].to_vec();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    return Some(Piece::Line(line));
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
}
