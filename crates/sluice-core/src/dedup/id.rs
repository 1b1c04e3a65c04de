//! An event id ([`IdSpan`]) and its text form in the [`EVENT_ID_HEADER`] header:
//! `ORIGIN:SEQ` (16 hex digits, then the decimal number: the span `(SEQ-1, SEQ]`) or
//! `ORIGIN:LO-HI` (the span `(LO, HI]`, as a file source writes a line's byte range).

use std::fmt;

/// The header that carries an event's id from its first durable commit on.
pub const EVENT_ID_HEADER: &str = "sluiceId";

/// Most bytes the id header adds to a put record: the key, `ORIGIN:LO-HI` at its longest,
/// and their two length fields.
pub const ID_HEADER_BYTES_MAX: usize = 8 + EVENT_ID_HEADER.len() + 16 + 1 + 20 + 1 + 20;

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

    /// Parses the header's text; `None` when it is not an id this code writes.
    pub fn parse(text: &str) -> Option<Self> {
        let (origin, rest) = text.split_once(':')?;
        if origin.len() != 16 || !origin.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let origin = u64::from_str_radix(origin, 16).ok()?;
        match rest.split_once('-') {
            Some((lo, hi)) => Self::new(origin, number(lo)?, number(hi)?),
            None => Self::one(origin, number(rest)?),
        }
    }
}

/// A decimal number without sign or leading `+` (what `u64::from_str` would also take).
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl fmt::Display for IdSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo + 1 == self.hi {
            write!(f, "{:016x}:{}", self.origin, self.hi)
        } else {
            write!(f, "{:016x}:{}-{}", self.origin, self.lo, self.hi)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
