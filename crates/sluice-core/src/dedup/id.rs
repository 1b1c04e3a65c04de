//! An event id ([`IdSpan`]) and its text form in the [`EVENT_ID_HEADER`] header:
//! `ORIGIN:SEQ` (16 hex digits, then the decimal number: the span `(SEQ-1, SEQ]`) or
//! `ORIGIN:LO-HI` (the span `(LO, HI]`, as a file source writes a line's byte range).

use std::fmt;

/// The header that carries an event's id from its first durable commit on.
pub const EVENT_ID_HEADER: &str = "sluiceId";

/// Most bytes the id header adds to a put record: the key, `ORIGIN:LO-HI` at its longest,
/// and their two length fields.
pub const ID_HEADER_BYTES_MAX: usize = 8 + EVENT_ID_HEADER.len() + 16 + 1 + 20 + 1 + 20;

/// The highest id a span may end at: no origin issues 2^63 ids (a channel numbering a million
/// events a second for 290,000 years), so a span past it is forged or wrapped, and a channel
/// refuses it ([`IdSpan::plausible`]). Keeping ids this far below `u64::MAX` also keeps every
/// `hi + n` of the channel's own numbering from overflowing.
pub const ID_MAX: u64 = i64::MAX as u64;

/// The widest span one event may carry: a file source's line is a byte range of at most one
/// record (64 MiB) read through a charset of at most 4 bytes per character, with room to
/// spare; a channel's own ids are spans of one. A wider span would hide a whole future range
/// of its origin's ids behind one event, so a channel refuses it ([`IdSpan::plausible`]).
pub const ID_SPAN_WIDTH_MAX: u64 = 1 << 30;

/// The ids `(lo, hi]` of origin `origin`; `lo < hi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdSpan {
    /// Whose sequence space.
    pub origin: u64,
    /// Exclusive low end.
    pub lo: u64,
    /// Inclusive high end.
    pub hi: u64,
}

impl IdSpan {
    /// The one id `seq` of `origin` (`seq` ≥ 1).
    pub fn one(origin: u64, seq: u64) -> Option<Self> {
        Self::new(origin, seq.checked_sub(1)?, seq)
    }

    /// The span `(lo, hi]`, if `lo < hi`.
    pub fn new(origin: u64, lo: u64, hi: u64) -> Option<Self> {
        (lo < hi).then_some(IdSpan { origin, lo, hi })
    }

    /// Whether a channel may take this span as an event's id: it ends at most at [`ID_MAX`]
    /// and is at most [`ID_SPAN_WIDTH_MAX`] wide. Anything else is not an id Sluice gives
    /// (a forgery or a wrapped number), and treating it as one could make a channel drop
    /// events its origin has not even numbered yet.
    pub fn plausible(&self) -> bool {
        self.hi <= ID_MAX && self.hi - self.lo <= ID_SPAN_WIDTH_MAX
    }

    /// Parses the header's text; `None` when it is not an id this code writes: 16 hex
    /// digits, `:`, then a number `N` (the id `N`) or `LO-HI`. One pass over the bytes: every
    /// event a file channel with `eventIds` takes from a Sluice hop or a file source is
    /// parsed (through `split_once`, `from_str_radix` and `parse` it was a tenth of a
    /// collector's instructions per event).
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let (hex, rest) = (b.get(..16)?, b.get(16..)?);
        let rest = rest.strip_prefix(b":")?;
        let origin = hex
            .iter()
            .try_fold(0u64, |o, &c| Some(o << 4 | u64::from(hex_digit(c)?)))?;
        match rest.iter().position(|&c| c == b'-') {
            Some(i) => Self::new(origin, number(&rest[..i])?, number(&rest[i + 1..])?),
            None => Self::one(origin, number(rest)?),
        }
    }
}

/// The value of one hex digit (either case).
fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// A decimal number of one or more digits, without sign, that fits a `u64` (what
/// `u64::from_str` takes, less a leading `+`).
fn number(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &c| {
        let d = c.checked_sub(b'0').filter(|d| *d < 10)?;
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

impl IdSpan {
    /// The header's text, written without `fmt` or an allocation: every event a file channel
    /// gives an id, and every line a file source reads, writes one (through `fmt` and a
    /// `String` it was most of what ids cost a receiver).
    pub fn text(&self) -> IdText {
        IdPrefix::new(self.origin).span(self.lo, self.hi)
    }
}

/// Bytes of an id's `origin:` part.
const PREFIX_BYTES: usize = 17;

/// The `origin:` part of one origin's ids, written once for many: a channel numbering a
/// batch writes the origin's hex digits once, not once per event ([`IdPrefix::one`]).
#[derive(Clone, Copy, Debug)]
pub struct IdPrefix {
    buf: [u8; PREFIX_BYTES],
}

impl IdPrefix {
    /// The prefix of `origin`'s ids.
    pub fn new(origin: u64) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [b':'; PREFIX_BYTES];
        for (i, b) in buf[..16].iter_mut().enumerate() {
            *b = HEX[((origin >> (60 - 4 * i)) & 0xf) as usize];
        }
        IdPrefix { buf }
    }

    fn text(&self) -> IdText {
        let mut t = IdText {
            buf: [0; ID_TEXT_BYTES_MAX],
            len: PREFIX_BYTES,
        };
        t.buf[..PREFIX_BYTES].copy_from_slice(&self.buf);
        t
    }

    /// The text of the single id `seq` of this origin (what `IdSpan::one(origin, seq)`'s
    /// `text` gives).
    pub fn one(&self, seq: u64) -> IdText {
        let mut t = self.text();
        t.push_decimal(seq);
        t
    }

    /// The text of this origin's ids `(lo, hi]` (what `IdSpan::new(origin, lo, hi)`'s `text`
    /// gives; `lo < hi`).
    pub fn span(&self, lo: u64, hi: u64) -> IdText {
        let mut t = self.text();
        if lo.checked_add(1) != Some(hi) {
            t.push_decimal(lo);
            t.buf[t.len] = b'-';
            t.len += 1;
        }
        t.push_decimal(hi);
        t
    }
}

/// Longest text form: 16 hex digits, `:`, two 20-digit numbers and `-`.
const ID_TEXT_BYTES_MAX: usize = 16 + 1 + 20 + 1 + 20;

/// An id's text form on the stack ([`IdSpan::text`]).
#[derive(Clone, Copy)]
pub struct IdText {
    buf: [u8; ID_TEXT_BYTES_MAX],
    len: usize,
}

impl IdText {
    /// Appends `n` in decimal (at most 20 digits: room is kept for two).
    fn push_decimal(&mut self, mut n: u64) {
        // Two digits per division, from a table of the hundred pairs.
        const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
            2021222324252627282930313233343536373839\
            4041424344454647484950515253545556575859\
            6061626364656667686970717273747576777879\
            8081828384858687888990919293949596979899";
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        while n >= 100 {
            let pair = (n % 100) as usize * 2;
            n /= 100;
            at -= 2;
            digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        }
        if n >= 10 {
            let pair = n as usize * 2;
            at -= 2;
            digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        } else {
            at -= 1;
            digits[at] = b'0' + n as u8;
        }
        let d = &digits[at..];
        self.buf[self.len..self.len + d.len()].copy_from_slice(d);
        self.len += d.len();
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits, decimal digits, ':' and '-' are ever written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl AsRef<str> for IdText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for IdText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for IdSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text().as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_past_the_id_limit_or_wider_than_one_event_are_implausible() {
        let ok = |lo, hi| IdSpan::new(7, lo, hi).is_some_and(|s| s.plausible());
        assert!(ok(0, 1));
        assert!(ok(ID_MAX - 1, ID_MAX));
        assert!(ok(100, 100 + ID_SPAN_WIDTH_MAX));
        assert!(!ok(ID_MAX, ID_MAX + 1), "past ID_MAX");
        assert!(!ok(2000, u64::MAX), "the forged tail of an origin");
        assert!(!ok(100, 101 + ID_SPAN_WIDTH_MAX), "wider than one event");
    }

    #[test]
    fn the_text_form_round_trips_and_refuses_what_it_does_not_write() {
        let one = IdSpan::one(0xab, 7).unwrap();
        assert_eq!(one.to_string(), "00000000000000ab:7");
        assert_eq!(IdSpan::parse("00000000000000ab:7"), Some(one));
        let range = IdSpan::new(u64::MAX, 10, 42).unwrap();
        assert_eq!(range.to_string(), "ffffffffffffffff:10-42");
        assert_eq!(IdSpan::parse(&range.to_string()), Some(range));
        let longest = IdSpan::new(u64::MAX, u64::MAX - 1, u64::MAX).unwrap();
        assert!(8 + EVENT_ID_HEADER.len() + longest.to_string().len() <= ID_HEADER_BYTES_MAX);
        assert_eq!(
            IdSpan::new(0, 0, u64::MAX).unwrap().to_string(),
            format!("0000000000000000:0-{}", u64::MAX)
        );
        for bad in [
            "",
            "ab:7",
            "00000000000000ab:0",
            "00000000000000ab:+7",
            "00000000000000ab:-7",
            "00000000000000ab:7-7",
            "00000000000000ab:8-7",
            "00000000000000ag:7",
            "00000000000000ab:99999999999999999999",
            "00000000000000ab7",
        ] {
            assert_eq!(IdSpan::parse(bad), None, "{bad:?}");
        }
    }

    /// The parser before the one-pass one, as the model.
    fn reference_parse(text: &str) -> Option<IdSpan> {
        let number = |s: &str| -> Option<u64> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        let (origin, rest) = text.split_once(':')?;
        if origin.len() != 16 || !origin.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let origin = u64::from_str_radix(origin, 16).ok()?;
        match rest.split_once('-') {
            Some((lo, hi)) => IdSpan::new(origin, number(lo)?, number(hi)?),
            None => IdSpan::one(origin, number(rest)?),
        }
    }

    proptest::proptest! {
        /// The hand-written text form is `fmt`'s, and parses back.
        #[test]
        fn the_text_form_is_fmts_and_parses_back(origin: u64, lo: u64, len in 1u64..4, wide: bool) {
            let hi = if wide { lo.saturating_add(len) } else { lo.saturating_add(1) };
            if let Some(span) = IdSpan::new(origin, lo, hi) {
                let want = if lo + 1 == hi {
                    format!("{origin:016x}:{hi}")
                } else {
                    format!("{origin:016x}:{lo}-{hi}")
                };
                let text = span.text();
                proptest::prop_assert_eq!(text.as_str(), want.as_str());
                proptest::prop_assert_eq!(IdSpan::parse(text.as_str()), Some(span));
            }
        }

        /// The one-pass parser takes exactly what the `str`-method parser it replaced took.
        #[test]
        fn parse_takes_what_the_reference_parser_takes(
            tail in "[0-9a-fA-F:+ x-]{0,30}",
            head in "[0-9a-fA-F]{14,17}",
            sep in proptest::sample::select(vec![":", "", "-", "::"]),
            (lo, dash, hi) in ("[0-9]{0,21}", proptest::bool::ANY, "[0-9]{0,21}"),
        ) {
            let numbers = format!("{lo}{}{hi}", if dash { "-" } else { "" });
            for text in [
                format!("{head}{sep}{tail}"),
                tail.clone(),
                format!("00000000000000ab:{tail}"),
                format!("{head}:{numbers}"),
            ] {
                proptest::prop_assert_eq!(IdSpan::parse(&text), reference_parse(&text), "{:?}", text);
            }
        }

        /// A prefix's single ids are `IdSpan::one`'s text, short numbers and long.
        #[test]
        fn a_prefixs_ids_are_the_spans_text(origin: u64, small in 1u64..100_000, big: u64, long: bool) {
            let seq = if long { big.max(1) } else { small };
            let span = IdSpan::one(origin, seq);
            proptest::prop_assert!(span.is_some());
            if let Some(span) = span {
                let (text, want) = (IdPrefix::new(origin).one(seq), span.text());
                proptest::prop_assert_eq!(text.as_str(), want.as_str());
                proptest::prop_assert_eq!(text.as_str(), format!("{origin:016x}:{seq}"));
            }
        }
    }
}
