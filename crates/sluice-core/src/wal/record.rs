//! Pure encoding and decoding of WAL records (layout in `docs/format.md`, "Record").
//!
//! Every record is framed as `crc32 u32 | len u32 | kind u8 | 3 zero bytes | txid u64 |
//! seq u64 | body`, all little-endian, where `len` counts the bytes after the `len` field and
//! the CRC32 (IEEE, crc32fast) covers every byte after the CRC field itself, started from the
//! segment's *salt* ([`record_crc`]: 0 in a version-1 segment, the segment id in a version-2
//! one, so a record left in a recycled file by an earlier use never checks out). The byte ranges
//! are the `FRAME_*_AT`, `TAKE_*_AT` and `COMMIT_*_AT` constants below; compile-time
//! assertions check that they tile the frame. This file encodes (and asserts, before the
//! bytes leave, what the decoder will check); [`decode`](self::decode) reads.

mod decode;
mod layout;
mod resalt;
#[cfg(test)]
mod tests;

use byteorder::{ByteOrder, LittleEndian as LE};

pub use self::decode::{
    decode, decode_meta, frame_len, plausible_frame, record_crc, DecodeError, RecordMeta,
};
pub(crate) use self::decode::{decode_frame, decode_meta_frame};
pub use self::layout::*;
pub use self::resalt::{first_frame_salted_with, resalt};
use crate::event::Event;
use crate::invariant::hot_assert;

/// Why an event cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The record would exceed [`RECORD_BYTES_MAX`].
    #[error("event of {0} bytes exceeds the record size limit of {RECORD_BYTES_MAX} bytes")]
    TooLarge(usize),
    /// Too many headers.
    #[error("event has {0} headers, more than the limit of {EVENT_HEADERS_MAX}")]
    TooManyHeaders(usize),
}

/// Where records are encoded: a `Vec` (a transaction encoded ahead of its append), or a
/// direct-I/O segment's aligned tail (encoded in place under the writer's lock, one copy of
/// each body fewer). Records are only ever appended; `finish` patches the frame it started.
pub trait RecordBuf {
    /// Bytes held: where the next byte goes.
    fn end(&self) -> usize;
    /// Makes room for `more` bytes (a hint).
    fn reserve(&mut self, more: usize);
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
    /// The bytes held, to patch.
    fn held_mut(&mut self) -> &mut [u8];
}

impl RecordBuf for Vec<u8> {
    fn end(&self) -> usize {
        self.len()
    }
    fn reserve(&mut self, more: usize) {
        Vec::reserve(self, more);
    }
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    fn held_mut(&mut self) -> &mut [u8] {
        self
    }
}

/// How a frame is encoded: salted with `salt` and finished, or (`sealed`) laid out for a
/// sealed segment (room for the nonce counter after the header and for the tag after the
/// body) and left for [`SegmentKey::seal_in_place`] to seal, which also writes its CRC.
///
/// [`SegmentKey::seal_in_place`]: crate::wal::seal::SegmentKey::seal_in_place
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Framing {
    /// The CRC salt (plain frames).
    pub salt: u32,
    /// Laid out for sealing.
    pub sealed: bool,
}

impl From<u32> for Framing {
    fn from(salt: u32) -> Self {
        Framing {
            salt,
            sealed: false,
        }
    }
}

impl Framing {
    /// Bytes between the frame header and the body (the nonce counter's room).
    fn head(self) -> usize {
        if self.sealed {
            SEALED_COUNTER_BYTES
        } else {
            0
        }
    }

    /// Bytes a frame takes beyond its plain record.
    pub fn extra(self) -> usize {
        if self.sealed {
            SEALED_FRAME_EXTRA
        } else {
            0
        }
    }
}

/// Bytes a put record of `event` takes on disk.
pub fn put_record_len(event: &Event) -> usize {
    // Two length fields per pair; the keys' and values' bytes are counted by the headers.
    RECORD_HEADER_BYTES
        + 4
        + 8 * event.headers.len()
        + event.headers.text_bytes()
        + 4
        + event.body.len()
}

/// Starts a frame: reserves its header and fills kind, txid and seq (CRC and `len` are
/// written by [`finish`]). Returns where the frame starts in `buf`.
fn begin<B: RecordBuf + ?Sized>(
    buf: &mut B,
    (kind, txid, seq): (RecordKind, u64, u64),
    f: Framing,
) -> usize {
    let start = buf.end();
    buf.put(&[0u8; RECORD_HEADER_BYTES + SEALED_COUNTER_BYTES][..RECORD_HEADER_BYTES + f.head()]);
    let h = &mut buf.held_mut()[start..];
    h[FRAME_KIND_AT] = kind as u8;
    LE::write_u64(&mut h[FRAME_TXID_AT], txid);
    LE::write_u64(&mut h[FRAME_SEQ_AT], seq);
    hot_assert!(h[FRAME_FLAGS_AT] == 0 && h[FRAME_RESERVED_AT] == [0, 0]);
    start
}

/// Ends the frame that starts at `start`: writes `len` and the CRC (from `f.salt`), asserting
/// first that the frame is one [`frame_len`] accepts (so what is written is what decode will
/// take). A frame laid out for sealing gets its tag's room and no CRC (the seal writes it).
fn finish<B: RecordBuf + ?Sized>(buf: &mut B, start: usize, f: Framing) {
    if f.sealed {
        buf.put(&[0u8; SEALED_FRAME_EXTRA - SEALED_COUNTER_BYTES]);
    }
    let buf = buf.held_mut();
    let total = buf.len() - start;
    hot_assert!(
        (RECORD_HEADER_BYTES..=RECORD_BYTES_MAX + f.extra()).contains(&total),
        "a record of {total} bytes is outside the frame limits"
    );
    let len = (total - FRAME_LEN_AT.end) as u32;
    LE::write_u32(
        &mut buf[start + FRAME_LEN_AT.start..start + FRAME_LEN_AT.end],
        len,
    );
    hot_assert!(frame_len(&buf[start..]) == Ok(total));
    if f.sealed {
        return;
    }
    let crc = record_crc(f.salt, &buf[start + FRAME_LEN_AT.start..]);
    LE::write_u32(
        &mut buf[start + FRAME_CRC_AT.start..start + FRAME_CRC_AT.end],
        crc,
    );
    hot_assert!(frame_len(&buf[start..]) == Ok(total));
}

/// A length the encoder writes as `u32`. Only a bug can make it too large: every length is
/// part of a record that [`check_event`] held to [`RECORD_BYTES_MAX`], which fits a `u32`.
fn len_u32(n: usize) -> u32 {
    hot_assert!(n <= RECORD_BYTES_MAX, "length {n} beyond the record limit");
    n as u32
}

fn put_u32<B: RecordBuf + ?Sized>(buf: &mut B, v: u32) {
    buf.put(&v.to_le_bytes());
}

/// Checks that `event` can be encoded.
#[cfg(any(test, feature = "internals"))]
pub fn check_event(event: &Event) -> Result<(), EncodeError> {
    checked_put_len(event).map(|_| ())
}

/// Checks that `event` can be encoded and returns the bytes of its put record (one pass over
/// the headers for both).
pub fn checked_put_len(event: &Event) -> Result<usize, EncodeError> {
    if event.headers.len() > EVENT_HEADERS_MAX {
        return Err(EncodeError::TooManyHeaders(event.headers.len()));
    }
    let len = put_record_len(event);
    if len > RECORD_BYTES_MAX {
        return Err(EncodeError::TooLarge(len));
    }
    Ok(len)
}

/// Appends a put record to `buf`, its CRC salted with `salt`. The event must have passed [`check_event`] (asserted).
pub fn encode_put<B: RecordBuf + ?Sized>(
    buf: &mut B,
    salt: impl Into<Framing>,
    txid: u64,
    seq: u64,
    event: &Event,
) {
    hot_assert!(event.headers.len() <= EVENT_HEADERS_MAX);
    let f = salt.into();
    let expected = put_record_len(event);
    hot_assert!(expected <= RECORD_BYTES_MAX, "put of {expected} bytes");
    let start = begin(buf, (RecordKind::Put, txid, seq), f);
    buf.reserve(expected + f.extra() - RECORD_HEADER_BYTES);
    // The short pieces are gathered on the stack and appended a few at a time: `buf` is
    // usually behind `dyn RecordBuf`, and four calls per header were most of a header's cost.
    let mut g = Gather::new();
    g.add(buf, &len_u32(event.headers.len()).to_le_bytes());
    // In insertion order, which the reader's inserts rebuild (Flume's header order depends
    // on it: `Headers`).
    for (k, v) in event.headers.iter_inserted() {
        g.add(buf, &len_u32(k.len()).to_le_bytes());
        g.add(buf, k.as_bytes());
        g.add(buf, &len_u32(v.len()).to_le_bytes());
        g.add(buf, v.as_bytes());
    }
    g.add(buf, &len_u32(event.body.len()).to_le_bytes());
    g.flush(buf);
    buf.put(&event.body);
    hot_assert!(buf.end() - start == expected + f.head());
    finish(buf, start, f);
}

/// Bytes [`Gather`] holds before it appends them.
const GATHER_BYTES: usize = 256;

/// Short pieces of a record collected on the stack, appended to a [`RecordBuf`] in one call
/// when full or flushed; a piece larger than the whole goes straight through.
struct Gather {
    bytes: [u8; GATHER_BYTES],
    len: usize,
}

impl Gather {
    fn new() -> Self {
        Gather {
            bytes: [0; GATHER_BYTES],
            len: 0,
        }
    }

    fn add<B: RecordBuf + ?Sized>(&mut self, buf: &mut B, piece: &[u8]) {
        if self.len + piece.len() > GATHER_BYTES {
            self.flush(buf);
            if piece.len() > GATHER_BYTES {
                buf.put(piece);
                return;
            }
        }
        self.bytes[self.len..self.len + piece.len()].copy_from_slice(piece);
        self.len += piece.len();
    }

    fn flush<B: RecordBuf + ?Sized>(&mut self, buf: &mut B) {
        if self.len > 0 {
            buf.put(&self.bytes[..self.len]);
            self.len = 0;
        }
    }
}

/// Appends a take record to `buf`.
pub fn encode_take<B: RecordBuf + ?Sized>(
    buf: &mut B,
    salt: impl Into<Framing>,
    txid: u64,
    seq: u64,
    put_seq: u64,
    ptr: EventPtr,
) {
    let f = salt.into();
    let start = begin(buf, (RecordKind::Take, txid, seq), f);
    buf.put(&put_seq.to_le_bytes());
    put_u32(buf, ptr.segment);
    put_u32(buf, ptr.offset);
    hot_assert!(buf.end() - start == TAKE_RECORD_BYTES + f.head());
    finish(buf, start, f);
}

/// Appends a commit record without ids to `buf`.
#[cfg(any(test, feature = "internals"))]
pub fn encode_commit<B: RecordBuf + ?Sized>(
    buf: &mut B,
    salt: u32,
    txid: u64,
    seq: u64,
    puts: u32,
    takes: u32,
) {
    encode_commit_with(
        buf,
        salt,
        txid,
        seq,
        (puts, takes),
        &CommitExtras::default(),
    );
}

/// Bytes of a commit record carrying `extras`.
pub fn commit_record_len(extras: &CommitExtras<'_>) -> usize {
    COMMIT_RECORD_BYTES + extras.len()
}

/// Appends a commit record to `buf` with what it carries besides its counts (see
/// [`commit`](self::commit); the limits the decoder checks are asserted). The writer uses
/// [`encode_commit_flagged`]; this is for tests, fuzz targets and benches (`internals`).
#[cfg(any(test, feature = "internals"))]
pub fn encode_commit_with<B: RecordBuf + ?Sized>(
    buf: &mut B,
    salt: impl Into<Framing>,
    txid: u64,
    seq: u64,
    counts: (u32, u32),
    extras: &CommitExtras<'_>,
) {
    encode_commit_flagged(buf, (salt.into(), 0), txid, seq, counts, extras);
}

/// `encode_commit_with` with the header's `flags` byte set: 0, or [`COMMIT_FLAG_COPY`] for
/// a copy forward's commit.
pub fn encode_commit_flagged<B: RecordBuf + ?Sized>(
    buf: &mut B,
    (f, flags): (Framing, u8),
    txid: u64,
    seq: u64,
    (puts, takes): (u32, u32),
    extras: &CommitExtras<'_>,
) {
    hot_assert!(
        flags == 0 || flags == COMMIT_FLAG_COPY,
        "unknown commit flags {flags}"
    );
    let start = begin(buf, (RecordKind::Commit, txid, seq), f);
    buf.held_mut()[start + FRAME_FLAGS_AT] = flags;
    put_u32(buf, puts);
    put_u32(buf, takes);
    encode_extras(extras, buf, puts);
    hot_assert!(buf.end() - start == commit_record_len(extras) + f.head());
    finish(buf, start, f);
}

/// Appends a rollback record to `buf` (Sluice writes none: nothing reaches the disk before
/// commit; replay still reads them).
#[cfg(any(test, feature = "internals"))]
pub fn encode_rollback(buf: &mut Vec<u8>, salt: u32, txid: u64, seq: u64) {
    let start = begin(buf, (RecordKind::Rollback, txid, seq), salt.into());
    hot_assert!(buf.len() - start == ROLLBACK_RECORD_BYTES);
    finish(buf, start, salt.into());
}

/// Appends a commit record's tail (see `layout`'s note on it), asserting the limits the
/// decoder checks (`puts` bounds the spans).
fn encode_extras<B: RecordBuf + ?Sized>(extras: &CommitExtras<'_>, buf: &mut B, puts: u32) {
    if extras.is_empty() {
        return;
    }
    assert!(extras.ids.len() <= puts as usize, "more id spans than puts");
    assert!(
        extras.cursors.len() <= CURSORS_PER_COMMIT_MAX,
        "too many cursors"
    );
    buf.put(&(extras.ids.len() as u32).to_le_bytes());
    for id in extras.ids {
        assert!(id.lo < id.hi, "an empty id span");
        buf.put(&id.origin.to_le_bytes());
        buf.put(&id.lo.to_le_bytes());
        buf.put(&id.hi.to_le_bytes());
    }
    if extras.cursors.is_empty() {
        return;
    }
    buf.put(&(extras.cursors.len() as u32).to_le_bytes());
    for c in extras.cursors {
        assert!(c.fits(), "a cursor beyond the limits");
        buf.put(&(c.key.len() as u32).to_le_bytes());
        buf.put(c.key.as_bytes());
        buf.put(&(c.value.len() as u32).to_le_bytes());
        buf.put(&c.value);
    }
}
