//! Pure encoding and decoding of WAL records (layout in `docs/format.md`).
//!
//! Every record is framed as `crc32 u32 | len u32 | kind u8 | 3 zero bytes | txid u64 |
//! seq u64 | body`, all little-endian, where `len` counts the bytes after the `len` field and
//! the CRC32 (IEEE, crc32fast) covers every byte after the CRC field itself.

use std::collections::BTreeMap;

use byteorder::{ByteOrder, LittleEndian as LE};

use crate::event::Event;

/// Bytes before a record's body.
pub const RECORD_HEADER_BYTES: usize = 28;
/// The largest record accepted on write and on read (64 MiB).
pub const RECORD_BYTES_MAX: usize = 64 << 20;
/// The most headers one event may carry.
pub const EVENT_HEADERS_MAX: usize = 65_536;

/// Where an event's put record lives: a segment id and the byte offset of the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventPtr {
    /// Segment id (global across data directories).
    pub segment: u32,
    /// Offset of the put record inside the segment.
    pub offset: u32,
}

impl EventPtr {
    /// Packs the pointer into 64 bits: segment in the high half.
    pub fn to_u64(self) -> u64 {
        (u64::from(self.segment) << 32) | u64::from(self.offset)
    }

    /// Unpacks [`EventPtr::to_u64`].
    pub fn from_u64(v: u64) -> Self {
        EventPtr {
            segment: (v >> 32) as u32,
            offset: v as u32,
        }
    }
}

/// The kind byte of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordKind {
    /// An event put by a transaction.
    Put = 1,
    /// A reference to an event taken by a transaction.
    Take = 2,
    /// The end of a transaction that takes effect.
    Commit = 3,
    /// The end of a transaction whose records must be ignored.
    Rollback = 4,
}

impl RecordKind {
    fn from_u8(b: u8) -> Option<Self> {
        match b {
            1 => Some(RecordKind::Put),
            2 => Some(RecordKind::Take),
            3 => Some(RecordKind::Commit),
            4 => Some(RecordKind::Rollback),
            _ => None,
        }
    }
}

/// The decoded body of a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordBody {
    /// A put: the event itself.
    Put(Event),
    /// A take: the sequence number of the put record taken and where it lives.
    Take {
        /// `seq` of the put record, the event's queue key.
        put_seq: u64,
        /// Location of the put record.
        ptr: EventPtr,
    },
    /// A commit, with the counts of the transaction's puts and takes (checked on replay).
    Commit {
        /// Number of put records of the transaction.
        puts: u32,
        /// Number of take records of the transaction.
        takes: u32,
    },
    /// A rollback.
    Rollback,
}

/// A decoded record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Transaction id.
    pub txid: u64,
    /// Global write sequence number (unique, increasing in write order).
    pub seq: u64,
    /// What the record says.
    pub body: RecordBody,
}

impl Record {
    /// The record's kind.
    #[cfg(any(test, feature = "internals"))]
    pub fn kind(&self) -> RecordKind {
        match self.body {
            RecordBody::Put(_) => RecordKind::Put,
            RecordBody::Take { .. } => RecordKind::Take,
            RecordBody::Commit { .. } => RecordKind::Commit,
            RecordBody::Rollback => RecordKind::Rollback,
        }
    }
}

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
}

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

/// Bytes a put record of `event` takes on disk.
pub fn put_record_len(event: &Event) -> usize {
    RECORD_HEADER_BYTES
        + 4
        + event
            .headers
            .iter()
            .map(|(k, v)| 8 + k.len() + v.len())
            .sum::<usize>()
        + 4
        + event.body.len()
}

/// Bytes of a take record.
pub const TAKE_RECORD_BYTES: usize = RECORD_HEADER_BYTES + 16;
/// Bytes of a commit record.
pub const COMMIT_RECORD_BYTES: usize = RECORD_HEADER_BYTES + 8;
/// Bytes of a rollback record.
#[cfg(any(test, feature = "internals"))]
pub const ROLLBACK_RECORD_BYTES: usize = RECORD_HEADER_BYTES;

fn begin(buf: &mut Vec<u8>, kind: RecordKind, txid: u64, seq: u64) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&[0u8; RECORD_HEADER_BYTES]);
    let h = &mut buf[start..];
    h[8] = kind as u8;
    LE::write_u64(&mut h[12..20], txid);
    LE::write_u64(&mut h[20..28], seq);
    start
}

fn finish(buf: &mut [u8], start: usize) {
    let len = (buf.len() - start - 8) as u32;
    LE::write_u32(&mut buf[start + 4..start + 8], len);
    let crc = crc32fast::hash(&buf[start + 4..]);
    LE::write_u32(&mut buf[start..start + 4], crc);
}

fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_le_bytes());
}

/// Checks that `event` can be encoded.
pub fn check_event(event: &Event) -> Result<(), EncodeError> {
    if event.headers.len() > EVENT_HEADERS_MAX {
        return Err(EncodeError::TooManyHeaders(event.headers.len()));
    }
    let len = put_record_len(event);
    if len > RECORD_BYTES_MAX {
        return Err(EncodeError::TooLarge(len));
    }
    Ok(())
}

/// Appends a put record to `buf`. The event must have passed [`check_event`].
pub fn encode_put(buf: &mut Vec<u8>, txid: u64, seq: u64, event: &Event) {
    let start = begin(buf, RecordKind::Put, txid, seq);
    buf.reserve(put_record_len(event));
    put_u32(buf, event.headers.len() as u32);
    for (k, v) in &event.headers {
        put_u32(buf, k.len() as u32);
        buf.extend_from_slice(k.as_bytes());
        put_u32(buf, v.len() as u32);
        buf.extend_from_slice(v.as_bytes());
    }
    put_u32(buf, event.body.len() as u32);
    buf.extend_from_slice(&event.body);
    finish(buf, start);
}

/// Appends a take record to `buf`.
pub fn encode_take(buf: &mut Vec<u8>, txid: u64, seq: u64, put_seq: u64, ptr: EventPtr) {
    let start = begin(buf, RecordKind::Take, txid, seq);
    buf.extend_from_slice(&put_seq.to_le_bytes());
    put_u32(buf, ptr.segment);
    put_u32(buf, ptr.offset);
    finish(buf, start);
}

/// Appends a commit record to `buf`.
pub fn encode_commit(buf: &mut Vec<u8>, txid: u64, seq: u64, puts: u32, takes: u32) {
    let start = begin(buf, RecordKind::Commit, txid, seq);
    put_u32(buf, puts);
    put_u32(buf, takes);
    finish(buf, start);
}

/// Appends a rollback record to `buf` (Sluice writes none: nothing reaches the disk before
/// commit; replay still reads them).
#[cfg(any(test, feature = "internals"))]
pub fn encode_rollback(buf: &mut Vec<u8>, txid: u64, seq: u64) {
    let start = begin(buf, RecordKind::Rollback, txid, seq);
    finish(buf, start);
}

/// The kind of a frame whose checksum held, checking the reserved bytes after it.
fn frame_kind(frame: &[u8]) -> Result<RecordKind, DecodeError> {
    let kind = RecordKind::from_u8(frame[8]).ok_or(DecodeError::UnknownKind(frame[8]))?;
    if frame[9..12] != [0, 0, 0] {
        return Err(DecodeError::Malformed("reserved header bytes are not zero"));
    }
    Ok(kind)
}

/// Whether the first 12 bytes at some offset could start a record (plausible length, known
/// kind, zero reserved bytes): a cheap test before reading a whole frame and its checksum
/// when searching damaged bytes for the next record. Returns the frame's total length.
pub fn plausible_frame(head: &[u8]) -> Option<usize> {
    if head.len() < 12 || head[9..12] != [0, 0, 0] {
        return None;
    }
    RecordKind::from_u8(head[8])?;
    frame_len(head).ok()
}

/// Reads a record's total length from its first 8 bytes, checking that it is plausible.
pub fn frame_len(header: &[u8]) -> Result<usize, DecodeError> {
    if header.len() < 8 {
        return Err(DecodeError::Truncated {
            needed: 8,
            available: header.len(),
        });
    }
    let crc = LE::read_u32(&header[0..4]);
    let len = LE::read_u32(&header[4..8]);
    if crc == 0 && len == 0 {
        return Err(DecodeError::Zeroed);
    }
    let total = len as usize + 8;
    if !(RECORD_HEADER_BYTES..=RECORD_BYTES_MAX).contains(&total) {
        return Err(DecodeError::BadLength(len));
    }
    Ok(total)
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
    fn string(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let n = self.u32(what)? as usize;
        let b = self.take(n, what)?;
        String::from_utf8(b.to_vec()).map_err(|_| DecodeError::Malformed("header is not UTF-8"))
    }
}

/// Decodes one record from the start of `bytes`; returns it and its total length.
pub fn decode(bytes: &[u8]) -> Result<(Record, usize), DecodeError> {
    let total = frame_len(bytes)?;
    if bytes.len() < total {
        return Err(DecodeError::Truncated {
            needed: total,
            available: bytes.len(),
        });
    }
    let frame = &bytes[..total];
    let stored = LE::read_u32(&frame[0..4]);
    let computed = crc32fast::hash(&frame[4..]);
    if stored != computed {
        return Err(DecodeError::Checksum { stored, computed });
    }
    let kind = frame_kind(frame)?;
    if frame[9..12] != [0, 0, 0] {
        return Err(DecodeError::Malformed("reserved bytes are not zero"));
    }
    let txid = LE::read_u64(&frame[12..20]);
    let seq = LE::read_u64(&frame[20..28]);
    let mut c = Cursor {
        bytes: &frame[RECORD_HEADER_BYTES..],
        pos: 0,
    };
    let body = match kind {
        RecordKind::Put => {
            let n = c.u32("header count")? as usize;
            if n > EVENT_HEADERS_MAX {
                return Err(DecodeError::Malformed("too many headers"));
            }
            let mut headers = BTreeMap::new();
            for _ in 0..n {
                let k = c.string("header key")?;
                let v = c.string("header value")?;
                headers.insert(k, v);
            }
            let blen = c.u32("body length")? as usize;
            let body = c.take(blen, "body")?.to_vec();
            RecordBody::Put(Event { headers, body })
        }
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
            RecordBody::Commit { puts, takes }
        }
        RecordKind::Rollback => RecordBody::Rollback,
    };
    if c.pos != c.bytes.len() {
        return Err(DecodeError::Malformed("trailing bytes after the body"));
    }
    Ok((Record { txid, seq, body }, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonzero_reserved_bytes_are_refused_even_with_a_good_checksum() {
        let mut buf = Vec::new();
        encode_commit(&mut buf, 1, 2, 0, 0);
        assert!(plausible_frame(&buf).is_some());
        buf[10] = 7;
        let crc = crc32fast::hash(&buf[4..]);
        buf[0..4].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            decode_meta(&buf).unwrap_err(),
            DecodeError::Malformed("reserved header bytes are not zero")
        );
        assert!(decode(&buf).is_err());
        assert_eq!(plausible_frame(&buf), None);
    }

    #[test]
    fn put_record_has_the_documented_golden_bytes() {
        let ev = Event::new(b"hi".to_vec()).header("k", "v");
        let mut buf = Vec::new();
        encode_put(&mut buf, 7, 9, &ev);
        let expected: Vec<u8> = [
            &[0u8; 4][..],             // crc, checked below
            &[40, 0, 0, 0],            // len = 48 - 8
            &[1, 0, 0, 0],             // kind put + reserved
            &[7, 0, 0, 0, 0, 0, 0, 0], // txid
            &[9, 0, 0, 0, 0, 0, 0, 0], // seq
            &[1, 0, 0, 0],             // one header
            &[1, 0, 0, 0, b'k', 1, 0, 0, 0, b'v'],
            &[2, 0, 0, 0, b'h', b'i'],
        ]
        .concat();
        assert_eq!(buf.len(), expected.len());
        assert_eq!(buf[4..], expected[4..]);
        assert_eq!(LE::read_u32(&buf[0..4]), crc32fast::hash(&buf[4..]));
        assert_eq!(buf.len(), put_record_len(&ev));
    }

    #[test]
    fn take_commit_rollback_have_the_documented_golden_bytes() {
        let mut buf = Vec::new();
        encode_take(
            &mut buf,
            1,
            2,
            3,
            EventPtr {
                segment: 4,
                offset: 5,
            },
        );
        assert_eq!(buf.len(), TAKE_RECORD_BYTES);
        assert_eq!(
            buf[4..],
            [
                36, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0,
                0, 0, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0
            ]
        );
        let mut c = Vec::new();
        encode_commit(&mut c, 1, 2, 10, 20);
        assert_eq!(c.len(), COMMIT_RECORD_BYTES);
        assert_eq!(c[8], 3);
        assert_eq!(c[28..], [10, 0, 0, 0, 20, 0, 0, 0]);
        let mut r = Vec::new();
        encode_rollback(&mut r, 1, 2);
        assert_eq!(r.len(), ROLLBACK_RECORD_BYTES);
        assert_eq!(r[4..12], [20, 0, 0, 0, 4, 0, 0, 0]);
    }

    #[test]
    fn every_record_kind_round_trips() {
        let ev = Event::new(vec![0u8, 255, 3])
            .header("a", "")
            .header("b", "é");
        let mut buf = Vec::new();
        encode_put(&mut buf, 1, 10, &ev);
        encode_take(
            &mut buf,
            2,
            11,
            10,
            EventPtr {
                segment: 1,
                offset: 32,
            },
        );
        encode_commit(&mut buf, 2, 12, 0, 1);
        encode_rollback(&mut buf, 1, 13);
        let mut pos = 0;
        let mut out = Vec::new();
        while pos < buf.len() {
            let (rec, n) = decode(&buf[pos..]).unwrap();
            pos += n;
            out.push(rec);
        }
        assert_eq!(out.len(), 4);
        assert_eq!(out[0].body, RecordBody::Put(ev));
        assert_eq!(out[1].kind(), RecordKind::Take);
        assert_eq!(out[2].body, RecordBody::Commit { puts: 0, takes: 1 });
        assert_eq!(out[3].body, RecordBody::Rollback);
        assert_eq!(out[3].seq, 13);
    }

    #[test]
    fn a_flipped_bit_anywhere_is_a_checksum_or_frame_error() {
        let mut buf = Vec::new();
        encode_put(&mut buf, 1, 2, &Event::new(b"payload".to_vec()));
        for i in 0..buf.len() {
            let mut b = buf.clone();
            b[i] ^= 0x01;
            assert!(decode(&b).is_err(), "flip at byte {i} went unnoticed");
        }
    }

    #[test]
    fn zeroes_and_short_input_are_reported_as_such() {
        assert_eq!(decode(&[0u8; 64]).unwrap_err(), DecodeError::Zeroed);
        let mut buf = Vec::new();
        encode_commit(&mut buf, 1, 2, 0, 0);
        assert!(matches!(
            decode(&buf[..buf.len() - 1]).unwrap_err(),
            DecodeError::Truncated { .. }
        ));
    }

    #[test]
    fn event_ptr_packs_into_u64_and_back() {
        let p = EventPtr {
            segment: 0xDEAD,
            offset: 0xBEEF_0001,
        };
        assert_eq!(EventPtr::from_u64(p.to_u64()), p);
    }
}

/// What replay needs of a record, decoded without copying the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
}

/// Decodes the frame and checksum of the record at the start of `bytes` and the fields replay
/// needs, without building the event. Returns the metadata and the record's total length.
pub fn decode_meta(bytes: &[u8]) -> Result<(RecordMeta, usize), DecodeError> {
    let total = frame_len(bytes)?;
    if bytes.len() < total {
        return Err(DecodeError::Truncated {
            needed: total,
            available: bytes.len(),
        });
    }
    let frame = &bytes[..total];
    let stored = LE::read_u32(&frame[0..4]);
    let computed = crc32fast::hash(&frame[4..]);
    if stored != computed {
        return Err(DecodeError::Checksum { stored, computed });
    }
    let kind = frame_kind(frame)?;
    let txid = LE::read_u64(&frame[12..20]);
    let seq = LE::read_u64(&frame[20..28]);
    let body = &frame[RECORD_HEADER_BYTES..];
    let mut meta = RecordMeta {
        kind,
        txid,
        seq,
        take: None,
        commit: None,
    };
    match kind {
        RecordKind::Take => {
            if body.len() != 16 {
                return Err(DecodeError::Malformed("take body length"));
            }
            meta.take = Some((
                LE::read_u64(&body[0..8]),
                EventPtr {
                    segment: LE::read_u32(&body[8..12]),
                    offset: LE::read_u32(&body[12..16]),
                },
            ));
        }
        RecordKind::Commit => {
            if body.len() != 8 {
                return Err(DecodeError::Malformed("commit body length"));
            }
            meta.commit = Some((LE::read_u32(&body[0..4]), LE::read_u32(&body[4..8])));
        }
        RecordKind::Rollback if !body.is_empty() => {
            return Err(DecodeError::Malformed("rollback body length"));
        }
        _ => {}
    }
    Ok((meta, total))
}
