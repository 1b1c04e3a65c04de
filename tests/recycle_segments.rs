//! Segment recycling (`recycleSegments`, direct I/O only) and the generation tie that makes it
//! safe: a recycled file keeps its earlier use's records after the new tail, and no power cut
//! at any step may make recovery read one of them as live, or lose a committed event.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use common::config_under;
use sluice_core::internals::wal::record::{encode_commit, encode_put};
use sluice_core::internals::wal::segment::{
    encode_header, segment_file_name, SegmentHeader, SEGMENT_VERSION_V1,
};
use sluice_core::io::{Fault, Fs, OpenMode, SimFs, StdFs};
use sluice_core::{DirectIo, Event, FileChannel, FileChannelConfig};

/// Bytes of padding in every event body: a few dozen events fill a 64 KiB segment.
const PAD: usize = 1000;
/// A small segment limit, so that a test rolls (and recycles) often.
const SEGMENT_BYTES: u64 = 64 << 10;

fn body(tag: &str, i: usize) -> String {
    format!("{tag}-{i:05}|{}", "x".repeat(PAD))
}

/// The `tag-nnnnn` part of a body.
fn name(b: &str) -> String {
    b.split('|').next().unwrap_or_default().to_owned()
}

fn config(root: &Path, direct: DirectIo, recycle: usize) -> FileChannelConfig {
    let mut c = config_under(root, 1);
    c.direct_io = direct;
    c.recycle_segments = recycle;
    c.max_file_size_bytes = SEGMENT_BYTES;
    c
}

fn put_one(ch: &FileChannel, b: &str) -> bool {
    let mut tx = ch.transaction();
    if tx.put(Event::new(b.as_bytes().to_vec())).is_err() {
        return false;
    }
    tx.commit().is_ok()
}

/// Takes everything and commits; returns the names.
fn drain(ch: &FileChannel) -> Vec<String> {
    common::drain(ch).iter().map(|b| name(b)).collect()
}

fn spares(fs: &dyn Fs, dir: &Path) -> usize {
    let names = fs.list_dir(dir).unwrap();
    names.iter().filter(|n| n.starts_with("spare-")).count()
}

/// Fills several segments with `old` events, takes them all and checkpoints: the segments go,
/// the first `recycleSegments` of them becoming spares.
fn used_and_retired(ch: &FileChannel, old: usize) {
    for chunk in 0..old / 10 {
        let mut tx = ch.transaction();
        for i in 0..10 {
            tx.put(Event::new(body("old", chunk * 10 + i).into_bytes()))
                .unwrap();
        }
        tx.commit().unwrap();
    }
    assert_eq!(drain(ch).len(), old);
    ch.checkpoint().unwrap();
}

/// The scenario every sweep replays: old events through five segments, retired; then new
/// one-event commits, the first roll of which takes a spare.
fn scenario(fs: Arc<dyn Fs>, cfg: &FileChannelConfig, new: usize) -> (FileChannel, Vec<String>) {
    let ch = FileChannel::open_with_fs(cfg.clone(), fs).unwrap();
    used_and_retired(&ch, 300);
    let mut acked = Vec::new();
    for i in 0..new {
        let b = body("new", i);
        if !put_one(&ch, &b) {
            break;
        }
        acked.push(name(&b));
    }
    (ch, acked)
}

/// After a crash image is opened: every acknowledged new event is back, nothing else is, and
/// above all no event of the earlier use of a recycled file.
fn check_recovered(got: &[String], acked: &[String], attempted: usize, at: &str) {
    let got_set: BTreeSet<&String> = got.iter().collect();
    assert_eq!(
        got_set.len(),
        got.len(),
        "{at}: an event came back twice: {got:?}"
    );
    for b in acked {
        assert!(got_set.contains(b), "{at}: committed {b} lost; got {got:?}");
    }
    for b in got {
        let n: usize = b
            .strip_prefix("new-")
            .and_then(|d| d.parse().ok())
            .unwrap_or_else(|| panic!("{at}: {b} is not a new event (a stale record read live)"));
        assert!(n < attempted, "{at}: {b} was never put");
    }
}

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

#[test]
fn a_power_cut_at_any_operation_of_the_last_commits_into_a_recycled_file_loses_nothing_committed() {
    let probe = SimFs::new(1);
    let cfg = config(Path::new("/sim"), DirectIo::Auto, 2);
    let (ch, _) = scenario(Arc::new(probe.clone()), &cfg, 70);
    assert!(ch.stats().segments_recycled >= 1);
    let from = probe.op_count();
    for i in 70..75 {
        assert!(put_one(&ch, &body("new", i)));
    }
    let to = probe.op_count();
    drop(ch);
    let mut images = 0;
    for k in from..to {
        let sim = SimFs::new(1);
        sim.inject(Fault::Crash { at: k });
        let (ch, acked) = scenario(Arc::new(sim.clone()), &cfg, 75);
        assert!(acked.len() < 75, "op {k} never crashed the run");
        drop(ch);
        for seed in 0..6 {
            let img = sim.crash_image(seed);
            let back = FileChannel::open_with_fs(cfg.clone(), Arc::new(img)).unwrap();
            check_recovered(&drain(&back), &acked, 75, &format!("op {k}, seed {seed}"));
            images += 1;
        }
    }
    assert!(images >= 6, "the sweep visited {images} crash images");
}

#[test]
fn a_power_cut_at_any_step_of_taking_a_spare_keeps_every_committed_event_and_no_stale_one() {
    // Find the commit whose roll took the spare, then cut the power at each of its operations
    // (seal, header block, fdatasync, rename, directory fsync, head record, the write).
    let probe = SimFs::new(1);
    let cfg = config(Path::new("/sim"), DirectIo::Auto, 2);
    let ch = FileChannel::open_with_fs(cfg.clone(), Arc::new(probe.clone())).unwrap();
    used_and_retired(&ch, 300);
    let mut window = None;
    for i in 0..200 {
        let before = probe.op_count();
        assert!(put_one(&ch, &body("new", i)));
        if ch.stats().segments_recycled > 0 {
            window = Some((i, before, probe.op_count()));
            break;
        }
    }
    let (at_commit, from, to) = window.expect("no commit took a spare");
    assert!(
        to - from >= 6,
        "a roll into a spare of {} operations",
        to - from
    );
    drop(ch);
    for k in from..to {
        let sim = SimFs::new(1);
        sim.inject(Fault::Crash { at: k });
        let (ch, acked) = scenario(Arc::new(sim.clone()), &cfg, at_commit + 1);
        assert_eq!(
            acked.len(),
            at_commit,
            "op {k} is not in the rolling commit"
        );
        drop(ch);
        for seed in 0..6 {
            let img = sim.crash_image(seed);
            let back = FileChannel::open_with_fs(cfg.clone(), Arc::new(img.clone())).unwrap();
            let at = format!("op {k}, seed {seed}");
            check_recovered(&drain(&back), &acked, at_commit + 1, &at);
            // The channel goes on writing after the crash, recycling the spare if it is left.
            assert!(put_one(&back, &body("new", 999)), "{at}");
            drop(back);
            let again = FileChannel::open_with_fs(cfg.clone(), Arc::new(img)).unwrap();
            assert_eq!(drain(&again), ["new-00999"], "{at}");
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
fn a_power_cut_at_any_operation_of_a_checkpoint_that_retires_segments_into_spares_is_safe() {
    let cfg = config(Path::new("/sim"), DirectIo::Auto, 2);
    // The workload up to the retiring checkpoint, and that checkpoint's operations.
    let fill = |ch: &FileChannel| {
        for chunk in 0..30 {
            let mut tx = ch.transaction();
            for i in 0..10 {
                tx.put(Event::new(body("old", chunk * 10 + i).into_bytes()))
                    .unwrap();
            }
            tx.commit().unwrap();
        }
        assert_eq!(drain(ch).len(), 300);
    };
    let probe = SimFs::new(1);
    let ch = FileChannel::open_with_fs(cfg.clone(), Arc::new(probe.clone())).unwrap();
    fill(&ch);
    let from = probe.op_count();
    ch.checkpoint().unwrap();
    let to = probe.op_count();
    assert_eq!(spares(&probe, &cfg.data_dirs[0]), 2);
    drop(ch);
    for k in from..to {
        let sim = SimFs::new(1);
        let ch = FileChannel::open_with_fs(cfg.clone(), Arc::new(sim.clone())).unwrap();
        fill(&ch);
        sim.inject(Fault::Crash { at: k });
        let _ = ch.checkpoint();
        drop(ch);
        for seed in 0..3 {
            let img = sim.crash_image(seed);
            let at = format!("op {k}, seed {seed}");
            let back = FileChannel::open_with_fs(cfg.clone(), Arc::new(img.clone())).unwrap();
            assert_eq!(
                drain(&back),
                Vec::<String>::new(),
                "{at}: a taken event came back"
            );
            // Writing on recycles whatever spares the crash left; all of it reads back.
            let mut acked = Vec::new();
            for i in 0..80 {
                let b = body("new", i);
                assert!(put_one(&back, &b), "{at}");
                acked.push(name(&b));
            }
            drop(back);
            let again = FileChannel::open_with_fs(cfg.clone(), Arc::new(img)).unwrap();
            assert_eq!(drain(&again), acked, "{at}");
        }
    }
}
