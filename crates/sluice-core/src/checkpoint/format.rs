//! Pure encoding and decoding of a checkpoint image (layout in `docs/format.md`,
//! "Checkpoint"). The fixed header's byte ranges are the `CHECKPOINT_*_AT` constants, the
//! repeated items' the `POSITION_*`, `DEP_*_AT` and `ENTRY_*_AT` ones. The encoder asserts
//! everything the decoder checks (order, limits, `seq_next`), so a checkpoint this code wrote
//! is one it can read. The decoder is in `decode.rs`, the dedup and cursor sections beside it.

use std::ops::Range;

use crate::wal::EventPtr;

mod cursors;
mod decode;
mod dedup;

pub use cursors::SavedCursor;
pub use decode::decode;
use decode::Reader;
pub use dedup::{DedupImage, DEDUP_FIXED_BYTES};

/// First bytes of every checkpoint file.
pub const CHECKPOINT_MAGIC: [u8; 8] = *b"SLUICECP";
/// The checkpoint format this code writes (it reads versions 1 and 2 too: version 1 has no
/// deduplication or cursor section, version 2's cursors carry no commit sequence number).
pub const CHECKPOINT_VERSION: u32 = 3;
/// The second version: cursors without their commit's sequence number.
pub const CHECKPOINT_VERSION_2: u32 = 2;
/// The first version, without the deduplication section.
pub const CHECKPOINT_VERSION_1: u32 = 1;
/// Bytes of one queue entry.
pub const ENTRY_BYTES: usize = 16;
/// Longest data-directory path stored.
pub const DIR_PATH_BYTES_MAX: usize = 4096;
/// Most data directories.
pub const DIRS_MAX: usize = 1024;
/// Most segment dependencies.
pub const DEPS_MAX: usize = 1 << 24;

/// Bytes 0..8: [`CHECKPOINT_MAGIC`].
pub const CHECKPOINT_MAGIC_AT: Range<usize> = 0..8;
/// Bytes 8..12: [`CHECKPOINT_VERSION`].
pub const CHECKPOINT_VERSION_AT: Range<usize> = 8..12;
/// Bytes 12..16: flags, always 0.
pub const CHECKPOINT_FLAGS_AT: Range<usize> = 12..16;
/// Bytes 16..24: when the checkpoint was taken, ms since the Unix epoch.
pub const CHECKPOINT_CREATED_MS_AT: Range<usize> = 16..24;
/// Bytes 24..32: the next sequence number to hand out.
pub const CHECKPOINT_SEQ_NEXT_AT: Range<usize> = 24..32;
/// Bytes 32..40: the next transaction id.
pub const CHECKPOINT_TXID_NEXT_AT: Range<usize> = 32..40;
/// Bytes 40..44: the next segment id.
pub const CHECKPOINT_SEGMENT_NEXT_AT: Range<usize> = 40..44;
/// Bytes 44..48: the number of replay positions that follow.
pub const CHECKPOINT_N_DIRS_AT: Range<usize> = 44..48;
/// Bytes of the fixed header; the positions start here.
pub const CHECKPOINT_FIXED_BYTES: usize = 48;
/// A replay position: `path_len u32`, the path, then `segment u32` and `offset u64`.
pub const POSITION_PATH_LEN_BYTES: usize = 4;
/// A replay position's `segment u32` and `offset u64` after its path.
pub const POSITION_TAIL_BYTES: usize = 12;
/// The dependency count (`n_deps u32`) after the positions.
pub const N_DEPS_BYTES: usize = 4;
/// Dependency bytes 0..4: the segment holding the takes.
pub const DEP_SEGMENT_AT: Range<usize> = 0..4;
/// Dependency bytes 4..8: the segment its takes took from.
pub const DEP_TARGET_AT: Range<usize> = 4..8;
/// Bytes of one dependency.
pub const DEP_BYTES: usize = 8;
/// The entry count (`n_entries u64`) after the dependencies.
pub const N_ENTRIES_BYTES: usize = 8;
/// Entry bytes 0..8: the put seq (queue key).
pub const ENTRY_SEQ_AT: Range<usize> = 0..8;
/// Entry bytes 8..12: the put record's segment.
pub const ENTRY_SEGMENT_AT: Range<usize> = 8..12;
/// Entry bytes 12..16: the put record's offset.
pub const ENTRY_OFFSET_AT: Range<usize> = 12..16;
/// The trailing CRC32 of every byte before it.
pub const CHECKPOINT_CRC_BYTES: usize = 4;
/// The smallest checkpoint: header, no positions, no dependencies, an empty deduplication
/// section, no entries, CRC.
pub const CHECKPOINT_BYTES_MIN: usize = CHECKPOINT_FIXED_BYTES
    + N_DEPS_BYTES
    + DEDUP_FIXED_BYTES
    + 4
    + N_ENTRIES_BYTES
    + CHECKPOINT_CRC_BYTES;

const _: () = {
    assert!(CHECKPOINT_MAGIC_AT.start == 0);
    assert!(CHECKPOINT_MAGIC_AT.end - CHECKPOINT_MAGIC_AT.start == CHECKPOINT_MAGIC.len());
    assert!(CHECKPOINT_MAGIC_AT.end == CHECKPOINT_VERSION_AT.start);
    assert!(CHECKPOINT_VERSION_AT.end == CHECKPOINT_FLAGS_AT.start);
    assert!(CHECKPOINT_FLAGS_AT.end == CHECKPOINT_CREATED_MS_AT.start);
    assert!(CHECKPOINT_CREATED_MS_AT.end == CHECKPOINT_SEQ_NEXT_AT.start);
    assert!(CHECKPOINT_SEQ_NEXT_AT.end == CHECKPOINT_TXID_NEXT_AT.start);
    assert!(CHECKPOINT_TXID_NEXT_AT.end == CHECKPOINT_SEGMENT_NEXT_AT.start);
    assert!(CHECKPOINT_SEGMENT_NEXT_AT.end == CHECKPOINT_N_DIRS_AT.start);
    assert!(CHECKPOINT_N_DIRS_AT.end == CHECKPOINT_FIXED_BYTES);
    assert!(DEP_SEGMENT_AT.start == 0);
    assert!(DEP_SEGMENT_AT.end == DEP_TARGET_AT.start);
    assert!(DEP_TARGET_AT.end == DEP_BYTES);
    assert!(ENTRY_SEQ_AT.start == 0);
    assert!(ENTRY_SEQ_AT.end == ENTRY_SEGMENT_AT.start);
    assert!(ENTRY_SEGMENT_AT.end == ENTRY_OFFSET_AT.start);
    assert!(ENTRY_OFFSET_AT.end == ENTRY_BYTES);
    assert!(CHECKPOINT_BYTES_MIN == 88);
    // The counts written as u32 hold their limits.
    assert!(DIRS_MAX <= u32::MAX as usize);
    assert!(DIR_PATH_BYTES_MAX <= u32::MAX as usize);
    assert!(DEPS_MAX <= u32::MAX as usize);
};

/// Where replay of one data directory resumes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirPosition {
    /// The directory as configured.
    pub dir: String,
    /// Segment id.
    pub segment: u32,
    /// Offset in that segment.
    pub offset: u64,
}

/// Everything a checkpoint holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckpointImage {
    /// When it was taken (ms since the epoch).
    pub created_ms: u64,
    /// Next record sequence number to hand out.
    pub seq_next: u64,
    /// Next transaction id.
    pub txid_next: u64,
    /// Next segment id.
    pub segment_next: u32,
    /// Replay positions, one per data directory.
    pub positions: Vec<DirPosition>,
    /// Segment dependencies as (segment, target): `segment` holds a committed take of an event
    /// put in `target`, so it must outlive `target` (see docs/recovery.md). Sorted, unique.
    pub deps: Vec<(u32, u32)>,
    /// The deduplication state (version 2; empty when read from version 1).
    pub dedup: DedupImage,
    /// The last committed value of each cursor key, by key (version 2 on), with the
    /// sequence number of the commit that set it (version 3).
    pub cursors: Vec<SavedCursor>,
    /// Every event queued or taken-but-uncommitted, as (put seq, pointer), sorted by seq.
    pub entries: Vec<(u64, EventPtr)>,
}

/// Why bytes are not a valid checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// Empty or shorter than its declared content.
    #[error("checkpoint truncated or incomplete ({0} bytes)")]
    Truncated(usize),
    /// Wrong magic.
    #[error("not a Sluice checkpoint (bad magic)")]
    BadMagic,
    /// Unsupported version.
    #[error("unsupported checkpoint version {0}")]
    BadVersion(u32),
    /// Checksum mismatch.
    #[error("checkpoint checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        /// Stored.
        stored: u32,
        /// Computed.
        computed: u32,
    },
    /// The content is inconsistent.
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    /// A sealed checkpoint that does not open (docs/encryption.md).
    #[error("sealed checkpoint: {0}")]
    Sealed(String),
}

/// Asserts what [`decode`] will check of an image: the limits, dependencies sorted and
/// unique, entries strictly increasing and below `seq_next`. Only a bug (or a configuration
/// that `channel::config` refuses) breaks these, so a failure panics.
fn assert_encodable(img: &CheckpointImage) {
    assert!(
        img.positions.len() <= DIRS_MAX,
        "{} data directories",
        img.positions.len()
    );
    for p in &img.positions {
        assert!(
            p.dir.len() <= DIR_PATH_BYTES_MAX,
            "data directory path of {} bytes",
            p.dir.len()
        );
    }
    assert!(
        img.deps.len() <= DEPS_MAX,
        "{} segment dependencies",
        img.deps.len()
    );
    assert!(
        img.deps.windows(2).all(|w| w[0] < w[1]),
        "segment dependencies not sorted and unique"
    );
    assert!(
        img.entries.windows(2).all(|w| w[0].0 < w[1].0),
        "checkpoint entries not strictly increasing by seq"
    );
    dedup::assert_encodable(&img.dedup);
    cursors::assert_encodable(&img.cursors);
    if let Some((last, _)) = img.entries.last() {
        assert!(
            *last < img.seq_next,
            "entry seq {last} not below seq_next {}",
            img.seq_next
        );
    }
}

/// A count or length the encoder writes as `u32`, held below `u32::MAX` by the limits that
/// [`assert_encodable`] checked.
fn count_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or_else(|_| panic!("count {n} beyond the checkpoint limits"))
}

/// Encodes an image (asserting first what decoding will check).
pub fn encode(img: &CheckpointImage) -> Vec<u8> {
    assert_encodable(img);
    let dirs_len: usize = img
        .positions
        .iter()
        .map(|p| POSITION_PATH_LEN_BYTES + p.dir.len() + POSITION_TAIL_BYTES)
        .sum();
    let size = CHECKPOINT_BYTES_MIN
        + dirs_len
        + img.deps.len() * DEP_BYTES
        + (img.dedup.encoded_len() - DEDUP_FIXED_BYTES)
        + (cursors::encoded_len(&img.cursors) - 4)
        + img.entries.len() * ENTRY_BYTES;
    let mut b = Vec::with_capacity(size);
    b.extend_from_slice(&CHECKPOINT_MAGIC);
    b.extend_from_slice(&CHECKPOINT_VERSION.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&img.created_ms.to_le_bytes());
    b.extend_from_slice(&img.seq_next.to_le_bytes());
    b.extend_from_slice(&img.txid_next.to_le_bytes());
    b.extend_from_slice(&img.segment_next.to_le_bytes());
    b.extend_from_slice(&count_u32(img.positions.len()).to_le_bytes());
    assert_eq!(b.len(), CHECKPOINT_FIXED_BYTES);
    for p in &img.positions {
        b.extend_from_slice(&count_u32(p.dir.len()).to_le_bytes());
        b.extend_from_slice(p.dir.as_bytes());
        b.extend_from_slice(&p.segment.to_le_bytes());
        b.extend_from_slice(&p.offset.to_le_bytes());
    }
    b.extend_from_slice(&count_u32(img.deps.len()).to_le_bytes());
    for (segment, target) in &img.deps {
        b.extend_from_slice(&segment.to_le_bytes());
        b.extend_from_slice(&target.to_le_bytes());
    }
    dedup::encode(&img.dedup, &mut b);
    cursors::encode(&img.cursors, &mut b);
    b.extend_from_slice(&(img.entries.len() as u64).to_le_bytes());
    for (seq, ptr) in &img.entries {
        b.extend_from_slice(&seq.to_le_bytes());
        b.extend_from_slice(&ptr.segment.to_le_bytes());
        b.extend_from_slice(&ptr.offset.to_le_bytes());
    }
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(b.len(), size, "checkpoint size differs from its layout");
    b
}

#[cfg(test)]
mod tests;
