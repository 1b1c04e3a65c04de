//! The record frame's layout: named byte ranges, limits and the decoded types ([`Record`],
//! [`RecordBody`], [`RecordKind`], [`EventPtr`]), in a file of their own so the encoder
//! (`record.rs`) and the decoder (`record/decode.rs`) both import them from here.

use std::ops::Range;

use crate::dedup::IdSpan;

use crate::event::Event;

/// Bytes 0..4 of a frame: CRC32 of every byte after this field.
pub const FRAME_CRC_AT: Range<usize> = 0..4;
/// Bytes 4..8: `len`, the number of bytes after this field (20 + body length).
pub const FRAME_LEN_AT: Range<usize> = 4..8;
/// Byte 8: the [`RecordKind`].
pub const FRAME_KIND_AT: usize = 8;
/// Byte 9: flags. A commit record may carry [`COMMIT_FLAG_COPY`]; every other record has 0
/// (anything else is damage).
pub const FRAME_FLAGS_AT: usize = 9;
/// The flag of a copy forward's commit record (`channel/compact.rs`): its puts keep the
/// sequence numbers of live events, which their new records replace (docs/format.md,
/// "Sequence numbers").
pub const COMMIT_FLAG_COPY: u8 = 1;
/// Bytes 10..12: reserved, always zero (anything else is damage).
pub const FRAME_RESERVED_AT: Range<usize> = 10..12;
/// Bytes 12..20: transaction id.
pub const FRAME_TXID_AT: Range<usize> = 12..20;
/// Bytes 20..28: write sequence number.
pub const FRAME_SEQ_AT: Range<usize> = 20..28;
/// Bytes before a record's body.
pub const RECORD_HEADER_BYTES: usize = 28;
/// The largest record accepted on write and on read (64 MiB).
pub const RECORD_BYTES_MAX: usize = 64 << 20;
/// Bytes of a sealed frame's nonce counter, after the frame header.
pub const SEALED_COUNTER_BYTES: usize = 8;
/// Bytes a sealed frame carries beyond the plain record it seals (an 8-byte nonce counter and
/// a 16-byte tag: `wal/seal/frame.rs`).
pub const SEALED_FRAME_EXTRA: usize = 24;
/// The largest frame read: a record of [`RECORD_BYTES_MAX`], sealed.
pub const FRAME_BYTES_MAX: usize = RECORD_BYTES_MAX + SEALED_FRAME_EXTRA;
/// The most headers one event may carry.
pub const EVENT_HEADERS_MAX: usize = 65_536;

/// Take body bytes 0..8: the `seq` of the put record taken.
pub const TAKE_PUT_SEQ_AT: Range<usize> = 0..8;
/// Take body bytes 8..12: the segment of that put record.
pub const TAKE_SEGMENT_AT: Range<usize> = 8..12;
/// Take body bytes 12..16: the offset of that put record in its segment.
pub const TAKE_OFFSET_AT: Range<usize> = 12..16;
/// Bytes of a take record's body.
pub const TAKE_BODY_BYTES: usize = 16;
/// Commit body bytes 0..4: put records of the transaction.
pub const COMMIT_PUTS_AT: Range<usize> = 0..4;
/// Commit body bytes 4..8: take records of the transaction.
pub const COMMIT_TAKES_AT: Range<usize> = 4..8;
/// Bytes of a commit record's body without ids.
pub const COMMIT_BODY_BYTES: usize = 8;
/// Commit body bytes 8..12, when the transaction's puts carry ids: the number of id spans
/// that follow (at most the put count), each `origin u64 | lo u64 | hi u64`.
pub const COMMIT_IDS_COUNT_AT: Range<usize> = 8..12;
/// Bytes of one id span after [`COMMIT_IDS_COUNT_AT`].
pub const COMMIT_ID_SPAN_BYTES: usize = 24;

/// Bytes of a take record.
pub const TAKE_RECORD_BYTES: usize = RECORD_HEADER_BYTES + TAKE_BODY_BYTES;
/// Bytes of a commit record.
pub const COMMIT_RECORD_BYTES: usize = RECORD_HEADER_BYTES + COMMIT_BODY_BYTES;
/// Bytes of a rollback record.
#[cfg(any(test, feature = "internals"))]
pub const ROLLBACK_RECORD_BYTES: usize = RECORD_HEADER_BYTES;

// The frame header fields tile bytes 0..RECORD_HEADER_BYTES, the bodies tile their lengths,
// and every length fits the 32-bit fields that carry it.
const _: () = {
    assert!(FRAME_CRC_AT.start == 0);
    assert!(FRAME_CRC_AT.end == FRAME_LEN_AT.start);
    assert!(FRAME_LEN_AT.end == FRAME_KIND_AT);
    assert!(FRAME_KIND_AT + 1 == FRAME_FLAGS_AT);
    assert!(FRAME_FLAGS_AT + 1 == FRAME_RESERVED_AT.start);
    assert!(FRAME_RESERVED_AT.end == FRAME_TXID_AT.start);
    assert!(FRAME_TXID_AT.end - FRAME_TXID_AT.start == 8);
    assert!(FRAME_TXID_AT.end == FRAME_SEQ_AT.start);
    assert!(FRAME_SEQ_AT.end - FRAME_SEQ_AT.start == 8);
    assert!(FRAME_SEQ_AT.end == RECORD_HEADER_BYTES);
    assert!(TAKE_PUT_SEQ_AT.start == 0);
    assert!(TAKE_PUT_SEQ_AT.end == TAKE_SEGMENT_AT.start);
    assert!(TAKE_SEGMENT_AT.end == TAKE_OFFSET_AT.start);
    assert!(TAKE_OFFSET_AT.end == TAKE_BODY_BYTES);
    assert!(COMMIT_PUTS_AT.start == 0);
    assert!(COMMIT_PUTS_AT.end == COMMIT_TAKES_AT.start);
    assert!(COMMIT_TAKES_AT.end == COMMIT_BODY_BYTES);
    assert!(COMMIT_IDS_COUNT_AT.start == COMMIT_BODY_BYTES);
    assert!(FRAME_BYTES_MAX <= u32::MAX as usize);
    assert!(EVENT_HEADERS_MAX <= u32::MAX as usize);
    assert!(usize::BITS >= 32);
};

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
        let [s0, s1, s2, s3, o0, o1, o2, o3] = v.to_be_bytes();
        EventPtr {
            segment: u32::from_be_bytes([s0, s1, s2, s3]),
            offset: u32::from_be_bytes([o0, o1, o2, o3]),
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
    pub(super) fn from_u8(b: u8) -> Option<Self> {
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
        /// The ids its puts commit, coalesced (empty without ids).
        ids: Vec<IdSpan>,
        /// The cursors it sets (see `commit`).
        cursors: Vec<Cursor>,
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

// The optional tail of a commit record (docs/format.md, "Record"): the event ids its puts
// commit and the cursors it sets. A cursor is a small value under a key that the channel keeps,
// the last committed one per key, with the transaction's other effects: a sink records in its
// take's commit how far its output reached (the `file_roll` sink: file and length), so after a
// crash it cuts its output back to exactly what the committed takes wrote. Bytes after the
// counts, only when there is something: `n_ids u32 | n_ids x (origin u64 | lo u64 | hi u64)`,
// then, if any, `n_cursors u32 | n_cursors x (key_len u32 | key | value_len u32 | value)`;
// `n_ids` is 0 only when cursors follow. Encoded by `encode_commit_with`, decoded by
// `decode::commit_tail`.

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
}
