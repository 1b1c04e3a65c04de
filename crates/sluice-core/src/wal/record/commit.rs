//! The optional tail of a commit record (docs/format.md, "Record"): the event ids its puts
//! commit and the **cursors** it sets. A cursor is a small value under a key that the channel
//! keeps, the last committed one per key, with the transaction's other effects: a sink records
//! in its take's commit how far its output reached (the `file_roll` sink: file and length), so
//! after a crash it cuts its output back to exactly what the committed takes wrote.
//!
//! Bytes after the counts, only when there is something: `n_ids u32 | n_ids × (origin u64 |
//! lo u64 | hi u64)`, then, if any, `n_cursors u32 | n_cursors × (key_len u32 | key (UTF-8) |
//! value_len u32 | value)`. `n_ids` is 0 only when cursors follow.

use byteorder::{ByteOrder, LittleEndian as LE};

use super::decode::DecodeError;
use super::layout::{COMMIT_BODY_BYTES, COMMIT_IDS_COUNT_AT, COMMIT_ID_SPAN_BYTES};
use super::RecordBuf;
use crate::dedup::IdSpan;

/// Longest cursor key.
pub const CURSOR_KEY_BYTES_MAX: usize = 256;
/// Longest cursor value.
pub const CURSOR_VALUE_BYTES_MAX: usize = 4096;
/// Most cursors one commit sets.
pub const CURSORS_PER_COMMIT_MAX: usize = 16;

/// A value a transaction sets under a key, kept by the channel once committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The key (a sink's name, say), at most [`CURSOR_KEY_BYTES_MAX`] bytes.
    pub key: String,
    /// The value, at most [`CURSOR_VALUE_BYTES_MAX`] bytes.
    pub value: Vec<u8>,
}

impl Cursor {
    /// Whether it is within the limits the decoder checks.
    pub fn fits(&self) -> bool {
        self.key.len() <= CURSOR_KEY_BYTES_MAX && self.value.len() <= CURSOR_VALUE_BYTES_MAX
    }
}

/// What a commit record carries besides its counts.
#[derive(Clone, Copy, Debug, Default)]
pub struct CommitExtras<'a> {
    /// The id spans its puts commit (at most one per put).
    pub ids: &'a [IdSpan],
    /// The cursors it sets (at most [`CURSORS_PER_COMMIT_MAX`], each within the limits).
    pub cursors: &'a [Cursor],
}

impl CommitExtras<'_> {
    /// Bytes they add to the commit body.
    pub fn len(&self) -> usize {
        if self.ids.is_empty() && self.cursors.is_empty() {
            return 0;
        }
        let cursors = if self.cursors.is_empty() {
            0
        } else {
            4 + self
                .cursors
                .iter()
                .map(|c| 8 + c.key.len() + c.value.len())
                .sum::<usize>()
        };
        4 + self.ids.len() * COMMIT_ID_SPAN_BYTES + cursors
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends them (asserting the limits the decoder checks; `puts` bounds the spans).
    pub(super) fn encode<B: RecordBuf + ?Sized>(&self, buf: &mut B, puts: u32) {
        if self.is_empty() {
            return;
        }
        assert!(self.ids.len() <= puts as usize, "more id spans than puts");
        assert!(
            self.cursors.len() <= CURSORS_PER_COMMIT_MAX,
            "too many cursors"
        );
        buf.put(&(self.ids.len() as u32).to_le_bytes());
        for id in self.ids {
            assert!(id.lo < id.hi, "an empty id span");
            buf.put(&id.origin.to_le_bytes());
            buf.put(&id.lo.to_le_bytes());
            buf.put(&id.hi.to_le_bytes());
        }
        if self.cursors.is_empty() {
            return;
        }
        buf.put(&(self.cursors.len() as u32).to_le_bytes());
        for c in self.cursors {
            assert!(c.fits(), "a cursor beyond the limits");
            buf.put(&(c.key.len() as u32).to_le_bytes());
            buf.put(c.key.as_bytes());
            buf.put(&(c.value.len() as u32).to_le_bytes());
            buf.put(&c.value);
        }
    }
}

/// The decoded tail of a commit body.
pub type Extras = (Vec<IdSpan>, Vec<Cursor>);

struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError::Malformed(what));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(LE::read_u32(self.take(4, what)?))
    }
}

/// The tail of a commit `body` (counts included) whose put count is `puts`: ids at most
/// `puts`, cursors 1..=[`CURSORS_PER_COMMIT_MAX`] within the limits, nothing left over.
pub(crate) fn decode(body: &[u8], puts: u32) -> Result<Extras, DecodeError> {
    if body.len() == COMMIT_BODY_BYTES {
        return Ok((Vec::new(), Vec::new()));
    }
    if body.len() < COMMIT_IDS_COUNT_AT.end {
        return Err(DecodeError::Malformed("commit body length"));
    }
    let mut b = Bytes(&body[COMMIT_BODY_BYTES..]);
    let n = b.u32("commit id count")?;
    if n > puts {
        return Err(DecodeError::Malformed("commit id spans"));
    }
    let spans = b.take(n as usize * COMMIT_ID_SPAN_BYTES, "commit id spans")?;
    let ids = spans
        .chunks_exact(COMMIT_ID_SPAN_BYTES)
        .map(|c| {
            IdSpan::new(
                LE::read_u64(&c[0..8]),
                LE::read_u64(&c[8..16]),
                LE::read_u64(&c[16..24]),
            )
            .ok_or(DecodeError::Malformed("an empty commit id span"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if b.0.is_empty() {
        if ids.is_empty() {
            return Err(DecodeError::Malformed("an empty commit tail"));
        }
        return Ok((ids, Vec::new()));
    }
    let k = b.u32("commit cursor count")? as usize;
    if k == 0 || k > CURSORS_PER_COMMIT_MAX {
        return Err(DecodeError::Malformed("commit cursor count"));
    }
    let mut cursors = Vec::with_capacity(k);
    for _ in 0..k {
        let klen = b.u32("cursor key length")? as usize;
        if klen > CURSOR_KEY_BYTES_MAX {
            return Err(DecodeError::Malformed("cursor key too long"));
        }
        let key = std::str::from_utf8(b.take(klen, "cursor key")?)
            .map_err(|_| DecodeError::Malformed("cursor key is not UTF-8"))?
            .to_owned();
        let vlen = b.u32("cursor value length")? as usize;
        if vlen > CURSOR_VALUE_BYTES_MAX {
            return Err(DecodeError::Malformed("cursor value too long"));
        }
        let value = b.take(vlen, "cursor value")?.to_vec();
        cursors.push(Cursor { key, value });
    }
    if !b.0.is_empty() {
        return Err(DecodeError::Malformed(
            "trailing bytes after the commit cursors",
        ));
    }
    Ok((ids, cursors))
}
