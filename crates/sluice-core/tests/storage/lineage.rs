//! Segments belong to one channel (issue 80): every segment a channel starts names it (a plain
//! segment's header carries the first 8 bytes of the id kept in `checkpointDir/channel-id`),
//! so a segment of another plain channel, an unnamed (older-format) segment past the first
//! named one, or a copy of one of the channel's own segments under a new number is refused at
//! open naming the file, or set aside under `salvage` with every committed event of the
//! channel delivered. Channels written before segments named their channel (version 1 and 2)
//! still open, deliver, and name themselves from then on.

use std::path::{Path, PathBuf};

use byteorder::{ByteOrder, LittleEndian as LE};

use crate::common::{drain, ev, Bed};
use sluice_core::internals::wal::record::{frame_len, resalt, RecordKind};
use sluice_core::internals::wal::seal::FrameCodec;
use sluice_core::internals::wal::segment::{
    decode_header, encode_header, parse_segment_file_name, scan_records, SegmentHeader,
};
use sluice_core::io::{read_file, write_file_atomic, Fs, OpenMode, StdFs};
use sluice_core::{FileChannel, FileChannelConfig, RecoveryPolicy};

const OURS: usize = 2_000;
/// The file in the checkpoint directory that keeps the channel's id.
const CHANNEL_ID_FILE_NAME: &str = "channel-id";

fn bodies(tag: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{tag}-{i:05}")).collect()
}

/// Commits `bodies` in transactions of 100.
fn put_bodies(ch: &FileChannel, bodies: &[String]) {
    for chunk in bodies.chunks(100) {
        let mut tx = ch.transaction();
        for b in chunk {
            tx.put(ev(b)).unwrap();
        }
        tx.commit().unwrap();
    }
}

/// The segments of data directory `dir`, in id order.
fn segments(fs: &dyn Fs, dir: &Path) -> Vec<(u32, PathBuf)> {
    let mut out: Vec<(u32, PathBuf)> = fs
        .list_dir(dir)
        .unwrap()
        .iter()
        .filter_map(|n| parse_segment_file_name(n).map(|id| (id, dir.join(n))))
        .collect();
    out.sort_by_key(|(id, _)| *id);
    out
}

/// A one-directory channel under `root` with small segments.
fn small(root: &Path) -> FileChannelConfig {
    let mut c = crate::common::config_under(root, 1);
    c.max_file_size_bytes = 16 << 10;
    c
}

/// The committed events a plain segment's commit records count.
fn committed_in(fs: &dyn Fs, path: &Path) -> u64 {
    let file = fs.open(path, OpenMode::Read).unwrap();
    let header = decode_header(&read_file(fs, path).unwrap()).unwrap();
    let mut events = 0u64;
    let codec = FrameCodec::plain(header.record_salt());
    scan_records(
        file.as_ref(),
        header.records_start(),
        &codec,
        false,
        |_, m| {
            if let (RecordKind::Commit, Some((puts, _))) = (m.kind, m.commit) {
                events += u64::from(puts);
            }
        },
    )
    .unwrap();
    events
}

/// Rewrites segment `path`'s header as format version 2 (a creation time where version 4
/// names the channel): the segment as a channel written before version 4 had it. The records
/// are the same bytes in both versions.
fn as_version_2(fs: &dyn Fs, path: &Path) {
    let mut b = read_file(fs, path).unwrap();
    assert_eq!(
        LE::read_u32(&b[8..12]),
        4,
        "{} is version 4",
        path.display()
    );
    LE::write_u32(&mut b[8..12], 2);
    LE::write_u64(&mut b[16..24], 1_700_000_000_000);
    let crc = crc32fast::hash(&b[..28]);
    LE::write_u32(&mut b[28..32], crc);
    write_file_atomic(fs, path, &b).unwrap();
}

/// Our channel with `OURS` events, and another plain channel's newest segment (with puts and
/// 49 committed takes, its id past ours) copied beside ours: (our config, the copy, the
/// committed events in it).
fn planted(bed: &Bed) -> (FileChannelConfig, PathBuf, u64) {
    let ours = small(&bed.root);
    put_bodies(&bed.open(&ours), &bodies("ours", OURS));
    let ours_max = segments(bed.fs.as_ref(), &ours.data_dirs[0])
        .last()
        .unwrap()
        .0;
    let theirs = small(&bed.root.join("other"));
    let ch = bed.open(&theirs);
    let mut round = 0;
    while segments(bed.fs.as_ref(), &theirs.data_dirs[0])
        .last()
        .unwrap()
        .0
        <= ours_max + 1
    {
        put_bodies(&ch, &bodies(&format!("theirs{round}"), 100));
        round += 1;
    }
    let mut tx = ch.transaction();
    for _ in 0..49 {
        tx.take().unwrap().unwrap();
    }
    tx.commit().unwrap();
    drop(ch);
    let (id, from) = segments(bed.fs.as_ref(), &theirs.data_dirs[0])
        .pop()
        .unwrap();
    assert!(
        id > ours_max,
        "their newest segment {id} is past ours {ours_max}"
    );
    let to = ours.data_dirs[0].join(from.file_name().unwrap());
    write_file_atomic(
        bed.fs.as_ref(),
        &to,
        &read_file(bed.fs.as_ref(), &from).unwrap(),
    )
    .unwrap();
    let events = committed_in(bed.fs.as_ref(), &to);
    assert!(events > 0, "the planted segment commits events");
    (ours, to, events)
}

/// Opening `ours` refuses `to` naming it (and saying `why`) under `strict` and
/// `tolerate-tail`; `salvage` sets it aside, counts `events`, and delivers every one of ours.
fn refused_or_set_aside(
    bed: &Bed,
    ours: &FileChannelConfig,
    to: &Path,
    (why, events): (&str, u64),
) {
    for policy in [RecoveryPolicy::Strict, RecoveryPolicy::TolerateTail] {
        let mut c = ours.clone();
        c.recovery_policy = policy;
        let e = FileChannel::open_with_fs(c, bed.fs.clone())
            .unwrap_err()
            .to_string();
        let named = e.contains(&to.display().to_string());
        assert!(named && e.contains(why), "{policy:?}: {e}");
    }
    let mut c = ours.clone();
    c.recovery_policy = RecoveryPolicy::Salvage;
    let ch = bed.open(&c);
    let report = &ch.recovery_info().report;
    assert_eq!(report.events_set_aside, events);
    assert_eq!(report.set_aside, vec![(to.to_path_buf(), events)]);
    assert_eq!(
        drain(&ch),
        bodies("ours", OURS),
        "2,000 of 2,000, none planted"
    );
    drop(ch);
    bed.fs.remove_file(to).unwrap();
    assert!(drain(&bed.open(ours)).is_empty(), "the drain was committed");
}

#[test]
fn a_segment_of_another_plain_channel_is_refused_by_name_or_set_aside_with_every_event_kept() {
    for bed in Bed::both() {
        let (ours, to, events) = planted(&bed);
        refused_or_set_aside(&bed, &ours, &to, ("another channel", events));
    }
}

#[test]
fn an_unnamed_older_format_segment_past_the_first_named_one_is_refused_or_set_aside() {
    for bed in Bed::both() {
        let (ours, to, events) = planted(&bed);
        as_version_2(bed.fs.as_ref(), &to);
        refused_or_set_aside(&bed, &ours, &to, ("names no channel", events));
    }
}

#[test]
fn a_copy_of_an_own_segment_under_a_new_number_is_refused_or_set_aside() {
    for bed in Bed::both() {
        let ours = small(&bed.root);
        put_bodies(&bed.open(&ours), &bodies("ours", OURS));
        let segs = segments(bed.fs.as_ref(), &ours.data_dirs[0]);
        let (max, _) = *segs.last().unwrap();
        let (_, early) = &segs[1];
        let to = ours.data_dirs[0].join(format!("log-{:010}", max + 1));
        let bytes = read_file(bed.fs.as_ref(), early).unwrap();
        write_file_atomic(bed.fs.as_ref(), &to, &bytes).unwrap();
        for policy in [RecoveryPolicy::Strict, RecoveryPolicy::TolerateTail] {
            let mut c = ours.clone();
            c.recovery_policy = policy;
            let e = FileChannel::open_with_fs(c, bed.fs.clone())
                .unwrap_err()
                .to_string();
            assert!(e.contains(&to.display().to_string()), "{policy:?}: {e}");
        }
        let mut c = ours.clone();
        c.recovery_policy = RecoveryPolicy::Salvage;
        let ch = bed.open(&c);
        assert_eq!(drain(&ch), bodies("ours", OURS), "each event once");
    }
}

/// A copy of segment `from` forged into segment `id` of the same directory: header rewritten
/// (id, predecessor `prev`), every record re-salted for `id`, so that only the sequence numbers
/// tell it from the channel's own.
fn forged_copy(fs: &dyn Fs, from: &Path, (id, prev): (u32, u32)) -> Vec<u8> {
    let mut b = read_file(fs, from).unwrap();
    let mut end = 32;
    while let Ok(total) = frame_len(&b[end..]) {
        end += total;
    }
    resalt(&mut b[32..end], id);
    let mut tag = [0u8; 8];
    tag.copy_from_slice(&b[16..24]);
    b[..32].copy_from_slice(&encode_header(&SegmentHeader::named(id, prev, tag)));
    b.truncate(end);
    b
}

#[test]
fn a_forged_copy_of_an_own_segment_is_refused_naming_both_files_or_set_aside() {
    for bed in Bed::both() {
        let ours = small(&bed.root);
        put_bodies(&bed.open(&ours), &bodies("ours", OURS));
        let segs = segments(bed.fs.as_ref(), &ours.data_dirs[0]);
        let (max, _) = *segs.last().unwrap();
        let (_, early) = &segs[1];
        let to = ours.data_dirs[0].join(format!("log-{:010}", max + 1));
        let forged = forged_copy(bed.fs.as_ref(), early, (max + 1, max));
        write_file_atomic(bed.fs.as_ref(), &to, &forged).unwrap();
        for policy in [RecoveryPolicy::Strict, RecoveryPolicy::TolerateTail] {
            let mut c = ours.clone();
            c.recovery_policy = policy;
            let e = FileChannel::open_with_fs(c, bed.fs.clone())
                .unwrap_err()
                .to_string();
            let both =
                e.contains(&to.display().to_string()) && e.contains(&early.display().to_string());
            assert!(both && e.contains("sequence number"), "{policy:?}: {e}");
        }
        let mut c = ours.clone();
        c.recovery_policy = RecoveryPolicy::Salvage;
        let ch = bed.open(&c);
        let report = &ch.recovery_info().report;
        assert_eq!(report.set_aside.len(), 1, "{:?}", report.set_aside);
        assert_eq!(report.set_aside[0].0, to);
        assert_eq!(drain(&ch), bodies("ours", OURS), "each event once");
    }
}

/// The channel's id as its file keeps it (docs/format.md, "Channel id").
fn id_file(bed: &Bed, c: &FileChannelConfig) -> [u8; 16] {
    let b = read_file(
        bed.fs.as_ref(),
        &c.checkpoint_dir.join(CHANNEL_ID_FILE_NAME),
    )
    .unwrap();
    assert_eq!((b.len(), &b[..8]), (32, &b"SLUICECI"[..]));
    assert_eq!(LE::read_u32(&b[28..32]), crc32fast::hash(&b[..28]));
    b[12..28].try_into().unwrap()
}

/// The version and bytes 16..24 of each segment's header, in id order.
fn headers(bed: &Bed, c: &FileChannelConfig) -> Vec<(u32, [u8; 8])> {
    segments(bed.fs.as_ref(), &c.data_dirs[0])
        .iter()
        .map(|(_, p)| {
            let b = read_file(bed.fs.as_ref(), p).unwrap();
            (LE::read_u32(&b[8..12]), b[16..24].try_into().unwrap())
        })
        .collect()
}

#[test]
fn a_channel_of_version_2_segments_opens_delivers_and_names_itself_from_then_on() {
    for bed in Bed::both() {
        let c = small(&bed.root);
        put_bodies(&bed.open(&c), &bodies("old", 1_000));
        let old = segments(bed.fs.as_ref(), &c.data_dirs[0]);
        for (_, p) in &old {
            as_version_2(bed.fs.as_ref(), p);
        }
        bed.fs
            .remove_file(&c.checkpoint_dir.join(CHANNEL_ID_FILE_NAME))
            .unwrap();
        put_bodies(&bed.open(&c), &bodies("new", 1_000));
        let id = id_file(&bed, &c);
        let hs = headers(&bed, &c);
        let (was, now) = hs.split_at(old.len());
        assert!(was.iter().all(|(v, _)| *v == 2), "{was:?}");
        assert!(!now.is_empty() && now.iter().all(|(v, tag)| *v == 4 && tag[..] == id[..8]));
        let ch = bed.open(&c);
        let mut want = bodies("old", 1_000);
        want.extend(bodies("new", 1_000));
        assert_eq!(drain(&ch), want);
        assert_eq!(id_file(&bed, &c), id, "the id is kept");
    }
}

#[test]
fn a_lost_channel_id_file_is_taken_back_from_the_segments_that_name_it() {
    for bed in Bed::both() {
        let (ours, to, events) = planted(&bed);
        let id = id_file(&bed, &ours);
        bed.fs
            .remove_file(&ours.checkpoint_dir.join(CHANNEL_ID_FILE_NAME))
            .unwrap();
        // Most segments name our channel: the planted one is still the odd one out.
        refused_or_set_aside(&bed, &ours, &to, ("another channel", events));
        assert_eq!(id_file(&bed, &ours)[..8], id[..8]);
    }
}

/// Copies the version-1 fixture channel `tests/fixtures/sound` (docs: tests/fixtures/README.md)
/// under `bed.root`; returns its config.
fn version_1_fixture(bed: &Bed) -> FileChannelConfig {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/sound");
    for dir in ["checkpoint", "data0"] {
        let to = bed.root.join(dir);
        bed.fs.create_dir_all(&to).unwrap();
        for name in StdFs.list_dir(&fixture.join(dir)).unwrap() {
            let bytes = read_file(&StdFs, &fixture.join(dir).join(&name)).unwrap();
            write_file_atomic(bed.fs.as_ref(), &to.join(&name), &bytes).unwrap();
        }
    }
    crate::common::config_under(&bed.root, 1)
}

#[test]
fn the_version_1_fixture_channel_still_opens_and_delivers() {
    for bed in Bed::both() {
        let c = version_1_fixture(&bed);
        put_bodies(&bed.open(&c), &bodies("new", 10));
        let ch = bed.open(&c);
        let mut got: Vec<Vec<u8>> = Vec::new();
        let mut tx = ch.transaction();
        while let Some(e) = tx.take().unwrap() {
            got.push(Vec::from(e.into_parts().1));
        }
        tx.commit().unwrap();
        assert_eq!(got.len(), 66 + 10);
        assert_eq!(got[0], b"event-007");
        assert_eq!(got[65], b"bin-\xff\xfe");
        let new: Vec<Vec<u8>> = bodies("new", 10)
            .into_iter()
            .map(String::into_bytes)
            .collect();
        assert_eq!(got[66..], new[..]);
        let hs = headers(&bed, &c);
        let (was, now) = hs.split_at(4);
        assert!(was.iter().all(|(v, _)| *v == 1), "{hs:?}");
        assert!(
            !now.is_empty() && now.iter().all(|(v, _)| *v == 4),
            "{hs:?}"
        );
    }
}
