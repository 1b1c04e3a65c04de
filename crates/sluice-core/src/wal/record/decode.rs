//! Decoding records: the frame check shared by every reader ([`frame_len`],
//! [`plausible_frame`]), the full decode into a [`Record`] and the metadata-only decode that
//! replay uses. Every field is read through the layout constants of the parent module, and
//! every check here is a typed [`DecodeError`]: the bytes come from disk.

use crate::dedup::IdSpan;
use crate::headers::Headers;

use byteorder::{ByteOrder, LittleEndian as LE};

use super::layout::{
    Cursor as KeptCursor, EventPtr, Record, RecordBody, RecordKind, COMMIT_BODY_BYTES,
    COMMIT_FLAG_COPY, COMMIT_IDS_COUNT_AT, COMMIT_ID_SPAN_BYTES, COMMIT_PUTS_AT, COMMIT_TAKES_AT,
    CURSORS_PER_COMMIT_MAX, CURSOR_KEY_BYTES_MAX, CURSOR_VALUE_BYTES_MAX, EVENT_HEADERS_MAX,
    FRAME_BYTES_MAX, FRAME_CRC_AT, FRAME_FLAGS_AT, FRAME_KIND_AT, FRAME_LEN_AT, FRAME_RESERVED_AT,
    FRAME_SEQ_AT, FRAME_TXID_AT, RECORD_HEADER_BYTES, TAKE_BODY_BYTES, TAKE_OFFSET_AT,
    TAKE_PUT_SEQ_AT, TAKE_SEGMENT_AT,
};
use crate::event::Event;
use crate::invariant::hot_assert;

/// Why bytes are not a valid record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than the frame needs.
    #[error("record truncated: {needed} bytes needed, {available} available")]
    Truncated {
        /// Bytes the frame needs.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The length field is impossible.
    #[error("record length {0} is out of range")]
    BadLength(u32),
    /// The checksum does not match.
    #[error("record checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        /// CRC stored in the record.
        stored: u32,
        /// CRC computed over the bytes.
        computed: u32,
    },
    /// Unknown kind byte.
    #[error("unknown record kind {0}")]
    UnknownKind(u8),
    /// The body does not parse.
    #[error("malformed record body: {0}")]
    Malformed(&'static str),
    /// An all-zero frame header: unwritten space, not a record.
    #[error("zeroed space where a record should start")]
    Zeroed,
    /// A sealed record's authentication tag does not hold: its bytes were altered, or it was
    /// moved from another place, segment or key.
    #[error("sealed record fails its authentication tag (altered, moved, or sealed elsewhere)")]
    Tag,
}

/// The kind of a frame whose checksum held, checking the flags and reserved bytes after it.
fn frame_kind(frame: &[u8]) -> Result<RecordKind, DecodeError> {
    let byte = frame[FRAME_KIND_AT];
    let kind = RecordKind::from_u8(byte).ok_or(DecodeError::UnknownKind(byte))?;
    if !flags_fit(kind, frame[FRAME_FLAGS_AT]) || frame[FRAME_RESERVED_AT] != [0, 0] {
        return Err(DecodeError::Malformed("reserved header bytes are not zero"));
    }
    Ok(kind)
}

/// Whether a record of `kind` may carry `flags`: a commit [`COMMIT_FLAG_COPY`], others none.
fn flags_fit(kind: RecordKind, flags: u8) -> bool {
    flags == 0 || (kind == RecordKind::Commit && flags == COMMIT_FLAG_COPY)
}

/// Whether the first 12 bytes at some offset could start a record (plausible length, known
/// kind, flags it may carry, zero reserved bytes): a cheap test before reading a whole frame and its checksum
/// when searching damaged bytes for the next record. Returns the frame's total length.
pub fn plausible_frame(head: &[u8]) -> Option<usize> {
    if head.len() < FRAME_RESERVED_AT.end || head[FRAME_RESERVED_AT] != [0, 0] {
        return None;
    }
    let kind = RecordKind::from_u8(head[FRAME_KIND_AT])?;
    if !flags_fit(kind, head[FRAME_FLAGS_AT]) {
        return None;
    }
    frame_len(head).ok()
}

/// Reads a record's total length from its first 8 bytes, checking that it is plausible.
pub fn frame_len(header: &[u8]) -> Result<usize, DecodeError> {
    if header.len() < FRAME_LEN_AT.end {
        return Err(DecodeError::Truncated {
            needed: FRAME_LEN_AT.end,
            available: header.len(),
        });
    }
    let crc = LE::read_u32(&header[FRAME_CRC_AT]);
    let len = LE::read_u32(&header[FRAME_LEN_AT]);
    if crc == 0 && len == 0 {
        return Err(DecodeError::Zeroed);
    }
    // Widening: `usize` has at least 32 bits (asserted with the layout).
    let total = len as usize + FRAME_LEN_AT.end;
    if !(RECORD_HEADER_BYTES..=FRAME_BYTES_MAX).contains(&total) {
        return Err(DecodeError::BadLength(len));
    }
    Ok(total)
}

/// The CRC32 of a record's bytes after its CRC field, started from `salt`: the segment's
/// generation tie (0 in a version-1 segment, where this is plain `crc32fast::hash`; the
/// segment id in a version-2 one). Two salts over the same bytes always give different CRCs
/// (the difference is `(a ^ b) * x^(8n) mod P`, never zero), so a record written for another
/// segment fails here exactly like a torn one.
pub fn record_crc(salt: u32, bytes: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial(salt);
    h.update(bytes);
    h.finalize()
}

/// The whole frame at the start of `bytes`, its length and checksum (salted with `salt`)
/// checked.
fn checked_frame(bytes: &[u8], salt: u32) -> Result<&[u8], DecodeError> {
    let total = frame_len(bytes)?;
    if bytes.len() < total {
        return Err(DecodeError::Truncated {
            needed: total,
            available: bytes.len(),
        });
    }
    let frame = &bytes[..total];
    let stored = LE::read_u32(&frame[FRAME_CRC_AT]);
    let computed = record_crc(salt, &frame[FRAME_LEN_AT.start..]);
    if stored != computed {
        return Err(DecodeError::Checksum { stored, computed });
    }
    hot_assert!(frame.len() >= RECORD_HEADER_BYTES);
    Ok(frame)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or(DecodeError::Malformed(what))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(LE::read_u32(self.take(4, what)?))
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(LE::read_u64(self.take(8, what)?))
    }
    fn str(&mut self, what: &'static str) -> Result<&'a str, DecodeError> {
        let n = self.u32(what)? as usize;
        let b = self.take(n, what)?;
        std::str::from_utf8(b).map_err(|_| DecodeError::Malformed("header is not UTF-8"))
    }
}

/// Decodes a put body: at most [`EVENT_HEADERS_MAX`] headers (the loop's bound), then the body.
fn decode_put(c: &mut Cursor<'_>) -> Result<Event, DecodeError> {
    let n = c.u32("header count")? as usize;
    if n > EVENT_HEADERS_MAX {
        return Err(DecodeError::Malformed("too many headers"));
    }
    let mut headers = Headers::with_capacity(n);
    for _ in 0..n {
        let k = c.str("header key")?;
        let v = c.str("header value")?;
        headers.insert(k, v);
    }
    let blen = c.u32("body length")? as usize;
    let body = c.take(blen, "body")?.to_vec();
    Ok(Event::with_headers(headers, body))
}

/// Decodes one record from the start of `bytes`, its checksum salted with `salt` (the
/// segment's [`record_crc`] salt); returns it and its total length.
pub fn decode(bytes: &[u8], salt: u32) -> Result<(Record, usize), DecodeError> {
    decode_frame(checked_frame(bytes, salt)?)
}

/// [`decode`] of a whole frame whose checksum was checked already (or, opened from a sealed
/// frame, whose tag held).
pub(crate) fn decode_frame(frame: &[u8]) -> Result<(Record, usize), DecodeError> {
    let kind = frame_kind(frame)?;
    let txid = LE::read_u64(&frame[FRAME_TXID_AT]);
    let seq = LE::read_u64(&frame[FRAME_SEQ_AT]);
    let mut c = Cursor {
        bytes: &frame[RECORD_HEADER_BYTES..],
        pos: 0,
    };
    let body = match kind {
        RecordKind::Put => RecordBody::Put(decode_put(&mut c)?),
        RecordKind::Take => {
            let put_seq = c.u64("take put_seq")?;
            let segment = c.u32("take segment")?;
            let offset = c.u32("take offset")?;
            RecordBody::Take {
                put_seq,
                ptr: EventPtr { segment, offset },
            }
        }
        RecordKind::Commit => {
            let puts = c.u32("commit puts")?;
            let takes = c.u32("commit takes")?;
            let (ids, cursors) = commit_tail(&frame[RECORD_HEADER_BYTES..], puts)?;
            c.pos = c.bytes.len();
            RecordBody::Commit {
                puts,
                takes,
                ids,
                cursors,
            }
        }
        RecordKind::Rollback => RecordBody::Rollback,
    };
    if c.pos != c.bytes.len() {
        return Err(DecodeError::Malformed("trailing bytes after the body"));
    }
    Ok((Record { txid, seq, body }, frame.len()))
}

/// What replay needs of a record, decoded without copying the event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordMeta {
    /// Record kind.
    pub kind: RecordKind,
    /// Transaction id.
    pub txid: u64,
    /// Write sequence number.
    pub seq: u64,
    /// For a take: the put's seq and pointer.
    pub take: Option<(u64, EventPtr)>,
    /// For a commit: the put and take counts.
    pub commit: Option<(u32, u32)>,
    /// For a commit: the ids its puts commit (empty without ids).
    pub ids: Vec<IdSpan>,
    /// For a commit: the cursors it sets.
    pub cursors: Vec<KeptCursor>,
    /// For a commit: whether it commits a copy forward ([`COMMIT_FLAG_COPY`]).
    pub copy: bool,
}

/// Decodes the frame and checksum of the record at the start of `bytes` and the fields replay
/// needs (checksum salted with `salt`), without building the event. Returns the metadata and the record's total length.
pub fn decode_meta(bytes: &[u8], salt: u32) -> Result<(RecordMeta, usize), DecodeError> {
    decode_meta_frame(checked_frame(bytes, salt)?)
}

/// [`decode_meta`] of a whole frame whose checksum was checked already (or, opened from a
/// sealed frame, whose tag held).
pub(crate) fn decode_meta_frame(frame: &[u8]) -> Result<(RecordMeta, usize), DecodeError> {
    let kind = frame_kind(frame)?;
    let body = &frame[RECORD_HEADER_BYTES..];
    let mut meta = RecordMeta {
        kind,
        txid: LE::read_u64(&frame[FRAME_TXID_AT]),
        seq: LE::read_u64(&frame[FRAME_SEQ_AT]),
        take: None,
        commit: None,
        ids: Vec::new(),
        cursors: Vec::new(),
        copy: frame[FRAME_FLAGS_AT] == COMMIT_FLAG_COPY,
    };
    match kind {
        RecordKind::Take => {
            if body.len() != TAKE_BODY_BYTES {
                return Err(DecodeError::Malformed("take body length"));
            }
            meta.take = Some((
                LE::read_u64(&body[TAKE_PUT_SEQ_AT]),
                EventPtr {
                    segment: LE::read_u32(&body[TAKE_SEGMENT_AT]),
                    offset: LE::read_u32(&body[TAKE_OFFSET_AT]),
                },
            ));
        }
        RecordKind::Commit => {
            if body.len() < COMMIT_BODY_BYTES {
                return Err(DecodeError::Malformed("commit body length"));
            }
            let puts = LE::read_u32(&body[COMMIT_PUTS_AT]);
            meta.commit = Some((puts, LE::read_u32(&body[COMMIT_TAKES_AT])));
            (meta.ids, meta.cursors) = commit_tail(body, puts)?;
        }
        RecordKind::Rollback if !body.is_empty() => {
            return Err(DecodeError::Malformed("rollback body length"));
        }
        _ => {}
    }
    Ok((meta, frame.len()))
}

/// The decoded tail of a commit body.
pub type Extras = (Vec<IdSpan>, Vec<KeptCursor>);

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
pub(crate) fn commit_tail(body: &[u8], puts: u32) -> Result<Extras, DecodeError> {
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
        cursors.push(KeptCursor { key, value });
    }
    if !b.0.is_empty() {
        return Err(DecodeError::Malformed(
            "trailing bytes after the commit cursors",
        ));
    }
    Ok((ids, cursors))
}
