//! The channel's id: 16 random bytes made at the channel's first open and kept in
//! `checkpointDir/channel-id` (format below and in docs/format.md, "Channel id"). Every
//! segment the channel starts names it: a plain segment's header carries its first 8 bytes
//! (the tag, `wal/segment.rs`), a sealed segment's seal block all 16, bound into the wrap of
//! the segment's data key. Replay sets aside or refuses a segment naming another channel
//! (`wal/replay/dir/foreign.rs`).
//!
//! A channel without the file (one written before it existed, or whose checkpoint directory
//! was emptied) takes the id most of its sealed segments carry, else the tag most of its plain
//! version-4 segments carry (padded with random bytes), else a new one; an open that may write
//! (`Repair::OnDisk`) then keeps it in the file. A damaged file is replaced the same way, with
//! a warning. Read-only tools never write it.

use std::io;
use std::ops::Range;
use std::path::Path;

use byteorder::{ByteOrder, LittleEndian as LE};
use ring::rand::{SecureRandom, SystemRandom};

use super::config::FileChannelConfig;
use super::error::ChannelError;
use super::locks::io_err;
use crate::io::{read_regular, write_file_atomic, Fs, Links, OpenMode};
use crate::wal::policy::Repair;
use crate::wal::replay::{list_segments, read_header};
use crate::wal::seal::read_seal_block;
use crate::wal::segment::ChannelTag;

/// The file in the checkpoint directory that keeps the channel's id.
pub const CHANNEL_ID_FILE_NAME: &str = "channel-id";
/// First bytes of the file.
pub const CHANNEL_ID_MAGIC: [u8; 8] = *b"SLUICECI";
/// The file's format version.
pub const CHANNEL_ID_VERSION: u32 = 1;
/// Bytes 0..8: [`CHANNEL_ID_MAGIC`].
pub const CHANNEL_ID_MAGIC_AT: Range<usize> = 0..8;
/// Bytes 8..12: [`CHANNEL_ID_VERSION`].
pub const CHANNEL_ID_VERSION_AT: Range<usize> = 8..12;
/// Bytes 12..28: the id.
pub const CHANNEL_ID_AT: Range<usize> = 12..28;
/// Bytes 28..32: CRC32 of bytes 0..28.
pub const CHANNEL_ID_CRC_AT: Range<usize> = 28..32;
/// Bytes of the file.
pub const CHANNEL_ID_FILE_BYTES: usize = 32;

const _: () = {
    assert!(CHANNEL_ID_MAGIC_AT.start == 0);
    assert!(CHANNEL_ID_MAGIC_AT.end == CHANNEL_ID_VERSION_AT.start);
    assert!(CHANNEL_ID_VERSION_AT.end == CHANNEL_ID_AT.start);
    assert!(CHANNEL_ID_AT.end - CHANNEL_ID_AT.start == 16);
    assert!(CHANNEL_ID_AT.end == CHANNEL_ID_CRC_AT.start);
    assert!(CHANNEL_ID_CRC_AT.end == CHANNEL_ID_FILE_BYTES);
};

/// Encodes the channel-id file (asserted to decode back to `id`).
pub fn encode_channel_id(id: &[u8; 16]) -> [u8; CHANNEL_ID_FILE_BYTES] {
    let mut b = [0u8; CHANNEL_ID_FILE_BYTES];
    b[CHANNEL_ID_MAGIC_AT].copy_from_slice(&CHANNEL_ID_MAGIC);
    LE::write_u32(&mut b[CHANNEL_ID_VERSION_AT], CHANNEL_ID_VERSION);
    b[CHANNEL_ID_AT].copy_from_slice(id);
    let crc = crc32fast::hash(&b[..CHANNEL_ID_CRC_AT.start]);
    LE::write_u32(&mut b[CHANNEL_ID_CRC_AT], crc);
    assert_eq!(decode_channel_id(&b), Ok(*id));
    b
}

/// Decodes the channel-id file: length, magic, CRC, version, in that order (what is wrong).
pub fn decode_channel_id(b: &[u8]) -> Result<[u8; 16], &'static str> {
    if b.len() != CHANNEL_ID_FILE_BYTES {
        return Err("not 32 bytes long");
    }
    if b[CHANNEL_ID_MAGIC_AT] != CHANNEL_ID_MAGIC {
        return Err("bad magic");
    }
    if crc32fast::hash(&b[..CHANNEL_ID_CRC_AT.start]) != LE::read_u32(&b[CHANNEL_ID_CRC_AT]) {
        return Err("checksum mismatch");
    }
    if LE::read_u32(&b[CHANNEL_ID_VERSION_AT]) != CHANNEL_ID_VERSION {
        return Err("unknown version");
    }
    let mut id = [0u8; 16];
    id.copy_from_slice(&b[CHANNEL_ID_AT]);
    Ok(id)
}

/// The channel's id: from its file, else from its segments or new (kept in the file when
/// `repair` may write).
pub(super) fn channel_id(
    fs: &dyn Fs,
    config: &FileChannelConfig,
    repair: Repair,
) -> Result<[u8; 16], ChannelError> {
    let path = config.checkpoint_dir.join(CHANNEL_ID_FILE_NAME);
    match read_regular(fs, &path, Links::Refuse, CHANNEL_ID_FILE_BYTES as u64) {
        Ok(b) => match decode_channel_id(&b) {
            Ok(id) => return Ok(id),
            Err(what) => {
                tracing::warn!(path = %path.display(), what, "the channel-id file is damaged; taking the id its segments name and writing the file again");
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read the channel-id file; taking the id its segments name and writing the file again");
        }
    }
    let id = match from_segments(fs, config) {
        Some(id) => id,
        None => fresh(&path)?,
    };
    if repair.on_disk() {
        write_file_atomic(fs, &path, &encode_channel_id(&id)).map_err(io_err("write", &path))?;
    }
    Ok(id)
}

/// The id most sealed segments carry, else the tag most plain version-4 segments carry
/// (padded with random bytes); `None` when no segment names a channel.
fn from_segments(fs: &dyn Fs, config: &FileChannelConfig) -> Option<[u8; 16]> {
    let mut sealed: Vec<([u8; 16], usize)> = Vec::new();
    let mut tagged: Vec<(ChannelTag, usize)> = Vec::new();
    for dir in &config.data_dirs {
        let Ok(segments) = list_segments(fs, dir) else {
            continue;
        };
        for (id, path) in segments {
            let Ok(file) = fs.open(&path, OpenMode::Read) else {
                continue;
            };
            let Some(header) = file
                .len()
                .ok()
                .and_then(|len| read_header(file.as_ref(), id, len).ok())
            else {
                continue;
            };
            if header.is_sealed() {
                if let Ok(block) = read_seal_block(file.as_ref(), id) {
                    count(&mut sealed, block.channel);
                }
            } else if let Some(tag) = header.channel_tag {
                count(&mut tagged, tag);
            }
        }
    }
    if let Some(id) = most(sealed) {
        return Some(id);
    }
    let tag = most(tagged)?;
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&tag);
    // The rest is the channel's from now on (plain segments carry only the tag).
    SystemRandom::new().fill(&mut id[8..]).ok()?;
    Some(id)
}

fn count<T: PartialEq>(counts: &mut Vec<(T, usize)>, x: T) {
    match counts.iter_mut().find(|(c, _)| *c == x) {
        Some((_, n)) => *n += 1,
        None => counts.push((x, 1)),
    }
}

/// The value counted most; among equal counts the one met first (the oldest segment of the
/// first directory).
fn most<T>(mut counts: Vec<(T, usize)>) -> Option<T> {
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    counts.into_iter().next().map(|(x, _)| x)
}

/// A new id from the system's random source.
fn fresh(path: &Path) -> Result<[u8; 16], ChannelError> {
    let mut id = [0u8; 16];
    SystemRandom::new()
        .fill(&mut id)
        .map_err(|_| ChannelError::Io {
            op: "draw a new channel id for",
            path: path.to_path_buf(),
            source: io::Error::other("the system's random source failed"),
        })?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_channel_id_file_round_trips_and_refuses_damage() {
        let id = *b"0123456789abcdef";
        let b = encode_channel_id(&id);
        assert_eq!(&b[0..8], b"SLUICECI");
        assert_eq!(b[8..12], [1, 0, 0, 0]);
        assert_eq!(&b[12..28], &id);
        assert_eq!(LE::read_u32(&b[28..32]), crc32fast::hash(&b[..28]));
        let mut bad = b;
        bad[20] ^= 1;
        assert_eq!(decode_channel_id(&bad), Err("checksum mismatch"));
        assert_eq!(decode_channel_id(&b[..31]), Err("not 32 bytes long"));
        let mut bad = b;
        bad[0] = b'X';
        assert_eq!(decode_channel_id(&bad), Err("bad magic"));
    }
}
