//! Pure TCP framing of syslog streams (RFC 6587): by newline (Flume's only framing) and by
//! octet count (`LEN SP MSG`), chosen per message. A message that starts with a nonzero digit
//! followed by up to 9 more digits, a space and `<` is octet-counted; anything else runs to
//! the next `\n` (a `\r` before it is dropped, empty lines are skipped).
//!
//! No frame is longer than `eventSize` bytes: as in Flume, a longer message is cut there (the
//! first part is marked cut, so the parser marks it Incomplete) and its rest is framed again
//! as further messages, so bytes are never dropped and memory stays bounded.

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

    /// Bytes received but not yet framed.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    fn rest(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    fn take(&mut self, n: usize, skip: usize, cut: bool) -> Frame {
        let bytes = self.rest().get(..n).unwrap_or_default().to_vec();
        self.start += n + skip;
        Frame { bytes, cut }
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
                self.start += 1;
                continue;
            }
            if self.octet_counting && first.is_ascii_digit() && first != b'0' {
                match octet_prefix(rest) {
                    Prefix::NeedMore => return None,
                    Prefix::Count(len, prefix) => {
                        self.start += prefix;
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
        let window = rest.get(..self.event_size.min(rest.len())).unwrap_or(rest);
        if let Some(p) = window.iter().position(|&b| b == b'\n') {
            let n = if p > 0 && window.get(p - 1) == Some(&b'\r') {
                p - 1
            } else {
                p
            };
            return Some(self.take(n, p + 1 - n, false));
        }
        if rest.len() >= self.event_size {
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

fn octet_prefix(rest: &[u8]) -> Prefix {
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
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
        .fold(0usize, |n, &d| n.saturating_mul(10).saturating_add(usize::from(d - b'0')));
    Prefix::Count(len, digits + 1)
}
