//! Where the channel's event-id origin was taken (`checkpointDir/origin-home`, format below
//! and in docs/format.md, "Origin home"): the origin, the host it was taken on and the
//! identity of the channel's `channel-id` file, so that a copy of the channel's files does not
//! go on numbering new events under the original's origin.
//!
//! A copy (a restored backup, a VM image, a volume snapshot, `cp -a` to another directory)
//! keeps the checkpoint's origin and next id. Were both copies to number new events from it,
//! a collector would hold *different* events under one id and drop one side's as duplicates,
//! a silent loss (issue 87, item 1). What a copy cannot keep: the `channel-id` file is then
//! another file (another device or inode: `cp`, `rsync`, `tar`, a restore all make new files),
//! or the host is another (machine id, host name). So an open that finds either changed takes
//! a fresh origin for its *new* events, says so at WARN, and writes this file again. Events
//! already queued keep the ids they were committed with, so a copy resends them under the
//! original's ids, and a collector that has them drops them once (the same events).
//!
//! What keeps the origin: a restart, a reboot (the machine id, the host name and the file's
//! device and inode stay), a rename of the directory. What takes a new one needlessly, at the
//! cost of one more origin in the collectors' tables and never an event: a renamed host, a
//! device number that changes across boots (an overlay or btrfs subvolume), a `channel-id`
//! file written again. What no fingerprint sees: a block-level image started on a host with
//! the same machine id and host name (a VM cloned without new ones) or rolled back in place;
//! the collector's conflict check (`dedup/conflicts.rs`) then counts and names the drops.
//!
//! An open that cannot tell (a file system without identities, a damaged file) takes a fresh
//! origin too: the cost is one origin, the alternative a possible loss.

use std::io;
use std::ops::Range;

use byteorder::{ByteOrder, LittleEndian as LE};

use super::channel_id::CHANNEL_ID_FILE_NAME;
use super::config::FileChannelConfig;
use super::error::ChannelError;
use super::locks::io_err;
use crate::io::{read_regular, write_file_atomic, Fs, Links};

/// The file in the checkpoint directory that keeps where the origin was taken.
pub const ORIGIN_HOME_FILE_NAME: &str = "origin-home";
/// First bytes of the file.
pub const ORIGIN_HOME_MAGIC: [u8; 8] = *b"SLUICEOH";
/// The file's format version.
pub const ORIGIN_HOME_VERSION: u32 = 1;
/// Bytes 0..8: [`ORIGIN_HOME_MAGIC`]; 8..12: [`ORIGIN_HOME_VERSION`].
const MAGIC_AT: Range<usize> = 0..8;
const VERSION_AT: Range<usize> = 8..12;
/// Bytes 12..20: the origin.
const ORIGIN_AT: Range<usize> = 12..20;
/// Bytes 20..28: the host's digest ([`Fingerprint::host`]).
const HOST_AT: Range<usize> = 20..28;
/// Bytes 28..36 and 36..44: the `channel-id` file's device and inode.
const DEV_AT: Range<usize> = 28..36;
const INO_AT: Range<usize> = 36..44;
/// Bytes 44..48: CRC32 of bytes 0..44.
const CRC_AT: Range<usize> = 44..48;
/// Bytes of the file.
pub const ORIGIN_HOME_FILE_BYTES: usize = 48;

const _: () = {
    assert!(MAGIC_AT.end == VERSION_AT.start && VERSION_AT.end == ORIGIN_AT.start);
    assert!(ORIGIN_AT.end == HOST_AT.start && HOST_AT.end == DEV_AT.start);
    assert!(DEV_AT.end == INO_AT.start && INO_AT.end == CRC_AT.start);
    assert!(CRC_AT.end == ORIGIN_HOME_FILE_BYTES);
};

/// Where a channel is now: what a copy of its files cannot keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    /// The first 8 bytes (little-endian) of SHA-256 over the host's machine id and host name
    /// (0: the file system names no host).
    pub host: u64,
    /// The `channel-id` file's device and inode ((0, 0): the file system has no identities).
    pub file: (u64, u64),
}

/// What the file holds: an origin and where it was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OriginHome {
    /// The origin.
    pub origin: u64,
    /// Where it was taken.
    pub at: Fingerprint,
}

/// Encodes the file (asserted to decode back).
pub fn encode_origin_home(h: &OriginHome) -> [u8; ORIGIN_HOME_FILE_BYTES] {
    let mut b = [0u8; ORIGIN_HOME_FILE_BYTES];
    b[MAGIC_AT].copy_from_slice(&ORIGIN_HOME_MAGIC);
    LE::write_u32(&mut b[VERSION_AT], ORIGIN_HOME_VERSION);
    LE::write_u64(&mut b[ORIGIN_AT], h.origin);
    LE::write_u64(&mut b[HOST_AT], h.at.host);
    LE::write_u64(&mut b[DEV_AT], h.at.file.0);
    LE::write_u64(&mut b[INO_AT], h.at.file.1);
    let crc = crc32fast::hash(&b[..CRC_AT.start]);
    LE::write_u32(&mut b[CRC_AT], crc);
    assert_eq!(decode_origin_home(&b), Ok(*h));
    b
}

/// Decodes the file: length, magic, CRC, version, in that order (what is wrong).
pub fn decode_origin_home(b: &[u8]) -> Result<OriginHome, &'static str> {
    if b.len() != ORIGIN_HOME_FILE_BYTES {
        return Err("not 48 bytes long");
    }
    if b[MAGIC_AT] != ORIGIN_HOME_MAGIC {
        return Err("bad magic");
    }
    if crc32fast::hash(&b[..CRC_AT.start]) != LE::read_u32(&b[CRC_AT]) {
        return Err("checksum mismatch");
    }
    if LE::read_u32(&b[VERSION_AT]) != ORIGIN_HOME_VERSION {
        return Err("unknown version");
    }
    Ok(OriginHome {
        origin: LE::read_u64(&b[ORIGIN_AT]),
        at: Fingerprint {
            host: LE::read_u64(&b[HOST_AT]),
            file: (LE::read_u64(&b[DEV_AT]), LE::read_u64(&b[INO_AT])),
        },
    })
}

/// What an open found of its origin's home.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::channel) enum Found {
    /// No file: a channel made before it existed, or new; the checkpoint's origin stands.
    None,
    /// The file, naming where the channel is now: its origin stands.
    Home(u64),
    /// The file names somewhere else (or cannot be read): the old origin, and why a new one.
    Moved { old: u64, why: String },
}

/// Where the channel is now.
pub(in crate::channel) fn fingerprint(
    fs: &dyn Fs,
    config: &FileChannelConfig,
) -> Result<Fingerprint, ChannelError> {
    let host = match fs.host_identity() {
        Ok(name) => {
            let d = ring::digest::digest(
                &ring::digest::SHA256,
                format!("sluice-host\0{name}").as_bytes(),
            );
            LE::read_u64(&d.as_ref()[..8])
        }
        Err(e) if e.kind() == io::ErrorKind::Unsupported => 0,
        Err(e) => return Err(io_err("name the host of", &config.checkpoint_dir)(e)),
    };
    let path = config.checkpoint_dir.join(CHANNEL_ID_FILE_NAME);
    let file = match fs.file_identity(&path) {
        Ok(id) => id,
        Err(e) if e.kind() == io::ErrorKind::Unsupported => (0, 0),
        Err(e) => return Err(io_err("stat", &path)(e)),
    };
    Ok(Fingerprint { host, file })
}

/// Reads the file and compares it with `now`; `image_origin` is the checkpoint's.
pub(in crate::channel) fn found(
    fs: &dyn Fs,
    config: &FileChannelConfig,
    now: Fingerprint,
    image_origin: u64,
) -> Found {
    let path = config.checkpoint_dir.join(ORIGIN_HOME_FILE_NAME);
    let home = match read_regular(fs, &path, Links::Refuse, ORIGIN_HOME_FILE_BYTES as u64) {
        Ok(b) => decode_origin_home(&b).map_err(str::to_string),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Found::None,
        Err(e) => Err(e.to_string()),
    };
    match home {
        Ok(h) if h.at == now => Found::Home(h.origin),
        Ok(h) => Found::Moved {
            old: h.origin,
            why: why_moved(&h.at, &now),
        },
        Err(what) => Found::Moved {
            old: image_origin,
            why: format!("{ORIGIN_HOME_FILE_NAME} cannot be read ({what}), so where the origin was taken is unknown"),
        },
    }
}

fn why_moved(was: &Fingerprint, now: &Fingerprint) -> String {
    let mut why = Vec::new();
    if was.host != now.host {
        why.push(format!(
            "the host is another (machine id or host name digest {:016x}, was {:016x}): the channel's disk or files came from another host (a VM image, a volume snapshot, a copy)",
            now.host, was.host
        ));
    }
    if was.file != now.file {
        why.push(format!(
            "{CHANNEL_ID_FILE_NAME} is another file (device {} inode {}, was device {} inode {}): the channel's files were copied or restored from a backup",
            now.file.0, now.file.1, was.file.0, was.file.1
        ));
    }
    why.join("; ")
}

/// Writes the file: `origin`, taken `at`.
pub(in crate::channel) fn keep(
    fs: &dyn Fs,
    config: &FileChannelConfig,
    origin: u64,
    at: Fingerprint,
) -> Result<(), ChannelError> {
    let path = config.checkpoint_dir.join(ORIGIN_HOME_FILE_NAME);
    let bytes = encode_origin_home(&OriginHome { origin, at });
    write_file_atomic(fs, &path, &bytes).map_err(io_err("write", &path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_home_file_round_trips_and_refuses_damage() {
        let h = OriginHome {
            origin: 0x0123_4567_89ab_cdef,
            at: Fingerprint {
                host: 7,
                file: (2049, 131_075),
            },
        };
        let b = encode_origin_home(&h);
        assert_eq!(&b[0..8], b"SLUICEOH");
        assert_eq!(b[8..12], [1, 0, 0, 0]);
        assert_eq!(LE::read_u64(&b[12..20]), h.origin);
        assert_eq!(LE::read_u64(&b[36..44]), 131_075);
        assert_eq!(LE::read_u32(&b[44..48]), crc32fast::hash(&b[..44]));
        let mut bad = b;
        bad[30] ^= 1;
        assert_eq!(decode_origin_home(&bad), Err("checksum mismatch"));
        assert_eq!(decode_origin_home(&b[..47]), Err("not 48 bytes long"));
    }

    #[test]
    fn a_move_names_what_changed() {
        let was = Fingerprint {
            host: 1,
            file: (1, 2),
        };
        let other_file = Fingerprint {
            file: (1, 3),
            ..was
        };
        let why = why_moved(&was, &other_file);
        assert!(why.contains("copied or restored") && !why.contains("host is another"));
        let other_host = Fingerprint { host: 2, ..was };
        assert!(why_moved(&was, &other_host).contains("another host"));
    }
}
