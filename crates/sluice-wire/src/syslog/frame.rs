//! Pure TCP framing of syslog streams (RFC 6587): by newline (Flume's only framing) and by
//! octet count (`LEN SP MSG`), chosen per message. A message that starts with a nonzero digit
//! followed by up to 9 more digits, a space and `<` is octet-counted; anything else runs to
//! the next `\n` (a `\r` before it is dropped, empty lines are skipped).
//!
//! No frame is longer than `eventSize` bytes: as in Flume, a longer message is cut there (the
//! first part is marked cut, so the parser marks it Incomplete) and its rest is framed again
//! as further messages, so bytes are never dropped and memory stays bounded. Framing is
//! linear in the input: a line still being received is searched for its newline only from
//! where the last search stopped, and an octet count is recognised from its first 12 bytes.

/// Longest octet count accepted (digits); longer digit runs are read as a newline frame.
pub const OCTET_COUNT_DIGITS_MAX: usize = 10;

/// One message's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The message, without length prefix or terminator.
    pub bytes: Vec<u8>,
    /// Cut at `eventSize`: the message continues in the next frame.
    pub cut: bool,
}

/// Splits a byte stream into frames. Feed it with [`Framer::push`], drain it with
/// [`Framer::next_frame`]; at the end of the stream [`Framer::finish`] returns the rest.
#[derive(Debug)]
pub struct Framer {
    event_size: usize,
    octet_counting: bool,
    buf: Vec<u8>,
    start: usize,
    /// Bytes left of an octet-counted message being read.
    octets_left: usize,
    /// Whether the octet-counted message being read has produced a frame yet.
    octet_started: bool,
    /// Bytes after `start` already searched for a newline without finding one (the line
    /// being received): the next search starts there, so a long line arriving in small
    /// reads is searched once, not once per read.
    scanned: usize,
    /// Bytes examined in newline and octet-count searches so far (linear in the input).
    scanned_total: u64,
}

impl Framer {
    /// A framer cutting at `event_size` bytes (at least 1); `octet_counting` enables RFC 6587
    /// octet counting next to newline framing.
    pub fn new(event_size: usize, octet_counting: bool) -> Framer {
        Framer {
            event_size: event_size.max(1),
            octet_counting,
            buf: Vec::new(),
            start: 0,
            octets_left: 0,
            octet_started: false,
            scanned: 0,
            scanned_total: 0,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Bytes examined in newline searches so far: at most about the bytes pushed, however
    /// they were split into reads (a partial line is never searched twice).
    pub fn bytes_scanned(&self) -> u64 {
        self.scanned_total
    }

    /// Bytes received but not yet framed.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Bytes of memory the buffer holds (what a caller's memory budget counts).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Keeps only the bytes not yet framed, giving the rest of the buffer's memory back.
    pub fn shrink(&mut self) {
        self.buf.drain(..self.start);
        self.start = 0;
        self.buf.shrink_to_fit();
    }

    fn rest(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    fn take(&mut self, n: usize, skip: usize, cut: bool) -> Frame {
        let bytes = self.rest().get(..n).unwrap_or_default().to_vec();
        self.advance(n + skip);
        Frame { bytes, cut }
    }

    /// Moves the start of the unframed bytes on by `n` (a new message starts there).
    fn advance(&mut self, n: usize) {
        self.start += n;
        self.scanned = 0;
    }

    /// The next complete frame, if the buffered bytes hold one.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            if self.octets_left > 0 {
                return self.next_octet_chunk();
            }
            let rest = self.rest();
            let first = *rest.first()?;
            if first == b'\n' {
                self.advance(1);
                continue;
            }
            if self.octet_counting && self.scanned == 0 && first.is_ascii_digit() && first != b'0' {
                let (prefix, examined) = octet_prefix(rest);
                self.scanned_total += examined as u64;
                match prefix {
                    Prefix::NeedMore => return None,
                    Prefix::Count(len, prefix) => {
                        self.advance(prefix);
                        self.octets_left = len;
                        self.octet_started = false;
                        continue;
                    }
                    Prefix::NotOctet => {}
                }
            }
            return self.next_line();
        }
    }

    fn next_line(&mut self) -> Option<Frame> {
        let rest = self.rest();
        let limit = self.event_size.min(rest.len());
        let from = self.scanned.min(limit);
        let window = rest.get(..limit).unwrap_or(rest);
        let found = memchr::memchr(b'\n', window.get(from..).unwrap_or_default()).map(|p| p + from);
        let cr = found.is_some_and(|p| p > 0 && window.get(p - 1) == Some(&b'\r'));
        let rest_len = rest.len();
        self.scanned_total += (limit - from) as u64;
        if let Some(p) = found {
            let n = if cr { p - 1 } else { p };
            return Some(self.take(n, p + 1 - n, false));
        }
        self.scanned = limit;
        if rest_len >= self.event_size {
            return Some(self.take(self.event_size, 0, true));
        }
        None
    }

    fn next_octet_chunk(&mut self) -> Option<Frame> {
        let want = self.octets_left.min(self.event_size);
        if self.rest().len() < want {
            return None;
        }
        let cut = !self.octet_started && self.octets_left > self.event_size;
        self.octet_started = true;
        self.octets_left -= want;
        let mut f = self.take(want, 0, cut);
        if self.octets_left == 0 && !f.cut && f.bytes.last() == Some(&b'\n') {
            f.bytes.pop();
        }
        Some(f)
    }

    /// The end of the stream: whatever is left (a last message without terminator, or the
    /// part of an octet-counted message that arrived) as a final frame.
    pub fn finish(&mut self) -> Option<Frame> {
        if let Some(f) = self.next_frame() {
            return Some(f);
        }
        self.octets_left = 0;
        let n = self.rest().len();
        if n == 0 {
            return None;
        }
        let mut f = self.take(n, 0, false);
        if f.bytes.last() == Some(&b'\r') {
            f.bytes.pop();
        }
        Some(f)
    }
}

enum Prefix {
    NeedMore,
    NotOctet,
    /// (message length, prefix length including the space)
    Count(usize, usize),
}

/// Whether `rest` starts with an octet count, and how many bytes were looked at (at most
/// [`OCTET_COUNT_DIGITS_MAX`] + 2, however long a run of digits is).
fn octet_prefix(rest: &[u8]) -> (Prefix, usize) {
    let digits = rest
        .iter()
        .take(OCTET_COUNT_DIGITS_MAX + 1)
        .take_while(|b| b.is_ascii_digit())
        .count();
    (octet_prefix_of(rest, digits), (digits + 2).min(rest.len()))
}

fn octet_prefix_of(rest: &[u8], digits: usize) -> Prefix {
    if digits > OCTET_COUNT_DIGITS_MAX {
        return Prefix::NotOctet;
    }
    if digits == rest.len() || digits + 1 == rest.len() {
        return if rest.get(digits).is_none_or(|&b| b == b' ') {
            Prefix::NeedMore
        } else {
            Prefix::NotOctet
        };
    }
    if rest.get(digits) != Some(&b' ') || rest.get(digits + 1) != Some(&b'<') {
        return Prefix::NotOctet;
    }
    let len = rest
        .get(..digits)
        .unwrap_or_default()
        .iter()
        .fold(0usize, |n, &d| {
            n.saturating_mul(10).saturating_add(usize::from(d - b'0'))
        });
    Prefix::Count(len, digits + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(f: &mut Framer) -> Vec<(String, bool)> {
        std::iter::from_fn(|| f.next_frame())
            .map(|fr| (String::from_utf8_lossy(&fr.bytes).into_owned(), fr.cut))
            .collect()
    }

    fn whole(s: &str) -> (String, bool) {
        (s.to_owned(), false)
    }

    #[test]
    fn lines_are_split_on_newline_dropping_cr_and_skipping_empty_lines() {
        let mut f = Framer::new(100, true);
        f.push(b"<1>a\r\n\n\n<2>b\n<3>c");
        assert_eq!(all(&mut f), vec![whole("<1>a"), whole("<2>b")]);
        f.push(b"d\n");
        assert_eq!(all(&mut f), vec![whole("<3>cd")]);
        assert_eq!(f.finish(), None);
    }

    #[test]
    fn octet_counted_messages_are_read_by_length_even_across_reads() {
        let mut f = Framer::new(100, true);
        f.push(b"8 <1>a\nb c8 <2>x");
        assert_eq!(all(&mut f), vec![whole("<1>a\nb c")]);
        f.push(b"yz\nw8 <3>");
        assert_eq!(all(&mut f), vec![whole("<2>xyz\nw")]);
        f.push(b"abcd\n");
        assert_eq!(all(&mut f), vec![whole("<3>abcd")]);
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn digits_not_followed_by_space_and_priority_are_a_plain_line() {
        let mut f = Framer::new(100, true);
        f.push(b"5 apples\n123\n12345678901 <1>x\n");
        assert_eq!(
            all(&mut f),
            vec![whole("5 apples"), whole("123"), whole("12345678901 <1>x")]
        );
    }

    #[test]
    fn octet_counting_can_be_disabled() {
        let mut f = Framer::new(100, false);
        f.push(b"4 <1>a\n");
        assert_eq!(all(&mut f), vec![whole("4 <1>a")]);
    }

    #[test]
    fn a_line_of_event_size_or_more_is_cut_and_its_rest_framed_again() {
        let mut f = Framer::new(10, true);
        f.push(b"<1>4567890\n<1>45678901234\n<2>ok\n");
        assert_eq!(
            all(&mut f),
            vec![
                ("<1>4567890".to_owned(), true),
                ("<1>4567890".to_owned(), true),
                whole("1234"),
                whole("<2>ok"),
            ]
        );
    }

    #[test]
    fn an_octet_counted_message_longer_than_event_size_is_cut_into_chunks() {
        let mut f = Framer::new(10, true);
        f.push(b"25 <1>3456789012345678901234567<2>");
        assert_eq!(
            all(&mut f),
            vec![
                ("<1>3456789".to_owned(), true),
                whole("0123456789"),
                whole("01234"),
            ]
        );
        assert_eq!(
            f.finish(),
            Some(Frame {
                bytes: b"567<2>".to_vec(),
                cut: false
            })
        );
    }

    #[test]
    fn finish_returns_a_last_line_without_newline() {
        let mut f = Framer::new(100, true);
        f.push(b"<1>a\n<2>b\r");
        assert_eq!(f.finish().map(|x| x.bytes), Some(b"<1>a".to_vec()));
        assert_eq!(f.finish().map(|x| x.bytes), Some(b"<2>b".to_vec()));
        assert_eq!(f.finish(), None);
        let mut f = Framer::new(100, true);
        f.push(b"12");
        assert_eq!(f.next_frame(), None, "might be an octet count");
        assert_eq!(f.finish().map(|x| x.bytes), Some(b"12".to_vec()));
    }

    #[test]
    fn a_long_partial_line_read_in_small_pieces_is_searched_once() {
        let event_size = (16 << 20) + 1;
        let mut f = Framer::new(event_size, true);
        let piece = [b'x'; 8192];
        for _ in 0..(16 << 20) / piece.len() {
            f.push(&piece);
            assert_eq!(f.next_frame(), None);
        }
        f.push(b"\n");
        assert_eq!(f.next_frame().map(|fr| fr.bytes.len()), Some(16 << 20));
        assert!(
            f.bytes_scanned() <= 2 * (16 << 20),
            "{} bytes searched for 16 MiB of input",
            f.bytes_scanned()
        );
        // Digits are not an endless octet count either.
        let mut f = Framer::new(event_size, true);
        let digits = [b'7'; 8192];
        for _ in 0..256 {
            f.push(&digits);
            assert_eq!(f.next_frame(), None);
        }
        assert!(f.bytes_scanned() <= 2 * 256 * 8192, "{}", f.bytes_scanned());
    }

    #[test]
    fn a_buffer_of_garbage_without_newlines_stays_bounded() {
        let mut f = Framer::new(50, true);
        for i in 0..1000u32 {
            f.push(&[(i % 200) as u8 | 1; 37]);
            while f.next_frame().is_some() {}
            assert!(f.pending() < 50 + 12);
        }
    }
}
