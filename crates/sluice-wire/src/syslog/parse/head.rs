//! Flume's RFC 5424 and RFC 3164 syslog patterns, matched by hand: each function returns
//! exactly the captures Rust's `regex` gives for the preferred (leftmost-first) match of
//!
//! ```text
//! 5424: \A<([0-9]{1,3})>(?:([0-9]?)WS?)(?:(TS)|-)WS(?:(HOST)|-)WS([^\r\n]*)\z
//!       TS = [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?
//!            (?:[+-][0-9]{2}:[0-9]{2}|Z)?
//! 3164: \A<([0-9]{1,3})>(?:([0-9])?WS?)([A-Z][a-z][a-z]WS{1,2}[0-9]{1,2}WS
//!       [0-9]{2}:[0-9]{2}:[0-9]{2})WS(HOST)WS([^\r\n]*)\z
//! WS = [ \t\n\x0B\x0C\r], HOST = [A-Za-z0-9_][A-Za-z0-9_.@-]*  (ASCII classes, bytes)
//! ```
//!
//! The regexes themselves are the tests' oracle (`head_tests.rs`). Where a backtracking
//! engine could choose, this code chooses in the same order:
//!
//! - The version digit and the white space after it are the only real choice points: they
//!   are tried digit-then-none and space-then-none, and a choice is kept only if the rest of
//!   the pattern, body included, matches (a `<13>2026-…` frame's `2` is not a version, the
//!   stamp needs it).
//! - Everything else is determined by its first failure: each greedy repetition (priority
//!   digits, the fraction, `WS{1,2}`, the day, the host) is followed by something its own
//!   class cannot match, so a shorter repetition can never succeed where the longest failed;
//!   the alternatives (stamp or `-`, host or `-`, `+hh:mm`, `Z` or no zone) start with
//!   different bytes.
//! - The body, `([^\r\n]*)\z`, is everything after the head, and the whole pattern fails when
//!   it holds a CR or LF (after any earlier choice has been retried).

/// The fields a format's pattern captures in a frame (`None`: the group took no part).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Fields<'f> {
    pub(super) priority: Option<&'f [u8]>,
    pub(super) version: Option<&'f [u8]>,
    pub(super) stamp: Option<&'f [u8]>,
    pub(super) host: Option<&'f [u8]>,
    /// Where the body starts; it runs to the end of the frame.
    pub(super) body_at: usize,
}

/// `[ \t\n\x0B\x0C\r]`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

fn is_host_first(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_host(b: u8) -> bool {
    is_host_first(b) || matches!(b, b'.' | b'@' | b'-')
}

/// A frame and the matching steps over it: each takes a position and returns the position
/// after what it matched.
#[derive(Clone, Copy)]
struct Frame<'f>(&'f [u8]);

impl<'f> Frame<'f> {
    fn at(self, i: usize) -> Option<u8> {
        self.0.get(i).copied()
    }

    fn is(self, i: usize, class: fn(u8) -> bool) -> bool {
        self.at(i).is_some_and(class)
    }

    fn byte(self, i: usize, want: u8) -> Option<usize> {
        (self.at(i)? == want).then_some(i + 1)
    }

    fn space(self, i: usize) -> Option<usize> {
        self.is(i, is_space).then_some(i + 1)
    }

    /// Exactly `n` digits.
    fn digits(self, i: usize, n: usize) -> Option<usize> {
        let d = self.0.get(i..i.checked_add(n)?)?;
        d.iter().all(u8::is_ascii_digit).then_some(i + n)
    }

    /// `class{1,max}`, greedy: the longest run.
    fn run(self, i: usize, max: usize, class: fn(u8) -> bool) -> Option<usize> {
        let n = self
            .0
            .get(i..)?
            .iter()
            .take(max)
            .take_while(|&&b| class(b))
            .count();
        (n > 0).then_some(i + n)
    }

    fn slice(self, from: usize, to: usize) -> Option<&'f [u8]> {
        self.0.get(from..to)
    }

    /// `([^\r\n]*)\z` at `i`.
    fn body_ok(self, i: usize) -> bool {
        self.0
            .get(i..)
            .is_some_and(|rest| memchr::memchr2(b'\r', b'\n', rest).is_none())
    }

    /// `\A<([0-9]{1,3})>`: the priority's digits and the position after `>`.
    fn priority(self) -> Option<(&'f [u8], usize)> {
        let digits_end = self.run(1, 3, |b| b.is_ascii_digit())?;
        self.byte(0, b'<')?;
        let after = self.byte(digits_end, b'>')?;
        Some((self.slice(1, digits_end)?, after))
    }

    /// `HOST WS`: the host's end.
    fn host(self, i: usize) -> Option<usize> {
        if !self.is(i, is_host_first) {
            return None;
        }
        self.run(i, usize::MAX, is_host)
    }

    /// `(?:(X)|-)` at `i`: `-` gives no capture, otherwise `x` matches X; the capture (if
    /// any) and the position after it.
    fn nil_or(
        self,
        i: usize,
        x: impl Fn(usize) -> Option<usize>,
    ) -> Option<(Option<&'f [u8]>, usize)> {
        if let Some(after) = self.byte(i, b'-') {
            return Some((None, after));
        }
        let end = x(i)?;
        Some((Some(self.slice(i, end)?), end))
    }

    /// RFC 5424's stamp from `i` (its zone and fraction optional): its end.
    fn stamp_5424(self, i: usize) -> Option<usize> {
        let i = self.digits(i, 4)?;
        let i = self.digits(self.byte(i, b'-')?, 2)?;
        let i = self.digits(self.byte(i, b'-')?, 2)?;
        let i = self.digits(self.byte(i, b'T')?, 2)?;
        let i = self.digits(self.byte(i, b':')?, 2)?;
        let mut i = self.digits(self.byte(i, b':')?, 2)?;
        if let Some(end) = self
            .byte(i, b'.')
            .and_then(|d| self.run(d, 6, |b| b.is_ascii_digit()))
        {
            i = end;
        }
        if matches!(self.at(i), Some(b'+' | b'-')) {
            let zone = self
                .digits(i + 1, 2)
                .and_then(|c| self.byte(c, b':'))
                .and_then(|m| self.digits(m, 2));
            if let Some(end) = zone {
                i = end;
            }
        } else if let Some(end) = self.byte(i, b'Z') {
            i = end;
        }
        Some(i)
    }

    /// RFC 3164's `MMM d HH:mm:ss` from `i`: its end.
    fn stamp_3164(self, i: usize) -> Option<usize> {
        if !(self.is(i, |b| b.is_ascii_uppercase())
            && self.is(i + 1, |b| b.is_ascii_lowercase())
            && self.is(i + 2, |b| b.is_ascii_lowercase()))
        {
            return None;
        }
        let i = self.run(i + 3, 2, is_space)?;
        let i = self.space(self.run(i, 2, |b| b.is_ascii_digit())?)?;
        let i = self.digits(i, 2)?;
        let i = self.digits(self.byte(i, b':')?, 2)?;
        self.digits(self.byte(i, b':')?, 2)
    }

    /// After `(?:[0-9]?WS?)` at `from`, in the order a backtracking engine tries them: the
    /// version's end and where the stamp starts.
    fn versions(self, from: usize) -> impl Iterator<Item = (usize, usize)> + 'f {
        let digit = usize::from(self.is(from, |b| b.is_ascii_digit()));
        (0..=digit).rev().flat_map(move |d| {
            let v = from + d;
            let space = usize::from(self.is(v, is_space));
            (0..=space).rev().map(move |s| (v, v + s))
        })
    }
}

/// Flume's RFC 5424 pattern.
pub(super) fn rfc5424(frame: &[u8]) -> Option<Fields<'_>> {
    let f = Frame(frame);
    let (priority, v0) = f.priority()?;
    f.versions(v0).find_map(|(v1, s0)| {
        let (stamp, s1) = f.nil_or(s0, |i| f.stamp_5424(i))?;
        let h0 = f.space(s1)?;
        let (host, h1) = f.nil_or(h0, |i| f.host(i))?;
        let body_at = f.space(h1)?;
        f.body_ok(body_at).then_some(Fields {
            priority: Some(priority),
            version: Some(f.slice(v0, v1)?),
            stamp,
            host,
            body_at,
        })
    })
}

/// Flume's RFC 3164 pattern.
pub(super) fn rfc3164(frame: &[u8]) -> Option<Fields<'_>> {
    let f = Frame(frame);
    let (priority, v0) = f.priority()?;
    f.versions(v0).find_map(|(v1, s0)| {
        let s1 = f.stamp_3164(s0)?;
        let h0 = f.space(s1)?;
        let h1 = f.host(h0)?;
        let body_at = f.space(h1)?;
        f.body_ok(body_at).then_some(Fields {
            priority: Some(priority),
            version: (v1 > v0).then(|| f.slice(v0, v1)).flatten(),
            stamp: Some(f.slice(s0, s1)?),
            host: Some(f.slice(h0, h1)?),
            body_at,
        })
    })
}

#[cfg(test)]
#[path = "w1_line.rs"]
mod w1_line;

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;
