//! Decoding a checkpoint image: magic, checksum, version and flags checked first, then every
//! count bounded by its limit before the loop it bounds, and the order of the dependencies
//! and entries checked as they are read.

use byteorder::{ByteOrder, LittleEndian as LE};

use super::{cursors, dedup, CheckpointError, CheckpointImage, DedupImage, DirPosition};
use super::{
    CHECKPOINT_CRC_BYTES, CHECKPOINT_CREATED_MS_AT, CHECKPOINT_FLAGS_AT, CHECKPOINT_MAGIC,
    CHECKPOINT_MAGIC_AT, CHECKPOINT_N_DIRS_AT, CHECKPOINT_VERSION, CHECKPOINT_VERSION_1,
    CHECKPOINT_VERSION_2, CHECKPOINT_VERSION_AT, DEPS_MAX, DIRS_MAX, DIR_PATH_BYTES_MAX,
    ENTRY_BYTES, ENTRY_OFFSET_AT, ENTRY_SEGMENT_AT, ENTRY_SEQ_AT,
};
use crate::wal::EventPtr;

/// A cursor over a checkpoint's bytes; every read checks the bytes are there.
pub(super) struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], CheckpointError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or(CheckpointError::Truncated(self.b.len()))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub(super) fn u32(&mut self) -> Result<u32, CheckpointError> {
        Ok(LE::read_u32(self.take(4)?))
    }
    pub(super) fn u64(&mut self) -> Result<u64, CheckpointError> {
        Ok(LE::read_u64(self.take(8)?))
    }
    /// A count no larger than `max`.
    pub(super) fn count(
        &mut self,
        max: usize,
        what: &'static str,
    ) -> Result<usize, CheckpointError> {
        let n = self.u32()?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= max)
            .ok_or(CheckpointError::Malformed(what))
    }
}

/// Decodes an image, checking magic, checksum, version, flags, limits and the order of the
/// dependencies and entries.
pub fn decode(bytes: &[u8]) -> Result<CheckpointImage, CheckpointError> {
    let body = checked_body(bytes)?;
    let mut r = Reader {
        b: body,
        pos: CHECKPOINT_CREATED_MS_AT.start,
    };
    let created_ms = r.u64()?;
    let seq_next = r.u64()?;
    let txid_next = r.u64()?;
    let segment_next = r.u32()?;
    assert_eq!(r.pos, CHECKPOINT_N_DIRS_AT.start);
    let positions = decode_positions(&mut r)?;
    let deps = decode_deps(&mut r)?;
    let version = version_of(bytes);
    let (dedup, cursors) = if version == CHECKPOINT_VERSION_1 {
        (DedupImage::default(), Vec::new())
    } else {
        let with_seq = version != CHECKPOINT_VERSION_2;
        (dedup::decode(&mut r)?, cursors::decode(&mut r, with_seq)?)
    };
    let entries = decode_entries(&mut r, seq_next)?;
    Ok(CheckpointImage {
        created_ms,
        seq_next,
        txid_next,
        segment_next,
        positions,
        deps,
        dedup,
        cursors,
        entries,
    })
}

/// The version field of bytes [`checked_body`] accepted.
fn version_of(bytes: &[u8]) -> u32 {
    LE::read_u32(&bytes[CHECKPOINT_VERSION_AT])
}

/// The bytes before the CRC, once magic, checksum, version and flags hold.
fn checked_body(bytes: &[u8]) -> Result<&[u8], CheckpointError> {
    if bytes.len() < CHECKPOINT_FLAGS_AT.end {
        return Err(CheckpointError::Truncated(bytes.len()));
    }
    if bytes[CHECKPOINT_MAGIC_AT] != CHECKPOINT_MAGIC {
        return Err(CheckpointError::BadMagic);
    }
    let (body, crc) = bytes.split_at(bytes.len() - CHECKPOINT_CRC_BYTES);
    let stored = LE::read_u32(crc);
    let computed = crc32fast::hash(body);
    if stored != computed {
        return Err(CheckpointError::Checksum { stored, computed });
    }
    let version = LE::read_u32(&bytes[CHECKPOINT_VERSION_AT]);
    if ![
        CHECKPOINT_VERSION,
        CHECKPOINT_VERSION_2,
        CHECKPOINT_VERSION_1,
    ]
    .contains(&version)
    {
        return Err(CheckpointError::BadVersion(version));
    }
    if body.len() >= CHECKPOINT_FLAGS_AT.end && LE::read_u32(&body[CHECKPOINT_FLAGS_AT]) != 0 {
        return Err(CheckpointError::Malformed("flags are not zero"));
    }
    Ok(body)
}

/// At most [`DIRS_MAX`] replay positions (the loop's bound).
fn decode_positions(r: &mut Reader<'_>) -> Result<Vec<DirPosition>, CheckpointError> {
    let ndirs = r.count(DIRS_MAX, "too many data directories")?;
    let mut positions = Vec::with_capacity(ndirs);
    for _ in 0..ndirs {
        let n = r.count(DIR_PATH_BYTES_MAX, "data directory path too long")?;
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
    Ok(positions)
}

/// At most [`DEPS_MAX`] dependencies (the loop's bound), strictly increasing.
fn decode_deps(r: &mut Reader<'_>) -> Result<Vec<(u32, u32)>, CheckpointError> {
    let ndeps = r.count(DEPS_MAX, "too many segment dependencies")?;
    let mut deps: Vec<(u32, u32)> = Vec::with_capacity(ndeps);
    for _ in 0..ndeps {
        let dep = (r.u32()?, r.u32()?);
        if deps.last().is_some_and(|last| *last >= dep) {
            return Err(CheckpointError::Malformed(
                "segment dependencies are not sorted",
            ));
        }
        deps.push(dep);
    }
    Ok(deps)
}

/// The entries, whose count must match the bytes left exactly; strictly increasing seqs
/// below `seq_next`.
fn decode_entries(
    r: &mut Reader<'_>,
    seq_next: u64,
) -> Result<Vec<(u64, EventPtr)>, CheckpointError> {
    let count = r.u64()?;
    let rest = &r.b[r.pos..];
    if count.checked_mul(ENTRY_BYTES as u64) != Some(rest.len() as u64) {
        return Err(CheckpointError::Malformed(
            "entry count does not match the file length",
        ));
    }
    let mut entries = Vec::with_capacity(rest.len() / ENTRY_BYTES);
    let mut last: Option<u64> = None;
    for chunk in rest.chunks_exact(ENTRY_BYTES) {
        let seq = LE::read_u64(&chunk[ENTRY_SEQ_AT]);
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
                segment: LE::read_u32(&chunk[ENTRY_SEGMENT_AT]),
                offset: LE::read_u32(&chunk[ENTRY_OFFSET_AT]),
            },
        ));
    }
    r.pos = r.b.len();
    Ok(entries)
}
