//! Segment recycling (`recycleSegments`, direct and buffered) and the generation tie that makes it
//! safe: a recycled file keeps its earlier use's records after the new tail, and no power cut
//! at any step may make recovery read one of them as live, or lose a committed event.

use std::path::Path;
use std::sync::Arc;

use crate::common;
use crate::recycle_support::*;
use sluice_core::internals::wal::record::{encode_commit, encode_put};
use sluice_core::internals::wal::segment::{
    encode_header, segment_file_name, SegmentHeader, SEGMENT_VERSION_V1,
};
use sluice_core::io::{Fs, OpenMode, SimFs, StdFs};
use sluice_core::{DirectIo, Event, FileChannel, FileChannelConfig};

#[test]
fn a_recycled_segment_whose_earlier_use_held_more_records_replays_only_its_own() {
    for direct in [DirectIo::Auto, DirectIo::Off] {
        let sim = SimFs::new(3);
        let cfg = config(Path::new("/sim"), direct, 2);
        let (ch, acked) = scenario(Arc::new(sim.clone()), &cfg, 100);
        let stats = ch.stats();
        assert!(
            stats.segments_recycled >= 1,
            "{direct:?}: no roll took a spare: {stats:?}"
        );
        assert!(stats.segments_deleted >= 3, "{direct:?}: {stats:?}");
        assert_eq!(acked.len(), 100);
        drop(ch);
        // Reopen as is, and after a power cut now (everything acknowledged was synced).
        for image in [sim.clone(), sim.crash_image(11)] {
            let back = FileChannel::open_with_fs(cfg.clone(), Arc::new(image)).unwrap();
            assert_eq!(drain(&back), acked, "{direct:?}");
        }
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
    assert_eq!(tx.take().unwrap().unwrap().body, &b"v1-a"[..]);
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
fn recycle_segments_0_unlinks_and_buffered_segments_are_recycled_too() {
    for (direct, recycle) in [(DirectIo::Auto, 0), (DirectIo::Off, 0), (DirectIo::Off, 2)] {
        let sim = SimFs::new(9);
        let cfg = config(Path::new("/sim"), direct, recycle);
        let (ch, acked) = scenario(Arc::new(sim.clone()), &cfg, 100);
        let stats = ch.stats();
        let at = format!("directIo {direct:?}, recycleSegments {recycle}");
        assert!(stats.segments_deleted >= 3, "{at}: {stats:?}");
        if recycle == 0 {
            assert_eq!(stats.segments_recycled, 0, "{at}");
            assert_eq!(spares(&sim, &cfg.data_dirs[0]), 0, "{at}");
        } else {
            assert!(stats.segments_recycled >= 1, "{at}: {stats:?}");
        }
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
    for direct in [DirectIo::Auto, DirectIo::Off] {
        on_a_real_disk(direct);
    }
}

fn on_a_real_disk(direct: DirectIo) {
    // Under target/: on the work disk, where O_DIRECT works (a tmpfs /tmp refuses it).
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let fs: Arc<dyn Fs> = Arc::new(StdFs);
    let cfg = config(tmp.path(), direct, 2);
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
    // Buffered segments are recycled everywhere; direct ones where O_DIRECT works.
    if direct_works || direct == DirectIo::Off {
        assert!(stats.segments_recycled >= 5, "{direct:?}: {stats:?}");
    }
    // More events after the last checkpoint, then a reopen without closing cleanly.
    for i in 0..20 {
        let b = body("new", next + i);
        assert!(put_one(&ch, &b));
        expected.push(name(&b));
    }
    drop(ch);
    let back = FileChannel::open_with_fs(cfg.clone(), fs.clone()).unwrap();
    assert_eq!(drain(&back), expected, "{direct:?}");
    drop(back);
    let v = sluice_core::inspect::verify(fs, &cfg).unwrap();
    assert!(v.problems.is_empty(), "{direct:?}: {:?}", v.problems);
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
    for direct in [DirectIo::Auto, DirectIo::Off] {
        let sim = SimFs::new(4);
        let cfg = config(Path::new("/sim"), direct, 2);
        let ch = FileChannel::open_with_fs(cfg.clone(), Arc::new(sim.clone())).unwrap();
        used_and_retired(&ch, 300);
        // A new segment in a spare: 32-byte header + one put of a 3,992-byte body without
        // headers (36 + 3,992 bytes) + its commit (36 bytes) = exactly 4,096: the records end
        // on a block boundary, right before the earlier use's bytes. There must be zeroes
        // there (direct: written at the seal; buffered: padded by every append).
        ch.roll_segments().unwrap();
        let recycled_before = ch.stats().segments_recycled;
        assert!(recycled_before >= 1, "{direct:?}");
        let exact = "b".repeat(3992);
        assert!(put_one(&ch, &exact));
        ch.roll_segments().unwrap();
        assert!(put_one(&ch, "after"));
        drop(ch);
        // Without the checkpoint every segment is read from its start: the sealed one is now
        // in the middle of the directory, where anything but a clean end refuses the open.
        sim.remove_file(&cfg.checkpoint_dir.join("checkpoint"))
            .unwrap();
        let back = FileChannel::open_with_fs(cfg.clone(), Arc::new(sim.clone())).unwrap();
        let got = common::drain(&back);
        assert_eq!(got, [exact.as_str(), "after"], "{direct:?}");
    }
}

#[test]
fn a_put_refused_for_space_first_gives_back_the_spares_and_is_not_refused() {
    let sim = SimFs::new(6);
    let cfg = config(Path::new("/sim"), DirectIo::Off, 2);
    let ch = FileChannel::open_with_fs(cfg.clone(), Arc::new(sim.clone())).unwrap();
    used_and_retired(&ch, 300);
    let dir = &cfg.data_dirs[0];
    assert_eq!(spares(&sim, dir), 2);
    // The disk now has room for a few KiB above minimumRequiredSpace; the spares hold 128 KiB.
    let big = 1u64 << 40;
    sim.set_space_limit(Some(big));
    let used = big - sim.available_space(dir).unwrap();
    sim.set_space_limit(Some(used + cfg.minimum_required_space_bytes + 4096));
    // The writer's free-space figure is at most a second old.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let mut tx = ch.transaction();
    for i in 0..10 {
        tx.put(Event::new(body("new", i).into_bytes())).unwrap();
    }
    tx.commit()
        .expect("refused although the spares held the space it needed");
    assert_eq!(spares(&sim, dir), 0, "the spares were not given back");
    // Short of space, retired segments are unlinked, not kept.
    assert_eq!(drain(&ch).len(), 10);
    ch.roll_segments().unwrap();
    ch.checkpoint().unwrap();
    assert_eq!(
        spares(&sim, dir),
        0,
        "a spare was kept on a nearly full disk"
    );
    sim.set_space_limit(None);
}

#[test]
fn a_padded_write_puts_its_bytes_then_zeros_over_what_the_file_held() {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let sim = SimFs::new(2);
    sim.create_dir_all(Path::new("/sim")).unwrap();
    let fss: [(Arc<dyn Fs>, std::path::PathBuf); 2] = [
        (Arc::new(StdFs), tmp.path().join("f")),
        (Arc::new(sim), Path::new("/sim/f").to_path_buf()),
    ];
    for (fs, path) in fss {
        let f = fs.open(&path, OpenMode::CreateNew).unwrap();
        f.write_all_at(&[0xAB; 12_000], 0).unwrap();
        f.write_all_at_padded(b"records", 4096 - 100 - 7, 100)
            .unwrap();
        // Past the old length: the file grows by the zeros too.
        f.write_all_at_padded(&[7; 3000], 9_000, 10_000).unwrap();
        let mut got = vec![0; f.len().unwrap() as usize];
        f.read_exact_at(&mut got, 0).unwrap();
        assert_eq!(got.len(), 22_000, "{path:?}");
        assert!(got[..100].iter().all(|b| *b == 0xAB));
        assert_eq!(&got[100..107], b"records");
        assert!(got[107..4096].iter().all(|b| *b == 0), "{path:?}");
        assert!(got[4096..10_000].iter().all(|b| *b == 0xAB));
        assert!(got[10_000..13_000].iter().all(|b| *b == 7));
        assert!(got[13_000..].iter().all(|b| *b == 0), "{path:?}");
    }
}
