//! Segment recycling (`recycleSegments`, direct I/O only) and the generation tie that makes it
//! safe: a recycled file keeps its earlier use's records after the new tail, and no power cut
//! at any step may make recovery read one of them as live, or lose a committed event.

mod common;
mod recycle_support;

use std::path::Path;
use std::sync::Arc;

use recycle_support::*;
use sluice_core::internals::wal::record::{encode_commit, encode_put};
use sluice_core::internals::wal::segment::{
    encode_header, segment_file_name, SegmentHeader, SEGMENT_VERSION_V1,
};
use sluice_core::io::{Fs, OpenMode, SimFs, StdFs};
use sluice_core::{DirectIo, Event, FileChannel, FileChannelConfig};

#[test]
fn a_recycled_segment_whose_earlier_use_held_more_records_replays_only_its_own() {
    let sim = SimFs::new(3);
    let cfg = config(Path::new("/sim"), DirectIo::Auto, 2);
    let (ch, acked) = scenario(Arc::new(sim.clone()), &cfg, 100);
    let stats = ch.stats();
    assert!(
        stats.segments_recycled >= 1,
        "no roll took a spare: {stats:?}"
    );
    assert!(stats.segments_deleted >= 3, "{stats:?}");
    assert_eq!(acked.len(), 100);
    drop(ch);
    // Reopen as is, and after a power cut now (everything acknowledged was synced).
    for image in [sim.clone(), sim.crash_image(11)] {
        let back = FileChannel::open_with_fs(cfg.clone(), Arc::new(image)).unwrap();
        assert_eq!(drain(&back), acked);
    }
}

/// Writes a version-1 segment (records unsalted, as before recycling) holding `bodies` as one
/// committed transaction.
fn write_v1_segment(sim: &SimFs, dir: &Path, id: u32, bodies: &[&str]) {
    let header = SegmentHeader {
        version: SEGMENT_VERSION_V1,
        ..SegmentHeader::new(id, 1, 0)
    };
    assert_eq!(header.record_salt(), 0);
    let mut b = encode_header(&header).to_vec();
    for (i, body) in bodies.iter().enumerate() {
        let ev = Event::new(body.as_bytes().to_vec());
        encode_put(&mut b, 0, 1, 1 + i as u64, &ev);
    }
    encode_commit(
        &mut b,
        0,
        1,
        1 + bodies.len() as u64,
        bodies.len() as u32,
        0,
    );
    sim.create_dir_all(dir).unwrap();
    let f = sim
        .open(&dir.join(segment_file_name(id)), OpenMode::CreateNew)
        .unwrap();
    f.write_all_at(&b, 0).unwrap();
    f.sync_data().unwrap();
    sim.sync_dir(dir).unwrap();
}

#[test]
fn version_1_segments_still_replay_next_to_version_2_ones_in_one_directory() {
    let sim = SimFs::new(5);
    let cfg = config(Path::new("/sim"), DirectIo::Auto, 2);
    write_v1_segment(&sim, &cfg.data_dirs[0], 1, &["v1-a", "v1-b", "v1-c"]);
    let ch = FileChannel::open_with_fs(cfg.clone(), Arc::new(sim.clone())).unwrap();
    let mut tx = ch.transaction();
    assert_eq!(tx.take().unwrap().unwrap().body, b"v1-a");
    tx.commit().unwrap();
    assert!(put_one(&ch, "v2-d"));
    drop(ch);
    let back = FileChannel::open_with_fs(cfg.clone(), Arc::new(sim.clone())).unwrap();
    let got: Vec<String> = common::drain(&back);
    assert_eq!(got, ["v1-b", "v1-c", "v2-d"]);
    drop(back);
    // verify reads every segment of both formats from the start, and finds nothing wrong.
    let report = sluice_core::inspect::verify(Arc::new(sim.clone()), &cfg);
    let v = report.unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
}

#[test]
fn recycle_segments_0_unlinks_and_buffered_segments_are_never_recycled() {
    for (direct, recycle) in [(DirectIo::Auto, 0), (DirectIo::Off, 2)] {
        let sim = SimFs::new(9);
        let cfg = config(Path::new("/sim"), direct, recycle);
        let (ch, acked) = scenario(Arc::new(sim.clone()), &cfg, 100);
        let stats = ch.stats();
        let at = format!("directIo {direct:?}, recycleSegments {recycle}");
        assert!(stats.segments_deleted >= 3, "{at}: {stats:?}");
        assert_eq!(stats.segments_recycled, 0, "{at}");
        assert_eq!(spares(&sim, &cfg.data_dirs[0]), 0, "{at}");
        drop(ch);
        let back = FileChannel::open_with_fs(cfg.clone(), Arc::new(sim.clone())).unwrap();
        assert_eq!(drain(&back), acked, "{at}");
    }
    // With recycling on, the spares wait in the directory and a reopen keeps them.
    let sim = SimFs::new(9);
    let cfg = config(Path::new("/sim"), DirectIo::Auto, 2);
    let ch = FileChannel::open_with_fs(cfg.clone(), Arc::new(sim.clone())).unwrap();
    used_and_retired(&ch, 300);
    assert_eq!(spares(&sim, &cfg.data_dirs[0]), 2);
    drop(ch);
    // Reopened with recycling off, the spares are removed.
    let off = config(Path::new("/sim"), DirectIo::Auto, 0);
    drop(FileChannel::open_with_fs(off, Arc::new(sim.clone())).unwrap());
    assert_eq!(spares(&sim, &cfg.data_dirs[0]), 0);
}

#[test]
fn on_a_real_disk_a_channel_recycles_its_segments_and_reopens_with_every_event() {
    // Under target/: on the work disk, where O_DIRECT works (a tmpfs /tmp refuses it).
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let fs: Arc<dyn Fs> = Arc::new(StdFs);
    let cfg = config(tmp.path(), DirectIo::Auto, 2);
    let ch = FileChannel::open_with_fs(cfg.clone(), fs.clone()).unwrap();
    // Rounds of puts, takes of all but the newest few, and checkpoints: segments retire into
    // spares and come back as new segments many times.
    let mut next = 0;
    let mut expected: Vec<String> = Vec::new();
    for _round in 0..12 {
        for _ in 0..12 {
            let mut tx = ch.transaction();
            for _ in 0..10 {
                tx.put(Event::new(body("new", next).into_bytes())).unwrap();
                expected.push(format!("new-{next:05}"));
                next += 1;
            }
            tx.commit().unwrap();
        }
        let keep = 7;
        let mut tx = ch.transaction();
        let take = expected.len() - keep;
        for want in expected.drain(..take) {
            let e = tx.take().unwrap().unwrap();
            assert_eq!(name(std::str::from_utf8(&e.body).unwrap()), want);
        }
        tx.commit().unwrap();
        ch.checkpoint().unwrap();
    }
    let stats = ch.stats();
    let direct_works = StdFs
        .open_direct(&cfg.data_dirs[0].join(segment_file_name(some_segment(fs.as_ref(), &cfg))))
        .is_ok();
    if direct_works {
        assert!(stats.segments_recycled >= 5, "{stats:?}");
    }
    // More events after the last checkpoint, then a reopen without closing cleanly.
    for i in 0..20 {
        let b = body("new", next + i);
        assert!(put_one(&ch, &b));
        expected.push(name(&b));
    }
    drop(ch);
    let back = FileChannel::open_with_fs(cfg.clone(), fs.clone()).unwrap();
    assert_eq!(drain(&back), expected);
    drop(back);
    let v = sluice_core::inspect::verify(fs, &cfg).unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
}

/// The id of some segment in the (only) data directory.
fn some_segment(fs: &dyn Fs, cfg: &FileChannelConfig) -> u32 {
    let names = fs.list_dir(&cfg.data_dirs[0]).unwrap();
    names
        .iter()
        .filter_map(|n| n.strip_prefix("log-").and_then(|d| d.parse().ok()))
        .next()
        .unwrap_or(1)
}
#[test]
fn a_recycled_segment_whose_records_end_on_a_block_boundary_still_ends_cleanly_in_a_full_replay() {
    let sim = SimFs::new(4);
    let cfg = config(Path::new("/sim"), DirectIo::Auto, 2);
    let ch = FileChannel::open_with_fs(cfg.clone(), Arc::new(sim.clone())).unwrap();
    used_and_retired(&ch, 300);
    // A new segment in a spare: 32-byte header + one put of a 3,992-byte body without headers
    // (36 + 3,992 bytes) + its commit (36 bytes) = exactly 4,096: the records end on a block
    // boundary, right before the earlier use's bytes. Sealing it must put zeroes there.
    ch.roll_segments().unwrap();
    let recycled_before = ch.stats().segments_recycled;
    assert!(recycled_before >= 1);
    let exact = "b".repeat(3992);
    assert!(put_one(&ch, &exact));
    ch.roll_segments().unwrap();
    assert!(put_one(&ch, "after"));
    drop(ch);
    // Without the checkpoint every segment is read from its start: the sealed one is now in
    // the middle of the directory, where anything but a clean end refuses the open.
    sim.remove_file(&cfg.checkpoint_dir.join("checkpoint"))
        .unwrap();
    let back = FileChannel::open_with_fs(cfg.clone(), Arc::new(sim.clone())).unwrap();
    let got = common::drain(&back);
    assert_eq!(got, [exact.as_str(), "after"]);
}
