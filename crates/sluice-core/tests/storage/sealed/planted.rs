//! A plain segment of another channel copied into a sealed channel's data directory, under a
//! name that sorts where it would be replayed (issue 80): the open refuses it naming the file
//! (`strict`, `tolerate-tail`), or sets it aside whole under `salvage` with its committed
//! events counted; its puts and takes are never merged over the channel's own events.

use std::path::{Path, PathBuf};

use super::{bodies, put_all, read_all, sealed_config, segments};
use crate::common::{config_under, drain, Bed};
use sluice_core::internals::wal::record::RecordKind;
use sluice_core::internals::wal::seal::FrameCodec;
use sluice_core::internals::wal::segment::{scan_records, SEGMENT_HEADER_BYTES};
use sluice_core::io::{write_file_atomic, Fs, OpenMode};
use sluice_core::{FileChannel, FileChannelConfig, RecoveryPolicy};

const OURS: usize = 2_000;

/// The committed events a plain segment's commit records count.
fn committed_in(fs: &dyn Fs, id: u32, path: &Path) -> u64 {
    let file = fs.open(path, OpenMode::Read).unwrap();
    let mut events = 0u64;
    let codec = FrameCodec::plain(id);
    scan_records(
        file.as_ref(),
        SEGMENT_HEADER_BYTES,
        &codec,
        false,
        |_, meta| {
            if let (RecordKind::Commit, Some((puts, _))) = (meta.kind, meta.commit) {
                events += u64::from(puts);
            }
        },
    )
    .unwrap();
    events
}

/// A sealed channel holding `OURS` events, and the newest segment of a plain channel (with
/// puts and takes, its id past ours) copied beside ours: (our config, the copy, the committed
/// events in it).
fn planted(bed: &Bed) -> (FileChannelConfig, PathBuf, u64) {
    let ours = sealed_config(bed, "key-0");
    put_all(&bed.open(&ours), &bodies("ours", OURS));
    let ours_max = segments(bed.fs.as_ref(), &ours).last().unwrap().0;
    let mut theirs = config_under(&bed.root.join("other"), 1);
    theirs.max_file_size_bytes = 16 << 10;
    let ch = bed.open(&theirs);
    let mut round = 0;
    while segments(bed.fs.as_ref(), &theirs).last().unwrap().0 <= ours_max + 1 {
        put_all(&ch, &bodies(&format!("theirs{round}"), 100));
        round += 1;
    }
    let mut tx = ch.transaction();
    for _ in 0..49 {
        tx.take().unwrap().unwrap();
    }
    tx.commit().unwrap();
    drop(ch);
    let (id, from) = segments(bed.fs.as_ref(), &theirs).pop().unwrap();
    assert!(
        id > ours_max,
        "their newest segment {id} is past ours {ours_max}"
    );
    let to = ours.data_dirs[0].join(from.file_name().unwrap());
    write_file_atomic(bed.fs.as_ref(), &to, &read_all(bed.fs.as_ref(), &from)).unwrap();
    let events = committed_in(bed.fs.as_ref(), id, &to);
    assert!(events > 0, "the planted segment commits events");
    (ours, to, events)
}

#[test]
fn a_plain_segment_planted_in_a_sealed_channel_is_refused_by_name_or_set_aside_and_counted() {
    for bed in Bed::both() {
        let (ours, to, events) = planted(&bed);
        for policy in [RecoveryPolicy::Strict, RecoveryPolicy::TolerateTail] {
            let mut c = ours.clone();
            c.recovery_policy = policy;
            let e = FileChannel::open_with_fs(c, bed.fs.clone())
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(&to.display().to_string()) && e.contains("another channel"),
                "{policy:?}: {e}"
            );
        }
        let mut c = ours.clone();
        c.recovery_policy = RecoveryPolicy::Salvage;
        let ch = bed.open(&c);
        let report = &ch.recovery_info().report;
        assert_eq!(report.events_set_aside, events);
        assert_eq!(report.set_aside, vec![(to.clone(), events)]);
        assert_eq!(
            drain(&ch),
            bodies("ours", OURS),
            "every sealed event, none planted"
        );
        drop(ch);
        bed.fs.remove_file(&to).unwrap();
        assert!(
            drain(&bed.open(&ours)).is_empty(),
            "the drain was committed"
        );
    }
}

/// Rewrites a version-4 segment's header as version 2 (a plain segment naming no channel).
fn as_version_2(fs: &dyn Fs, path: &Path) {
    use byteorder::{ByteOrder, LittleEndian as LE};
    let mut b = read_all(fs, path);
    assert_eq!(LE::read_u32(&b[8..12]), 4);
    LE::write_u32(&mut b[8..12], 2);
    let crc = crc32fast::hash(&b[..28]);
    LE::write_u32(&mut b[28..32], crc);
    write_file_atomic(fs, path, &b).unwrap();
}

#[test]
fn an_unnamed_plain_segment_past_the_first_sealed_one_is_refused_as_plain_or_set_aside() {
    for bed in Bed::both() {
        let (ours, to, events) = planted(&bed);
        as_version_2(bed.fs.as_ref(), &to);
        let e = FileChannel::open_with_fs(ours.clone(), bed.fs.clone())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&to.display().to_string()) && e.contains("plain segment"),
            "{e}"
        );
        let mut c = ours.clone();
        c.recovery_policy = RecoveryPolicy::Salvage;
        let ch = bed.open(&c);
        assert_eq!(ch.recovery_info().report.events_set_aside, events);
        assert_eq!(drain(&ch), bodies("ours", OURS));
    }
}

#[test]
fn a_sealed_segment_of_another_channel_under_the_same_keys_is_set_aside_under_salvage() {
    for bed in Bed::both() {
        let ours = sealed_config(&bed, "key-0");
        put_all(&bed.open(&ours), &bodies("ours", OURS));
        let ours_max = segments(bed.fs.as_ref(), &ours).last().unwrap().0;
        let mut theirs = config_under(&bed.root.join("other"), 1);
        theirs.max_file_size_bytes = 16 << 10;
        theirs.encryption = ours.encryption.clone();
        let ch = bed.open(&theirs);
        let mut round = 0;
        while segments(bed.fs.as_ref(), &theirs).last().unwrap().0 <= ours_max + 1 {
            put_all(&ch, &bodies(&format!("theirs{round}"), 100));
            round += 1;
        }
        drop(ch);
        let (_, from) = segments(bed.fs.as_ref(), &theirs).pop().unwrap();
        let to = ours.data_dirs[1].join(from.file_name().unwrap());
        write_file_atomic(bed.fs.as_ref(), &to, &read_all(bed.fs.as_ref(), &from)).unwrap();
        let mut c = ours.clone();
        c.recovery_policy = RecoveryPolicy::Salvage;
        let ch = bed.open(&c);
        let report = &ch.recovery_info().report;
        assert_eq!(report.set_aside.len(), 1, "{:?}", report.set_aside);
        assert_eq!(report.set_aside[0].0, to);
        assert!(
            report.events_set_aside > 0,
            "its committed events are counted"
        );
        assert_eq!(
            drain(&ch),
            bodies("ours", OURS),
            "2,000 of 2,000, none of theirs"
        );
    }
}
