//! Sealed segments (`encryption.*`, docs/encryption.md) end to end on the real and the
//! simulated file system, with the JCEKS keystore of the reference Flume fixture: events
//! round-trip and no byte of them is readable on disk; a flipped, swapped, moved or cut record
//! is found and named, never delivered altered; keys rotate; power loss keeps every
//! acknowledged commit and never seals two records under one (key, nonce).

#![allow(
    clippy::disallowed_methods,
    reason = "copies the reference keystore from the shared folder with std::fs"
)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::common::{drain, ev, Bed};
use crate::flume_fixtures::fixtures;
use byteorder::{ByteOrder, LittleEndian as LE};
use sluice_core::internals::wal::record::{frame_len, record_crc, FRAME_CRC_AT, FRAME_LEN_AT};
use sluice_core::internals::wal::seal::{SEALED_RECORDS_START, SEAL_BLOCK_BYTES};
use sluice_core::internals::wal::segment::{parse_segment_file_name, SEGMENT_HEADER_BYTES};
use sluice_core::io::{write_file_atomic, Fs, OpenMode, SimFs};
use sluice_core::keystore::KeyFiles;
use sluice_core::{
    ChannelError, DirectIo, EncryptionConfig, FileChannel, FileChannelConfig, RecoveryPolicy,
};

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

/// Opens `config` under `policy` and returns the error, or the events it delivers.
fn open_under(
    bed: &Bed,
    config: &FileChannelConfig,
    policy: RecoveryPolicy,
) -> Result<Vec<String>, ChannelError> {
    let mut c = config.clone();
    c.recovery_policy = policy;
    FileChannel::open_with_fs(c, bed.fs.clone()).map(|ch| drain(&ch))
}

/// A fresh sealed channel holding `want`, closed; returns its config.
fn written(bed: &Bed, want: &[String]) -> FileChannelConfig {
    let mut config = sealed_config(bed, "key-0");
    config.checkpoint_on_close = false;
    let ch = bed.open(&config);
    put_all(&ch, want);
    drop(ch);
    config
}

/// Alters a written channel's segments; answers the segment it altered.
type Tamper = fn(&dyn Fs, &[(u32, PathBuf)]) -> PathBuf;

/// One bit of the fourth record of the first segment flipped (and the frame re-salted).
fn flip_a_bit(fs: &dyn Fs, segs: &[(u32, PathBuf)]) -> PathBuf {
    let (id, path) = &segs[0];
    let mut b = read_all(fs, path);
    let (at, t) = frames(&b)[3];
    b[at + t - 20] ^= 0x04;
    resalt(&mut b[at..at + t], *id);
    write_all(fs, path, &b);
    path.clone()
}

/// Two puts of one length swapped within the first segment.
fn swap_two_puts(fs: &dyn Fs, segs: &[(u32, PathBuf)]) -> PathBuf {
    let (_, path) = &segs[0];
    let mut b = read_all(fs, path);
    let f = frames(&b);
    let (i, j) = (0..f.len())
        .flat_map(|i| (i + 1..f.len()).map(move |j| (i, j)))
        .find(|(i, j)| f[*i].1 == f[*j].1 && b[f[*i].0 + 8] == 1 && b[f[*j].0 + 8] == 1)
        .expect("two puts of one length");
    let (a, t) = f[i];
    let c = f[j].0;
    let first = b[a..a + t].to_vec();
    b.copy_within(c..c + t, a);
    b[c..c + t].copy_from_slice(&first);
    write_all(fs, path, &b);
    path.clone()
}

/// The first record of one segment put in place of another segment's first (re-salted).
fn move_to_another_segment(fs: &dyn Fs, segs: &[(u32, PathBuf)]) -> PathBuf {
    let (_, from) = &segs[0];
    let (to_id, to) = segs
        .iter()
        .find(|(_, p)| p != from)
        .expect("a second segment");
    let src = read_all(fs, from);
    let mut dst = read_all(fs, to);
    let (at, t) = frames(&src)[0];
    let (dat, dt) = frames(&dst)[0];
    assert_eq!(at, dat);
    let mut frame = src[at..at + t].to_vec();
    resalt(&mut frame, *to_id);
    dst.splice(dat..dat + dt, frame);
    write_all(fs, to, &dst);
    to.clone()
}

#[test]
fn a_flipped_swapped_moved_or_cut_record_is_found_and_never_delivered_altered() {
    let flip: Tamper = flip_a_bit;
    let swap: Tamper = swap_two_puts;
    let moved: Tamper = move_to_another_segment;
    for (what, tamper) in [("flipped", flip), ("swapped", swap), ("moved", moved)] {
        let bed = Bed::real();
        let want = bodies(what, 400);
        let config = written(&bed, &want);
        let segs = segments(bed.fs.as_ref(), &config);
        let path = tamper(bed.fs.as_ref(), &segs);
        let e = open_under(&bed, &config, RecoveryPolicy::Strict)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&path.display().to_string()) && e.contains("authentication tag"),
            "{what}: {e}"
        );
        let got = open_under(&bed, &config, RecoveryPolicy::Salvage).unwrap();
        assert!(got.len() < want.len(), "{what}: nothing dropped");
        assert!(
            got.iter().all(|g| want.contains(g)),
            "{what}: an altered event delivered"
        );
    }
    a_cut_segment_is_refused_by_name();
}

/// Cut: a segment shortened below what was acknowledged is refused, naming it.
fn a_cut_segment_is_refused_by_name() {
    let bed = Bed::real();
    let want = bodies("cut", 400);
    let config = written(&bed, &want);
    let (_, path) = &segments(bed.fs.as_ref(), &config)[1];
    let b = read_all(bed.fs.as_ref(), path);
    let (at, _) = frames(&b)[2];
    bed.fs
        .open(path, OpenMode::ReadWrite)
        .unwrap()
        .set_len(at as u64 + 10)
        .unwrap();
    let e = open_under(&bed, &config, RecoveryPolicy::TolerateTail)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&path.display().to_string()), "{e}");
}

#[test]
fn keys_rotate_and_a_retired_key_still_needed_is_refused_by_name() {
    for bed in Bed::both() {
        let mut config = sealed_config(&bed, "key-0");
        let early = bodies("k0", 150);
        put_all(&bed.open(&config), &early);
        config.encryption.as_mut().unwrap().active_key = "key-1".into();
        let late = bodies("k1", 150);
        {
            let ch = bed.open(&config);
            put_all(&ch, &late);
            let by = ch.sealed_by();
            let aliases: Vec<&str> = by.iter().map(|(a, _)| a.as_str()).collect();
            assert_eq!(aliases, ["key-0", "key-1"], "oldest key first: {by:?}");
        }
        let mut without = config.clone();
        without
            .encryption
            .as_mut()
            .unwrap()
            .key_files
            .keys
            .retain(|(a, _)| a != "key-0");
        let e = FileChannel::open_with_fs(without, bed.fs.clone())
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"key-0\"") && e.contains("segment"), "{e}");
        let mut plain = config.clone();
        plain.encryption = None;
        let e = FileChannel::open_with_fs(plain, bed.fs.clone())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no encryption") && e.contains("\"key-0\""),
            "{e}"
        );
        let ch = bed.open(&config);
        let got = drain(&ch);
        assert_eq!(got, [early, late].concat(), "every event once, in order");
    }
}

#[test]
fn a_wrong_password_or_missing_file_is_one_error_naming_the_file_and_the_key() {
    let bed = Bed::sim(3);
    let config = sealed_config(&bed, "key-1");
    let files = &config.encryption.as_ref().unwrap().key_files;
    write_file_atomic(bed.fs.as_ref(), &files.store_password_file, b"wrong\n").unwrap();
    let e = FileChannel::open_with_fs(config.clone(), bed.fs.clone())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("keystore.jceks") || e.contains("keystore.password"),
        "{e}"
    );
    assert!(!e.contains('\n'), "one line: {e}");
    let mut missing = config.clone();
    missing.encryption.as_mut().unwrap().key_files.keystore_file = bed.root.join("keys/none.jceks");
    let e = FileChannel::open_with_fs(missing, bed.fs.clone())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("none.jceks") && e.contains("keyStoreFile"),
        "{e}"
    );
}

/// Every sealed record of every segment on `fs`: (segment data key as wrapped, nonce counter)
/// → the frame's bytes after its counter.
fn nonces(fs: &dyn Fs, config: &FileChannelConfig, seen: &mut HashMap<(Vec<u8>, u64), Vec<u8>>) {
    for (_, path) in segments(fs, config) {
        let b = read_all(fs, &path);
        if b.len() < SEALED_RECORDS_START as usize {
            continue;
        }
        let key = b
            [SEGMENT_HEADER_BYTES as usize..SEGMENT_HEADER_BYTES as usize + SEAL_BLOCK_BYTES]
            .to_vec();
        for (at, t) in frames(&b) {
            let counter = LE::read_u64(&b[at + 28..at + 36]);
            let sealed = b[at + 36..at + t].to_vec();
            if let Some(before) = seen.insert((key.clone(), counter), sealed.clone()) {
                assert_eq!(
                    before,
                    sealed,
                    "{}: nonce {counter} sealed two records",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn power_loss_keeps_every_acknowledged_commit_and_never_reuses_a_nonce() {
    for mode in [DirectIo::Off, DirectIo::Auto] {
        let sim = SimFs::new(21);
        let mut fs: Arc<dyn Fs> = Arc::new(sim.clone());
        let root = PathBuf::from("/sim");
        let mut config = crate::common::config_under(&root, 2);
        config.direct_io = mode;
        config.max_file_size_bytes = 32 << 10;
        config.encryption = Some(keys_on(fs.as_ref(), &root, &["key-0", "key-1"], "key-0"));
        let mut seen = HashMap::new();
        let mut acked: Vec<String> = Vec::new();
        let mut image = sim;
        for round in 0..4u64 {
            let ch = FileChannel::open_with_fs(config.clone(), fs.clone()).unwrap();
            let got = drain(&ch);
            let lost: Vec<_> = acked.iter().filter(|a| !got.contains(a)).collect();
            assert!(
                lost.is_empty(),
                "{mode:?} round {round}: {} acknowledged lost",
                lost.len()
            );
            acked.clear();
            for i in 0..60 {
                let b = format!("{MARKER}-r{round}-{i:03}-{}", "z".repeat(150));
                let mut tx = ch.transaction();
                tx.put(ev(&b)).unwrap();
                tx.commit().unwrap();
                acked.push(b);
            }
            image = image.crash_image(500 + round);
            drop(ch);
            fs = Arc::new(image.clone());
            nonces(fs.as_ref(), &config, &mut seen);
        }
        assert!(
            seen.len() > 200,
            "{mode:?}: {} sealed records seen",
            seen.len()
        );
    }
}

#[test]
fn a_seal_block_torn_by_a_crash_is_a_torn_start_not_damage() {
    use sluice_core::internals::wal::segment::{encode_header, segment_file_name, SegmentHeader};
    let bed = Bed::sim(5);
    let config = sealed_config(&bed, "key-0");
    let want = bodies("torn", 50);
    put_all(&bed.open(&config), &want);
    let segs = segments(bed.fs.as_ref(), &config);
    let (last, path) = segs.last().unwrap().clone();
    let dir = path.parent().unwrap();
    // The next segment of that directory, its header written and its seal block cut short.
    let next = segs.iter().map(|(id, _)| *id).max().unwrap() + 1;
    let header = encode_header(&SegmentHeader::sealed(next, 1, last));
    for cut in [32, 100] {
        let p = dir.join(segment_file_name(next));
        let f = bed.fs.open(&p, OpenMode::CreateTruncate).unwrap();
        let mut head = header.to_vec();
        head.resize(cut, 0);
        f.write_all_at(&head, 0).unwrap();
        f.sync_data().unwrap();
        let ch = bed.open(&config);
        assert!(
            !bed.fs.exists(&p),
            "the torn start of segment {next} is removed"
        );
        drop(ch);
    }
    assert_eq!(drain(&bed.open(&config)), want);
}

#[test]
fn the_checkpoint_is_sealed_and_an_altered_one_costs_a_full_replay_not_an_event() {
    use sluice_core::RecoverySource;
    for bed in Bed::both() {
        let config = sealed_config(&bed, "key-1");
        let want = bodies("ckpt", 300);
        {
            let ch = bed.open(&config);
            put_all(&ch, &want);
            ch.checkpoint().unwrap();
        }
        let path = config.checkpoint_dir.join("checkpoint");
        let mut b = read_all(bed.fs.as_ref(), &path);
        assert_eq!(&b[..8], b"SLUICESC", "the checkpoint is sealed");
        assert_eq!(
            bed.open(&config).recovery_info().source,
            RecoverySource::Checkpoint
        );
        // Altered (its CRC cannot help: the tag covers it): the channel replays every segment.
        let at = b.len() / 2;
        b[at] ^= 0x20;
        write_all(bed.fs.as_ref(), &path, &b);
        let ch = bed.open(&config);
        assert_eq!(ch.recovery_info().source, RecoverySource::FullReplay);
        assert_eq!(drain(&ch), want);
    }
}

#[test]
fn a_sealed_segment_of_another_channel_under_the_same_keys_is_refused_by_name() {
    for bed in Bed::both() {
        let ours = sealed_config(&bed, "key-0");
        put_all(&bed.open(&ours), &bodies("ours", 100));
        let mut theirs = crate::common::config_under(&bed.root.join("other"), 1);
        theirs.max_file_size_bytes = 16 << 10;
        theirs.encryption = ours.encryption.clone();
        put_all(&bed.open(&theirs), &bodies("theirs", 400));
        let ours_max = segments(bed.fs.as_ref(), &ours).last().unwrap().0;
        let (id, from) = segments(bed.fs.as_ref(), &theirs).pop().unwrap();
        assert!(
            id > ours_max,
            "their newest segment {id} is past ours {ours_max}"
        );
        let to = ours.data_dirs[0].join(from.file_name().unwrap());
        let bytes = read_all(bed.fs.as_ref(), &from);
        write_file_atomic(bed.fs.as_ref(), &to, &bytes).unwrap();
        let e = FileChannel::open_with_fs(ours.clone(), bed.fs.clone())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&to.display().to_string()) && e.contains("another channel"),
            "{e}"
        );
        bed.fs.remove_file(&to).unwrap();
        assert_eq!(drain(&bed.open(&ours)), bodies("ours", 100));
    }
}
