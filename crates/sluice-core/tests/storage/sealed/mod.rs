//! Sealed segments (`encryption.*`, docs/encryption.md) end to end on the real and the
//! simulated file system, with the JCEKS keystore of the reference Flume fixture: events
//! round-trip and no byte of them is readable on disk; a flipped, swapped, moved or cut record
//! is found and named, never delivered altered; keys rotate; power loss keeps every
//! acknowledged commit and never seals two records under one (key, nonce).
//!
//! This file holds the helpers and the round trip; `tamper.rs` the altered records,
//! `keys.rs` the keys, `crash.rs` power loss and the checkpoint.

#![allow(
    clippy::disallowed_methods,
    reason = "copies the reference keystore from the shared folder with std::fs"
)]

use std::path::{Path, PathBuf};

use crate::common::{drain, ev, Bed};
use byteorder::{ByteOrder, LittleEndian as LE};
use sluice_core::internals::wal::record::{frame_len, record_crc, FRAME_CRC_AT, FRAME_LEN_AT};
use sluice_core::internals::wal::seal::SEALED_RECORDS_START;
use sluice_core::internals::wal::segment::parse_segment_file_name;
use sluice_core::io::{write_file_atomic, Fs, OpenMode};
use sluice_core::keys::KeyFiles;
use sluice_core::{EncryptionConfig, FileChannel, FileChannelConfig};

/// The reference Flume channel's folder (`shared/reference/flume-channel`), whose
/// `encrypted/keys` holds a JCEKS keystore keytool made.
fn fixtures() -> PathBuf {
    if let Some(s) = std::env::var_os("SLUICE_SHARED") {
        return PathBuf::from(s).join("reference/flume-channel");
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/reference/flume-channel"))
        .find(|p| p.join("manifest.json").is_file())
        .expect("no shared/reference/flume-channel beside the repository (set SLUICE_SHARED)")
}

mod crash;
mod keys;
mod planted;
mod tamper;

const MARKER: &str = "PLAINTEXT-MARKER";

/// Copies the reference keystore and its password files into `root/keys` on `fs`, and returns
/// the encryption config that lists `keys` with `active` active.
fn keys_on(fs: &dyn Fs, root: &Path, keys: &[&str], active: &str) -> Box<EncryptionConfig> {
    let from = fixtures().join("encrypted/keys");
    let to = root.join("keys");
    fs.create_dir_all(&to).unwrap();
    for name in ["keystore.jceks", "keystore.password", "key-1.password"] {
        let bytes = std::fs::read(from.join(name)).unwrap();
        write_file_atomic(fs, &to.join(name), &bytes).unwrap();
    }
    Box::new(EncryptionConfig {
        active_key: active.into(),
        cipher_provider: "AESCTRNOPADDING".into(),
        key_files: KeyFiles {
            keystore_file: to.join("keystore.jceks"),
            store_password_file: to.join("keystore.password"),
            keys: keys
                .iter()
                .map(|a| {
                    let pw = (*a == "key-1").then(|| to.join("key-1.password"));
                    ((*a).to_owned(), pw)
                })
                .collect(),
        },
        provider: sluice_keystore::key_source(),
    })
}

fn sealed_config(bed: &Bed, active: &str) -> FileChannelConfig {
    let mut c = bed.config(2);
    c.max_file_size_bytes = 64 << 10;
    c.encryption = Some(keys_on(
        bed.fs.as_ref(),
        &bed.root,
        &["key-0", "key-1"],
        active,
    ));
    c
}

fn put_all(ch: &FileChannel, bodies: &[String]) {
    for chunk in bodies.chunks(25) {
        let mut tx = ch.transaction();
        for b in chunk {
            tx.put(ev(b)).unwrap();
        }
        tx.commit().unwrap();
    }
}

fn bodies(tag: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{MARKER}-{tag}-{i:05}-{}", "p".repeat(i % 300)))
        .collect()
}

/// Every segment file of the channel: (id, path).
fn segments(fs: &dyn Fs, config: &FileChannelConfig) -> Vec<(u32, PathBuf)> {
    let mut v = Vec::new();
    for d in &config.data_dirs {
        for n in fs.list_dir(d).unwrap() {
            if let Some(id) = parse_segment_file_name(&n) {
                v.push((id, d.join(n)));
            }
        }
    }
    v.sort();
    v
}

fn read_all(fs: &dyn Fs, path: &Path) -> Vec<u8> {
    let f = fs.open(path, OpenMode::Read).unwrap();
    let mut b = vec![0u8; f.len().unwrap() as usize];
    f.read_exact_at(&mut b, 0).unwrap();
    b
}

fn write_all(fs: &dyn Fs, path: &Path, bytes: &[u8]) {
    let f = fs.open(path, OpenMode::ReadWrite).unwrap();
    f.write_all_at(bytes, 0).unwrap();
    f.sync_data().unwrap();
}

/// The frames of a sealed segment's bytes: (offset, length), up to the first that is not one.
fn frames(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut at = SEALED_RECORDS_START as usize;
    let mut v = Vec::new();
    while let Some(t) = bytes.get(at..).and_then(|b| frame_len(b).ok()) {
        if at + t > bytes.len() {
            break;
        }
        v.push((at, t));
        at += t;
    }
    v
}

fn resalt(frame: &mut [u8], segment: u32) {
    let crc = record_crc(segment, &frame[FRAME_LEN_AT.start..]);
    LE::write_u32(&mut frame[FRAME_CRC_AT], crc);
}

#[test]
fn sealed_events_round_trip_and_no_byte_of_them_is_on_disk() {
    for bed in Bed::both() {
        let config = sealed_config(&bed, "key-1");
        let want = bodies("rt", 600);
        {
            let ch = bed.open(&config);
            put_all(&ch, &want[..300]);
            let mut tx = ch.transaction();
            let first = tx.take().unwrap().unwrap();
            assert_eq!(first.body.as_ref(), want[0].as_bytes());
            tx.rollback();
            put_all(&ch, &want[300..]);
            assert_eq!(
                ch.sealed_by()
                    .iter()
                    .map(|(a, _)| a.as_str())
                    .collect::<Vec<_>>(),
                ["key-1"]
            );
        }
        let segs = segments(bed.fs.as_ref(), &config);
        assert!(
            segs.len() >= 4,
            "the test wants several segments, got {}",
            segs.len()
        );
        for (id, path) in &segs {
            let b = read_all(bed.fs.as_ref(), path);
            assert_eq!(
                LE::read_u32(&b[8..12]),
                3,
                "{}: not a sealed segment",
                path.display()
            );
            assert_eq!(&b[32..36], b"SLSB");
            assert!(
                !frames(&b).is_empty() || b.len() <= SEALED_RECORDS_START as usize,
                "{id}"
            );
        }
        for dir in config.data_dirs.iter().chain([&config.checkpoint_dir]) {
            for n in bed.fs.list_dir(dir).unwrap() {
                let p = dir.join(&n);
                if bed.fs.open(&p, OpenMode::Read).is_err() {
                    continue;
                }
                let b = read_all(bed.fs.as_ref(), &p);
                assert!(
                    !b.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
                    "{} holds plaintext",
                    p.display()
                );
            }
        }
        let ch = bed.open(&config);
        assert_eq!(drain(&ch), want);
    }
}
