//! The id of a sealed channel: 16 random bytes in the seal block of every segment the channel
//! seals, bound into the wrap of the segment's data key (so it cannot be relabelled). At open
//! the channel takes the id most of its sealed segments carry (a new one if it has none); a
//! sealed segment carrying another is one copied in from another channel, and the open is
//! refused naming it.

use std::path::PathBuf;

use super::config::{FileChannelConfig, KeysError};
use super::error::ChannelError;
use crate::io::{Fs, OpenMode};
use crate::wal::replay::{list_segments, read_header, ReplayError};
use crate::wal::seal::{read_seal_block, Keyring, SealError};

/// The channel's id, from its sealed segments' seal blocks (a fresh one when there are none).
/// Segments whose header or block do not read are left to replay, which reports them.
pub(super) fn channel_id(
    fs: &dyn Fs,
    config: &FileChannelConfig,
    keyring: &Keyring,
) -> Result<[u8; 16], ChannelError> {
    let mut seen: Vec<([u8; 16], u32, PathBuf)> = Vec::new();
    for dir in &config.data_dirs {
        let Ok(segments) = list_segments(fs, dir) else {
            continue;
        };
        for (id, path) in segments {
            let Ok(file) = fs.open(&path, OpenMode::Read) else {
                continue;
            };
            let header = file
                .len()
                .ok()
                .and_then(|len| read_header(file.as_ref(), id, len).ok());
            if !header.is_some_and(|h| h.is_sealed()) {
                continue;
            }
            if let Ok(block) = read_seal_block(file.as_ref(), id) {
                seen.push((block.channel, id, path));
            }
        }
    }
    let mut counts: Vec<([u8; 16], usize)> = Vec::new();
    for (c, _, _) in &seen {
        match counts.iter_mut().find(|(x, _)| x == c) {
            Some((_, n)) => *n += 1,
            None => counts.push((*c, 1)),
        }
    }
    // Stable: among equal counts, the id met first (the oldest segment of the first directory).
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    let Some((expected, _)) = counts.first().copied() else {
        let mut id = [0u8; 16];
        keyring
            .fill(&mut id)
            .map_err(|e| ChannelError::from(KeysError::Seal(e)))?;
        return Ok(id);
    };
    if let Some((other, segment, path)) = seen.into_iter().find(|(c, _, _)| *c != expected) {
        return Err(ChannelError::Recovery(ReplayError::Seal {
            path,
            source: SealError::OtherChannel {
                segment,
                ids: Box::new([hex(&other), hex(&expected)]),
            },
        }));
    }
    Ok(expected)
}

fn hex(id: &[u8; 16]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}
