//! Segment files: the header codec and file naming (pure functions of bytes), and, in
//! [`scan`], the sequential scanner that reads a segment's records through the [`FsFile`]
//! seam.
//!
//! A segment is `log-<id>` (id zero-padded to 10 digits) in a data directory; it starts with a
//! 32-byte header (magic, format version, segment id, the channel's tag in a version-4
//! segment or the creation time in older ones, the id of the segment before it in the same
//! directory, CRC) followed by records. The header's byte ranges are the `SEGMENT_*_AT`
//! constants (docs/format.md, "Segment").
//!
//! [`FsFile`]: crate::io::FsFile

mod scan;

use std::ops::Range;

use byteorder::{ByteOrder, LittleEndian as LE};

pub use self::scan::{scan_records, ScanOutcome, ScanProblem};

/// Bytes of a segment header.
pub const SEGMENT_HEADER_BYTES: u64 = 32;
/// First bytes of every segment.
pub const SEGMENT_MAGIC: [u8; 8] = *b"SLUICEWL";
/// The plain segment format this code writes: version 4, version 2's salted records under a
/// header that names the segment's channel ([`SegmentHeader::channel_tag`]) where older
/// versions kept a creation time.
pub const SEGMENT_VERSION: u32 = 4;
/// The second segment format, still read: records' CRCs salted with the segment id
/// ([`SegmentHeader::record_salt`]), a creation time where version 4 names the channel.
pub const SEGMENT_VERSION_V2: u32 = 2;
/// The first segment format, still read: records' CRCs unsalted (salt 0).
pub const SEGMENT_VERSION_V1: u32 = 1;
/// A sealed segment: version 2's salted records, each sealed (`wal/seal/`), and a seal block
/// after the header naming the key that wraps the segment's data key.
pub const SEGMENT_VERSION_SEALED: u32 = 3;

/// Header bytes 0..8: [`SEGMENT_MAGIC`].
pub const SEGMENT_MAGIC_AT: Range<usize> = 0..8;
/// Header bytes 8..12: the format version, [`SEGMENT_VERSION`].
pub const SEGMENT_VERSION_AT: Range<usize> = 8..12;
/// Header bytes 12..16: the segment id (equal to the id in the file name).
pub const SEGMENT_ID_AT: Range<usize> = 12..16;
/// Header bytes 16..24: the channel's tag in a version-4 segment ([`ChannelTag`]); creation
/// time, milliseconds since the Unix epoch, in older ones.
pub const SEGMENT_CREATED_MS_AT: Range<usize> = 16..24;
/// Header bytes 16..24 of a version-4 segment: the channel's tag (the same bytes as
/// [`SEGMENT_CREATED_MS_AT`], which older versions use for the creation time).
pub const SEGMENT_CHANNEL_AT: Range<usize> = SEGMENT_CREATED_MS_AT;

/// The first 8 bytes of a channel's 16-byte id: what a plain (version-4) segment's header
/// carries to name its channel (a sealed segment's seal block carries all 16).
pub type ChannelTag = [u8; 8];

/// The tag of channel `id` ([`ChannelTag`]).
pub fn channel_tag(id: &[u8; 16]) -> ChannelTag {
    let mut t = [0u8; 8];
    t.copy_from_slice(&id[..8]);
    t
}
/// Header bytes 24..28: the id of the segment before this one in its directory (0: none).
pub const SEGMENT_PREV_IN_DIR_AT: Range<usize> = 24..28;
/// Header bytes 28..32: CRC32 of bytes `0..SEGMENT_CRC_AT.start`.
pub const SEGMENT_CRC_AT: Range<usize> = 28..32;

/// The header as a `usize` (it is 32 bytes; the conversion is checked at compile time).
const HEADER_LEN: usize = SEGMENT_HEADER_BYTES as usize;

const _: () = {
    assert!(SEGMENT_MAGIC_AT.start == 0);
    assert!(SEGMENT_MAGIC_AT.end - SEGMENT_MAGIC_AT.start == SEGMENT_MAGIC.len());
    assert!(SEGMENT_MAGIC_AT.end == SEGMENT_VERSION_AT.start);
    assert!(SEGMENT_VERSION_AT.end == SEGMENT_ID_AT.start);
    assert!(SEGMENT_ID_AT.end == SEGMENT_CREATED_MS_AT.start);
    assert!(SEGMENT_CREATED_MS_AT.end - SEGMENT_CREATED_MS_AT.start == 8);
    assert!(SEGMENT_CREATED_MS_AT.end == SEGMENT_PREV_IN_DIR_AT.start);
    assert!(SEGMENT_PREV_IN_DIR_AT.end == SEGMENT_CRC_AT.start);
    assert!(SEGMENT_CRC_AT.end == HEADER_LEN);
    assert!(HEADER_LEN as u64 == SEGMENT_HEADER_BYTES);
};

/// A decoded segment header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Segment id, global across the channel's data directories.
    pub segment_id: u32,
    /// Creation time, milliseconds since the Unix epoch (0 in a version-4 segment, whose
    /// bytes name the channel instead).
    pub created_ms: u64,
    /// Id of the segment written before this one in the same data directory (0: none, or a
    /// segment written before this field existed). Replay follows this chain to notice a
    /// segment that vanished from the middle of a directory.
    pub prev_in_dir: u32,
    /// The format version: [`SEGMENT_VERSION`] for every plain segment written now,
    /// [`SEGMENT_VERSION_SEALED`] for a sealed one, [`SEGMENT_VERSION_V2`] and
    /// [`SEGMENT_VERSION_V1`] for older ones.
    pub version: u32,
    /// The channel the segment belongs to (version 4 only; a sealed segment names its channel
    /// in its seal block).
    pub channel_tag: Option<ChannelTag>,
}

impl SegmentHeader {
    /// A version-2 header (the plain format before segments named their channel; tests and
    /// fuzz targets write it as an older channel did).
    pub fn new(segment_id: u32, created_ms: u64, prev_in_dir: u32) -> Self {
        SegmentHeader {
            segment_id,
            created_ms,
            prev_in_dir,
            version: SEGMENT_VERSION_V2,
            channel_tag: None,
        }
    }

    /// A plain segment's header of the current format (version 4), naming channel `tag`.
    pub fn named(segment_id: u32, prev_in_dir: u32, tag: ChannelTag) -> Self {
        SegmentHeader {
            version: SEGMENT_VERSION,
            created_ms: 0,
            channel_tag: Some(tag),
            ..SegmentHeader::new(segment_id, 0, prev_in_dir)
        }
    }

    /// A sealed segment's header (version 3).
    pub fn sealed(segment_id: u32, created_ms: u64, prev_in_dir: u32) -> Self {
        SegmentHeader {
            version: SEGMENT_VERSION_SEALED,
            ..SegmentHeader::new(segment_id, created_ms, prev_in_dir)
        }
    }

    /// Whether the segment's records are sealed (version 3).
    pub fn is_sealed(&self) -> bool {
        self.version == SEGMENT_VERSION_SEALED
    }

    /// Whether the segment names its channel: in its header (version 4) or its seal block
    /// (version 3). Versions 1 and 2 name none. (Tests and `internals` only: the reader
    /// matches on the version where it needs this.)
    #[cfg(any(test, feature = "internals"))]
    pub fn names_channel(&self) -> bool {
        matches!(self.version, SEGMENT_VERSION | SEGMENT_VERSION_SEALED)
    }

    /// Where the segment's records start: after the header, and the seal block of a sealed
    /// segment.
    pub fn records_start(&self) -> u64 {
        if self.is_sealed() {
            crate::wal::seal::SEALED_RECORDS_START
        } else {
            SEGMENT_HEADER_BYTES
        }
    }

    /// The salt of this segment's record CRCs ([`record_crc`]): the segment id in a version-2
    /// segment (never 0, never reused, so records of a previous use of a recycled file never
    /// check out), 0 in a version-1 segment (plain CRC32, as it was written).
    ///
    /// [`record_crc`]: crate::wal::record::record_crc
    pub fn record_salt(&self) -> u32 {
        record_salt(self.version, self.segment_id)
    }
}

/// The record CRC salt of segment `id` written in format `version` (see
/// [`SegmentHeader::record_salt`]).
pub fn record_salt(version: u32, id: u32) -> u32 {
    if version >= SEGMENT_VERSION_V2 {
        id
    } else {
        0
    }
}

/// Why a segment header is bad.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Too short.
    #[error("segment header truncated ({0} bytes)")]
    Truncated(usize),
    /// Wrong magic.
    #[error("not a Sluice segment (bad magic)")]
    BadMagic,
    /// Unsupported version.
    #[error("unsupported segment format version {0}")]
    BadVersion(u32),
    /// Checksum mismatch.
    #[error("segment header checksum mismatch")]
    Checksum,
    /// The header names a predecessor that is not older than the segment itself (bytes
    /// 24..28, `prev_in_dir`): never written by Sluice, whose ids only grow.
    #[error(
        "segment header names segment {prev_in_dir} as the predecessor of segment {segment_id}"
    )]
    BadPredecessor {
        /// The header's segment id.
        segment_id: u32,
        /// The predecessor it names.
        prev_in_dir: u32,
    },
}

/// Encodes a segment header. Segment ids start at 1 and a segment's predecessor in its
/// directory is older (asserted: only a bug breaks either), and the bytes are asserted to
/// decode to `h`.
pub fn encode_header(h: &SegmentHeader) -> [u8; HEADER_LEN] {
    assert!(h.segment_id > 0, "segment id 0 is never written");
    assert!(
        h.prev_in_dir < h.segment_id,
        "segment {} names a newer predecessor {}",
        h.segment_id,
        h.prev_in_dir
    );
    assert!(
        known_version(h.version),
        "segment format version {} is not one this code writes",
        h.version
    );
    assert_eq!(
        h.channel_tag.is_some(),
        h.version == SEGMENT_VERSION,
        "a version-4 header names its channel, no other does"
    );
    let mut b = [0u8; HEADER_LEN];
    b[SEGMENT_MAGIC_AT].copy_from_slice(&SEGMENT_MAGIC);
    LE::write_u32(&mut b[SEGMENT_VERSION_AT], h.version);
    LE::write_u32(&mut b[SEGMENT_ID_AT], h.segment_id);
    match h.channel_tag {
        Some(tag) => b[SEGMENT_CHANNEL_AT].copy_from_slice(&tag),
        None => LE::write_u64(&mut b[SEGMENT_CREATED_MS_AT], h.created_ms),
    }
    LE::write_u32(&mut b[SEGMENT_PREV_IN_DIR_AT], h.prev_in_dir);
    let crc = crc32fast::hash(&b[..SEGMENT_CRC_AT.start]);
    LE::write_u32(&mut b[SEGMENT_CRC_AT], crc);
    assert_eq!(decode_header(&b).as_ref(), Ok(h));
    b
}

/// Decodes a segment header, checking magic, CRC, version and that a named predecessor is
/// older than the segment. Callers check the id against the file name and the predecessor
/// against the directory.
pub fn decode_header(b: &[u8]) -> Result<SegmentHeader, HeaderError> {
    if b.len() < HEADER_LEN {
        return Err(HeaderError::Truncated(b.len()));
    }
    if b[SEGMENT_MAGIC_AT] != SEGMENT_MAGIC {
        return Err(HeaderError::BadMagic);
    }
    if crc32fast::hash(&b[..SEGMENT_CRC_AT.start]) != LE::read_u32(&b[SEGMENT_CRC_AT]) {
        return Err(HeaderError::Checksum);
    }
    let version = LE::read_u32(&b[SEGMENT_VERSION_AT]);
    if !known_version(version) {
        return Err(HeaderError::BadVersion(version));
    }
    let named = version == SEGMENT_VERSION;
    let mut tag: ChannelTag = [0; 8];
    tag.copy_from_slice(&b[SEGMENT_CHANNEL_AT]);
    let h = SegmentHeader {
        segment_id: LE::read_u32(&b[SEGMENT_ID_AT]),
        created_ms: if named {
            0
        } else {
            LE::read_u64(&b[SEGMENT_CREATED_MS_AT])
        },
        prev_in_dir: LE::read_u32(&b[SEGMENT_PREV_IN_DIR_AT]),
        version,
        channel_tag: named.then_some(tag),
    };
    // 0 is "none" (and every pre-`prev_in_dir` segment); any other predecessor is older.
    if h.prev_in_dir != 0 && h.prev_in_dir >= h.segment_id {
        return Err(HeaderError::BadPredecessor {
            segment_id: h.segment_id,
            prev_in_dir: h.prev_in_dir,
        });
    }
    Ok(h)
}

/// Whether `version` is a segment format this code reads (and may write).
fn known_version(version: u32) -> bool {
    matches!(
        version,
        SEGMENT_VERSION | SEGMENT_VERSION_V2 | SEGMENT_VERSION_V1 | SEGMENT_VERSION_SEALED
    )
}

/// The file name of segment `id`.
pub fn segment_file_name(id: u32) -> String {
    format!("log-{id:010}")
}

/// The segment id in a file name, if it is a segment's name.
pub fn parse_segment_file_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("log-")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The file name a retired segment's file keeps while it waits as a spare to be recycled
/// (`spare-<the id it last had>`): never parsed as a segment, so replay and the tools ignore
/// it whatever it holds.
pub fn spare_file_name(last_id: u32) -> String {
    format!("spare-{last_id:010}")
}

/// Whether a file name is a spare's ([`spare_file_name`]).
pub fn is_spare_file_name(name: &str) -> bool {
    name.strip_prefix("spare-")
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests;
