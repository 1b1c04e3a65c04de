//! A directory's segment files and the check of a segment's header, shared by replay and
//! `channel verify`.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::report::{io_err, ReplayError};
use crate::io::{Fs, FsFile};
use crate::wal::policy::Damage;
use crate::wal::seal::{
    read_seal_block, FrameCodec, Keyring, SealError, SEALED_RECORDS_START, SEAL_BLOCK_BYTES,
};
use crate::wal::segment::{
    decode_header, encode_header, parse_segment_file_name, HeaderError, SegmentHeader,
    SEGMENT_HEADER_BYTES,
};

/// Lists the segment ids and paths of a directory, in id order.
pub fn list_segments(fs: &dyn Fs, dir: &Path) -> Result<Vec<(u32, PathBuf)>, ReplayError> {
    let names = fs.list_dir(dir).map_err(io_err("list", dir))?;
    let mut ids: Vec<(u32, PathBuf)> = names
        .iter()
        .filter_map(|n| parse_segment_file_name(n).map(|id| (id, dir.join(n))))
        .collect();
    ids.sort_by_key(|(id, _)| *id);
    Ok(ids)
}

/// What is wrong with a segment header: the one report replay and `channel verify` share.
#[derive(Debug, thiserror::Error)]
pub enum HeaderProblem {
    /// The header bytes could not be read.
    #[error("cannot read the segment header: {0}")]
    Unreadable(io::Error),
    /// The header does not decode.
    #[error(transparent)]
    Decode(#[from] HeaderError),
    /// A sealed segment's seal block is cut short or damaged.
    #[error(transparent)]
    SealBlock(SealError),
    /// A good header naming another segment than the file name does.
    #[error("segment header names segment {named}, the file name says {file}")]
    WrongId {
        /// The id in the header.
        named: u32,
        /// The id in the file name.
        file: u32,
    },
}

impl HeaderProblem {
    /// The kind of damage, for the recovery policy: a header cut short (or unreadable) is
    /// a segment whose start was torn by a crash; anything else is a bad header.
    pub fn damage(&self) -> Damage {
        match self {
            HeaderProblem::Unreadable(_) | HeaderProblem::Decode(HeaderError::Truncated(_)) => {
                Damage::TornHeader
            }
            HeaderProblem::Decode(_)
            | HeaderProblem::WrongId { .. }
            | HeaderProblem::SealBlock(_) => Damage::BadHeader,
        }
    }
}

/// Reads and checks the header of segment `id` (its file `len` bytes long).
pub fn read_header(file: &dyn FsFile, id: u32, len: u64) -> Result<SegmentHeader, HeaderProblem> {
    let mut buf = [0u8; SEGMENT_HEADER_BYTES as usize];
    let n = len.min(SEGMENT_HEADER_BYTES) as usize;
    file.read_exact_at(&mut buf[..n], 0)
        .map_err(HeaderProblem::Unreadable)?;
    let h = decode_header(&buf[..n])?;
    if h.segment_id != id {
        return Err(HeaderProblem::WrongId {
            named: h.segment_id,
            file: id,
        });
    }
    Ok(h)
}

/// How the records of segment `id` (whose `header` is good) read: plain with its salt, or,
/// sealed, with its data key unwrapped by `keyring`. A seal block cut short or damaged is a
/// [`HeaderProblem`] (damage); a key that cannot be had is a [`SealError`] (refused).
pub fn segment_codec(
    file: &dyn FsFile,
    header: &SegmentHeader,
    keyring: Option<&Keyring>,
) -> Result<Result<FrameCodec, SealError>, HeaderProblem> {
    if !header.is_sealed() {
        return Ok(Ok(FrameCodec::plain(header.record_salt())));
    }
    let id = header.segment_id;
    // The header and seal block are one write, synced before any record: a file that ends
    // inside the block, or a block still all zeros, is a start torn by a crash.
    let len = file.len().map_err(HeaderProblem::Unreadable)?;
    if len < SEALED_RECORDS_START {
        return Err(HeaderError::Truncated(len as usize).into());
    }
    let block = read_seal_block(file, id).map_err(|e| {
        let mut b = [0u8; SEAL_BLOCK_BYTES];
        let zeros =
            file.read_exact_at(&mut b, SEGMENT_HEADER_BYTES).is_ok() && b.iter().all(|x| *x == 0);
        if zeros {
            HeaderProblem::Decode(HeaderError::Truncated(SEGMENT_HEADER_BYTES as usize))
        } else {
            HeaderProblem::SealBlock(e)
        }
    })?;
    let Some(keyring) = keyring else {
        return Ok(Err(SealError::NotConfigured {
            alias: block.alias,
            segment: id,
        }));
    };
    let bytes = encode_header(header);
    Ok(keyring
        .open_segment(&bytes, &block)
        .map(|k| FrameCodec::sealed(Arc::new(k))))
}
