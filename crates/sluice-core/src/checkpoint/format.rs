//! Pure encoding and decoding of a checkpoint image (layout in `docs/format.md`).

use byteorder::{ByteOrder, LittleEndian as LE};

use crate::wal::EventPtr;

/// First bytes of every checkpoint file.
pub const CHECKPOINT_MAGIC: [u8; 8] = *b"SLUICECP";
/// The checkpoint format this code writes and reads.
pub const CHECKPOINT_VERSION: u32 = 1;
/// Bytes of one queue entry.
pub const ENTRY_BYTES: usize = 16;
/// Longest data-directory path stored.
pub const DIR_PATH_BYTES_MAX: usize = 4096;
/// Most data directories.
pub const DIRS_MAX: usize = 1024;
/// Most segment dependencies.
pub const DEPS_MAX: usize = 1 << 24;

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
}

/// Encodes an image. Entries must be sorted by seq without duplicates.
pub fn encode(img: &CheckpointImage) -> Vec<u8> {
    let dirs_len: usize = img.positions.iter().map(|p| 16 + p.dir.len()).sum();
    let mut b =
        Vec::with_capacity(68 + dirs_len + img.deps.len() * 8 + img.entries.len() * ENTRY_BYTES);
    b.extend_from_slice(&CHECKPOINT_MAGIC);
    b.extend_from_slice(&CHECKPOINT_VERSION.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&img.created_ms.to_le_bytes());
    b.extend_from_slice(&img.seq_next.to_le_bytes());
    b.extend_from_slice(&img.txid_next.to_le_bytes());
    b.extend_from_slice(&img.segment_next.to_le_bytes());
    b.extend_from_slice(&(img.positions.len() as u32).to_le_bytes());
    for p in &img.positions {
        b.extend_from_slice(&(p.dir.len() as u32).to_le_bytes());
        b.extend_from_slice(p.dir.as_bytes());
        b.extend_from_slice(&p.segment.to_le_bytes());
        b.extend_from_slice(&p.offset.to_le_bytes());
    }
    b.extend_from_slice(&(img.deps.len() as u32).to_le_bytes());
    for (segment, target) in &img.deps {
        b.extend_from_slice(&segment.to_le_bytes());
        b.extend_from_slice(&target.to_le_bytes());
    }
    b.extend_from_slice(&(img.entries.len() as u64).to_le_bytes());
    for (seq, ptr) in &img.entries {
        b.extend_from_slice(&seq.to_le_bytes());
        b.extend_from_slice(&ptr.segment.to_le_bytes());
        b.extend_from_slice(&ptr.offset.to_le_bytes());
    }
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CheckpointError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or(CheckpointError::Truncated(self.b.len()))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, CheckpointError> {
        Ok(LE::read_u32(self.take(4)?))
    }
    fn u64(&mut self) -> Result<u64, CheckpointError> {
        Ok(LE::read_u64(self.take(8)?))
    }
}

/// Decodes an image, checking magic, version, checksum and entry order.
pub fn decode(bytes: &[u8]) -> Result<CheckpointImage, CheckpointError> {
    if bytes.len() < 8 + 4 + 4 {
        return Err(CheckpointError::Truncated(bytes.len()));
    }
    if bytes[0..8] != CHECKPOINT_MAGIC {
        return Err(CheckpointError::BadMagic);
    }
    let body = &bytes[..bytes.len() - 4];
    let stored = LE::read_u32(&bytes[bytes.len() - 4..]);
    let computed = crc32fast::hash(body);
    let version = LE::read_u32(&bytes[8..12]);
    if stored != computed {
        return Err(CheckpointError::Checksum { stored, computed });
    }
    if version != CHECKPOINT_VERSION {
        return Err(CheckpointError::BadVersion(version));
    }
    let mut r = Reader { b: body, pos: 16 };
    let created_ms = r.u64()?;
    let seq_next = r.u64()?;
    let txid_next = r.u64()?;
    let segment_next = r.u32()?;
    let ndirs = r.u32()? as usize;
    if ndirs > DIRS_MAX {
        return Err(CheckpointError::Malformed("too many data directories"));
    }
    let mut positions = Vec::with_capacity(ndirs);
    for _ in 0..ndirs {
        let n = r.u32()? as usize;
        if n > DIR_PATH_BYTES_MAX {
            return Err(CheckpointError::Malformed("data directory path too long"));
        }
        let dir = std::str::from_utf8(r.take(n)?)
            .map_err(|_| CheckpointError::Malformed("data directory path is not UTF-8"))?
            .to_owned();
        let segment = r.u32()?;
        let offset = r.u64()?;
        positions.push(DirPosition {
            dir,
            segment,
            offset,
        });
    }
    let ndeps = r.u32()? as usize;
    if ndeps > DEPS_MAX {
        return Err(CheckpointError::Malformed("too many segment dependencies"));
    }
    let mut deps = Vec::with_capacity(ndeps);
    for _ in 0..ndeps {
        let dep = (r.u32()?, r.u32()?);
        if deps.last().is_some_and(|last| *last >= dep) {
            return Err(CheckpointError::Malformed(
                "segment dependencies are not sorted",
            ));
        }
        deps.push(dep);
    }
    let count = r.u64()?;
    let remaining = body.len() - r.pos;
    if count.checked_mul(ENTRY_BYTES as u64) != Some(remaining as u64) {
        return Err(CheckpointError::Malformed(
            "entry count does not match the file length",
        ));
    }
    let mut entries = Vec::with_capacity(count as usize);
    let mut last: Option<u64> = None;
    for chunk in body[r.pos..].chunks_exact(ENTRY_BYTES) {
        let seq = LE::read_u64(&chunk[0..8]);
        if last.is_some_and(|l| l >= seq) {
            return Err(CheckpointError::Malformed(
                "entries are not in sequence order",
            ));
        }
        if seq >= seq_next {
            return Err(CheckpointError::Malformed("entry sequence beyond seq_next"));
        }
        last = Some(seq);
        entries.push((
            seq,
            EventPtr {
                segment: LE::read_u32(&chunk[8..12]),
                offset: LE::read_u32(&chunk[12..16]),
            },
        ));
    }
    Ok(CheckpointImage {
        created_ms,
        seq_next,
        txid_next,
        segment_next,
        positions,
        deps,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CheckpointImage {
        CheckpointImage {
            created_ms: 5,
            seq_next: 100,
            txid_next: 7,
            segment_next: 3,
            positions: vec![DirPosition {
                dir: "/d".into(),
                segment: 2,
                offset: 32,
            }],
            deps: vec![(2, 1), (3, 1)],
            entries: vec![
                (
                    10,
                    EventPtr {
                        segment: 1,
                        offset: 32,
                    },
                ),
                (
                    11,
                    EventPtr {
                        segment: 1,
                        offset: 80,
                    },
                ),
            ],
        }
    }

    #[test]
    fn image_round_trips_with_the_documented_layout() {
        let img = sample();
        let b = encode(&img);
        assert_eq!(&b[0..8], b"SLUICECP");
        assert_eq!(b.len(), 48 + (4 + 2 + 4 + 8) + (4 + 2 * 8) + 8 + 2 * 16 + 4);
        assert_eq!(decode(&b).unwrap(), img);
    }

    #[test]
    fn every_truncation_and_bit_flip_is_rejected() {
        let b = encode(&sample());
        for n in 0..b.len() {
            assert!(decode(&b[..n]).is_err(), "truncation to {n} accepted");
        }
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 0x10;
            assert!(decode(&c).is_err(), "flip at {i} accepted");
        }
    }
}
