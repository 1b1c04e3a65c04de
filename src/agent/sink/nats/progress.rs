//! The nats sink's progress record: per origin, the spans of event ids already stored in the
//! stream ([`Ranges`], `(lo, hi]` sorted, touching spans merged: an origin delivered in order
//! is one range), as the payload of the message on `<progressSubject>.<origin>` that every
//! atomic batch writes together with the events (docs/nats.md). Pure: text in, text out.
//!
//! A record is signed ([`sign`], [`verify`]): `sluice-progress 2 key=<id> LO-HI ... mac=<hex>`,
//! the MAC (HMAC-SHA256 with the sink's [`ProgressKey`]) over the record's subject and the
//! payload before ` mac=`, so a record is good only on the subject (the origin) it was
//! written for. Anything else on that subject is a [`Refusal`], never a reason to drop events.

use sluice_core::dedup::IdSpan;

use super::progress_key::ProgressKey;

/// Most ranges one origin's record keeps: past it the lowest is forgotten (a resend of what
/// it covered would be stored again: a duplicate, never a loss). Gaps come only from several
/// sinks taking one origin's events out of order.
pub(crate) const RANGES_MAX: usize = 64;

/// The first word of a record's payload, with its version.
const MAGIC: &str = "sluice-progress 1";
/// The first word of a signed record's payload.
const MAGIC_SIGNED: &str = "sluice-progress 2";
/// What comes before a signed record's MAC.
const MAC_MARK: &str = " mac=";

/// The spans of one origin already stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ranges(Vec<(u64, u64)>);

impl Ranges {
    /// Whether every id of `s` is in a stored range.
    pub(crate) fn covers(&self, s: &IdSpan) -> bool {
        let i = self.0.partition_point(|r| r.1 < s.hi);
        self.0.get(i).is_some_and(|r| r.0 <= s.lo && s.hi <= r.1)
    }

    /// Adds `(lo, hi]`, merging it with the ranges it touches; drops the lowest ranges past
    /// [`RANGES_MAX`].
    pub(crate) fn insert(&mut self, s: &IdSpan) {
        let (mut lo, mut hi) = (s.lo, s.hi);
        let start = self.0.partition_point(|r| r.1 < lo);
        let mut end = start;
        while let Some(r) = self.0.get(end) {
            if r.0 > hi {
                break;
            }
            lo = lo.min(r.0);
            hi = hi.max(r.1);
            end += 1;
        }
        self.0.splice(start..end, [(lo, hi)]);
        if self.0.len() > RANGES_MAX {
            let extra = self.0.len() - RANGES_MAX;
            self.0.drain(..extra);
        }
    }

    /// The record's payload: `sluice-progress 1 LO-HI LO-HI ...`.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::from(MAGIC);
        for (lo, hi) in &self.0 {
            out.push_str(&format!(" {lo}-{hi}"));
        }
        out
    }

    /// Reads a payload [`Ranges::encode`] wrote; `None` for anything else.
    pub(crate) fn decode(payload: &[u8]) -> Option<Ranges> {
        let text = std::str::from_utf8(payload).ok()?;
        let rest = text.strip_prefix(MAGIC)?;
        let mut out = Vec::new();
        for word in rest.split_ascii_whitespace() {
            let (lo, hi) = word.split_once('-')?;
            let (lo, hi) = (lo.parse::<u64>().ok()?, hi.parse::<u64>().ok()?);
            if lo >= hi || out.last().is_some_and(|l: &(u64, u64)| l.1 >= lo) {
                return None;
            }
            out.push((lo, hi));
        }
        (out.len() <= RANGES_MAX).then_some(Ranges(out))
    }

    /// How many ranges.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// Why a message on a record's subject is not taken as a record of this sink.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    /// Not a progress record at all.
    #[error("is not a progress record")]
    NotARecord,
    /// A version-1 record: no MAC (written by Sluice before issue 87, or by anyone).
    #[error("is an unsigned version-1 record (written by an older Sluice, or forged)")]
    Unsigned,
    /// Signed with another key.
    #[error("is signed with key {theirs}, not this sink's key {ours} (sinks that write records of the same origins need the same progressKeyFile)")]
    OtherKey {
        /// The record's key id.
        theirs: String,
        /// This sink's key id.
        ours: String,
    },
    /// Says this sink's key, but its MAC does not verify.
    #[error("has a MAC that does not verify with this sink's key {0} (forged or altered)")]
    BadMac(String),
}

/// The signed payload of `ranges` on `subject`.
pub(crate) fn sign(ranges: &Ranges, subject: &str, key: &ProgressKey) -> String {
    let body = ranges
        .encode()
        .replacen(MAGIC, &format!("{MAGIC_SIGNED} key={}", key.id()), 1);
    let mac = key.sign(&format!("{subject}\n{body}"));
    format!("{body}{MAC_MARK}{mac}")
}

/// The ranges of a signed record found on `subject`, if `key` signed it for that subject.
pub(crate) fn verify(payload: &[u8], subject: &str, key: &ProgressKey) -> Result<Ranges, Refusal> {
    let text = std::str::from_utf8(payload).map_err(|_| Refusal::NotARecord)?;
    let Some(rest) = text.strip_prefix(MAGIC_SIGNED) else {
        return Err(match Ranges::decode(payload) {
            Some(_) => Refusal::Unsigned,
            None => Refusal::NotARecord,
        });
    };
    let (body, mac) = text.rsplit_once(MAC_MARK).ok_or(Refusal::NotARecord)?;
    let theirs = rest
        .strip_prefix(" key=")
        .and_then(|r| r.split_ascii_whitespace().next())
        .ok_or(Refusal::NotARecord)?;
    if theirs != key.id() {
        return Err(Refusal::OtherKey {
            theirs: theirs.chars().take(16).collect(),
            ours: key.id().to_owned(),
        });
    }
    if !key.verify(&format!("{subject}\n{body}"), mac) {
        return Err(Refusal::BadMac(key.id().to_owned()));
    }
    let ranges = body
        .strip_prefix(&format!("{MAGIC_SIGNED} key={theirs}"))
        .ok_or(Refusal::NotARecord)?;
    Ranges::decode(format!("{MAGIC}{ranges}").as_bytes()).ok_or(Refusal::NotARecord)
}

/// What the sink knows of one origin's record: the stream sequence of the last record on
/// its subject (0: none yet) and its ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Progress {
    /// The record's stream sequence: the next batch expects it as the subject's last.
    pub seq: u64,
    /// What it says is stored.
    pub ranges: Ranges,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(lo: u64, hi: u64) -> IdSpan {
        IdSpan::new(7, lo, hi).unwrap()
    }

    #[test]
    fn an_origin_delivered_in_order_is_one_range() {
        let mut r = Ranges::default();
        for n in 0..100 {
            r.insert(&span(n, n + 1));
        }
        assert_eq!(r.len(), 1);
        assert!(r.covers(&span(0, 100)));
        assert!(r.covers(&span(41, 42)));
        assert!(!r.covers(&span(100, 101)));
    }

    #[test]
    fn a_gap_is_not_covered_until_it_is_filled() {
        let mut r = Ranges::default();
        r.insert(&span(0, 10));
        r.insert(&span(20, 30));
        assert!(!r.covers(&span(10, 11)));
        assert!(!r.covers(&span(5, 25)));
        assert!(r.covers(&span(25, 30)));
        r.insert(&span(10, 20));
        assert_eq!(r.len(), 1);
        assert!(r.covers(&span(0, 30)));
    }

    #[test]
    fn past_the_limit_the_lowest_range_is_forgotten() {
        let mut r = Ranges::default();
        for n in 0..(RANGES_MAX as u64 + 1) {
            r.insert(&span(n * 10, n * 10 + 1));
        }
        assert_eq!(r.len(), RANGES_MAX);
        assert!(!r.covers(&span(0, 1)));
        assert!(r.covers(&span(10, 11)));
    }

    #[test]
    fn a_record_reads_back_as_written_and_garbage_is_refused() {
        let mut r = Ranges::default();
        r.insert(&span(0, 10));
        r.insert(&span(20, 30));
        assert_eq!(Ranges::decode(r.encode().as_bytes()), Some(r));
        assert_eq!(
            Ranges::decode(b"sluice-progress 1"),
            Some(Ranges::default())
        );
        assert_eq!(Ranges::decode(b"hello"), None);
        assert_eq!(Ranges::decode(b"sluice-progress 1 5-5"), None);
        assert_eq!(Ranges::decode(b"sluice-progress 1 0-10 5-20"), None);
    }

    #[test]
    fn a_signed_record_verifies_only_with_its_key_on_its_subject() {
        let key = ProgressKey::new(b"0123456789abcdef");
        let mut r = Ranges::default();
        r.insert(&span(0, 10));
        r.insert(&span(20, 30));
        let p = sign(&r, "sluice.progress.S.07", &key);
        assert_eq!(verify(p.as_bytes(), "sluice.progress.S.07", &key), Ok(r));
        // Copied to another origin's subject.
        let key_id = key.id().to_owned();
        assert_eq!(
            verify(p.as_bytes(), "sluice.progress.S.08", &key),
            Err(Refusal::BadMac(key_id.clone()))
        );
        // Widened by hand.
        let widened = p.replace("20-30", "20-4000000000");
        assert_eq!(
            verify(widened.as_bytes(), "sluice.progress.S.07", &key),
            Err(Refusal::BadMac(key_id))
        );
        let other = ProgressKey::new(b"another key, 16+ bytes");
        assert!(matches!(
            verify(p.as_bytes(), "sluice.progress.S.07", &other),
            Err(Refusal::OtherKey { .. })
        ));
    }

    #[test]
    fn an_unsigned_or_foreign_record_is_refused() {
        let key = ProgressKey::new(b"0123456789abcdef");
        let s = "sluice.progress.S.07";
        assert_eq!(
            verify(b"sluice-progress 1 0-4000000000", s, &key),
            Err(Refusal::Unsigned)
        );
        assert_eq!(verify(b"hello", s, &key), Err(Refusal::NotARecord));
        let forged = format!("sluice-progress 2 key={} 0-4000000000 mac=00", key.id());
        assert!(matches!(
            verify(forged.as_bytes(), s, &key),
            Err(Refusal::BadMac(_))
        ));
        let empty = sign(&Ranges::default(), s, &key);
        assert_eq!(verify(empty.as_bytes(), s, &key), Ok(Ranges::default()));
    }
}
