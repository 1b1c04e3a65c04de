//! Sealed segments across crashes: power loss keeps every acknowledged commit and never
//! seals two records under one (key, nonce); a seal block torn by a crash is a torn start;
//! the checkpoint is sealed too, and an altered one costs a full replay, not an event.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::{
    bodies, frames, keys_on, put_all, read_all, sealed_config, segments, write_all, MARKER,
};
use crate::common::{drain, ev, Bed};
use byteorder::{ByteOrder, LittleEndian as LE};
use sluice_core::internals::wal::seal::{SEALED_RECORDS_START, SEAL_BLOCK_BYTES};
use sluice_core::internals::wal::segment::SEGMENT_HEADER_BYTES;
use sluice_core::io::{Fs, OpenMode, SimFs};
use sluice_core::{DirectIo, FileChannel, FileChannelConfig};

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
