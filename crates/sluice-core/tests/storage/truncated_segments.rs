//! Segments cut back by an outside actor while the channel is stopped (issue 47, items 3 and
//! 4). A kill -9 or a power loss cannot shorten an fdatasynced file, so a segment shorter than
//! what its directory's acknowledged-end record or the checkpoint says it held is damage: the
//! open refuses (or, under `salvage`, opens and counts exactly the events it knows are gone),
//! and `verify` and `inspect` name the file and the missing bytes. Never a silent open with
//! fewer events, never a sink retrying forever on an event behind the cut.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{drain, ev, Bed};
use sluice_core::io::OpenMode;
use sluice_core::{inspect, ChannelError, FileChannel, FileChannelConfig, RecoveryPolicy};

fn body(i: usize) -> String {
    format!("{i:05}-{}", "y".repeat(80))
}

/// Three data directories, segments written through the page cache (a file ends where its
/// last record ends, so a cut "mid-record" is one), no checkpoint on close: the stop is a
/// kill as far as the checkpoint goes.
fn config(bed: &Bed) -> FileChannelConfig {
    let mut c = bed.config(3);
    c.direct_io = sluice_core::DirectIo::Off;
    c.checkpoint_on_close = false;
    // The sleeps below cross this interval, so the record is refreshed mid-test.
    c.acked_end_refresh_ms = 100;
    c
}

/// Commits events `from..to`, one per transaction; returns their bodies.
fn fill(ch: &FileChannel, from: usize, to: usize) -> Vec<String> {
    (from..to)
        .map(|i| {
            let mut tx = ch.transaction();
            tx.put(ev(&body(i))).unwrap();
            tx.commit().unwrap();
            body(i)
        })
        .collect()
}

fn segments_of(bed: &Bed, dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = bed
        .fs
        .list_dir(dir)
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with("log-"))
        .map(|n| dir.join(n))
        .collect();
    v.sort();
    v
}

fn file_len(bed: &Bed, path: &Path) -> u64 {
    bed.fs.open(path, OpenMode::Read).unwrap().len().unwrap()
}

fn cut(bed: &Bed, path: &Path, len: u64) {
    let f = bed.fs.open(path, OpenMode::ReadWrite).unwrap();
    f.set_len(len).unwrap();
    f.sync_data().unwrap();
}

fn open_err(bed: &Bed, cfg: &FileChannelConfig) -> ChannelError {
    match FileChannel::open_with_fs(cfg.clone(), bed.fs.clone()) {
        Ok(ch) => {
            let n = drain(&ch).len();
            panic!("the cut-back channel opened (and drained {n} events)")
        }
        Err(e) => e,
    }
}

fn name_of(path: &Path) -> String {
    path.file_name().unwrap().to_str().unwrap().to_owned()
}

/// A channel over three directories: 150 events, a checkpoint if `midway` (else only the one
/// the first open wrote, naming the directories' first segments at their start), 150 more, then (after the
/// acknowledged-end record's refresh interval) one more commit, and a stop: a power loss on
/// the simulated file system, a drop without checkpoint on the real disk. Returns the
/// acknowledged bodies and the newest segment of the second directory.
fn acked_then_stopped(bed: &mut Bed, seed: u64, midway: bool) -> (Vec<String>, PathBuf) {
    let cfg = config(bed);
    let ch = bed.open(&cfg);
    let mut acked = fill(&ch, 0, 150);
    if midway {
        ch.checkpoint().unwrap();
    }
    acked.extend(fill(&ch, 150, 300));
    std::thread::sleep(Duration::from_millis(250));
    acked.extend(fill(&ch, 300, 303));
    if bed.sim.is_some() {
        bed.power_loss(seed);
    }
    drop(ch);
    let newest = segments_of(bed, &cfg.data_dirs[1]).pop().unwrap();
    (acked, newest)
}

/// Opening under `salvage`: it opens, names the file, recovers no phantom and loses at least
/// the `known` events it reports; returns what it reported lost and what came out.
fn salvage_reports(
    bed: &Bed,
    cfg: &FileChannelConfig,
    acked: &[String],
    file: &str,
) -> (u64, usize) {
    let mut salvage = cfg.clone();
    salvage.recovery_policy = RecoveryPolicy::Salvage;
    let ch = FileChannel::open_with_fs(salvage, bed.fs.clone()).unwrap();
    let info = ch.recovery_info().clone();
    assert!(
        info.report
            .problems
            .iter()
            .any(|p| p.contains(file) && p.contains("bytes")),
        "salvage did not name {file} and the missing bytes: {:?}",
        info.report.problems
    );
    assert_eq!(ch.stats().events_lost_on_open, info.events_lost);
    let got = drain(&ch);
    assert!(got.iter().all(|b| acked.contains(b)), "phantom events");
    assert!(
        got.len() < acked.len(),
        "nothing was lost, yet a segment was cut"
    );
    (info.events_lost, got.len())
}

fn newest_cut_to(bed_for: fn(u64) -> Bed, seed: u64, keep: fn(u64) -> u64, midway: bool) {
    let mut bed = bed_for(seed);
    let (acked, newest) = acked_then_stopped(&mut bed, seed, midway);
    let cfg = config(&bed);
    let len = file_len(&bed, &newest);
    let to = keep(len);
    cut(&bed, &newest, to);
    let name = name_of(&newest);
    let err = open_err(&bed, &cfg);
    let msg = err.to_string();
    assert!(msg.contains(&name), "does not name {name}: {msg}");
    assert!(
        msg.contains(&format!("{} bytes", len - to)) || msg.contains(&format!("is {to} bytes")),
        "does not say what is missing: {msg}"
    );
    let (lost, got) = salvage_reports(&bed, &cfg, &acked, &name);
    // The checkpoint's queued events in the cut bytes are counted; the ones committed after
    // it cannot be (their records are gone), so the count is a floor.
    assert!(lost > 0 || !midway, "salvage counted nothing lost");
    assert!(
        lost as usize <= acked.len() - got,
        "{lost} lost, {got} recovered"
    );
    // Salvage made the loss known once: the next open is clean.
    let ch = FileChannel::open_with_fs(cfg.clone(), bed.fs.clone()).unwrap();
    assert_eq!(ch.recovery_info().events_lost, 0);
}

#[test]
fn a_newest_segment_cut_to_its_header_refuses_to_open_on_the_simulated_fs() {
    for seed in [1, 2, 3] {
        newest_cut_to(Bed::sim, seed, |_| 32, seed == 2);
    }
}

#[test]
fn a_newest_segment_cut_to_its_header_refuses_to_open_on_the_real_disk() {
    newest_cut_to(|_| Bed::real(), 0, |_| 32, false);
    newest_cut_to(|_| Bed::real(), 0, |_| 32, true);
}

#[test]
fn a_newest_segment_cut_mid_record_is_not_taken_for_a_torn_tail() {
    for seed in [4, 5] {
        newest_cut_to(Bed::sim, seed, |len| len / 3 - 27, seed == 5);
    }
    newest_cut_to(|_| Bed::real(), 0, |len| len - 27, false);
}

/// A channel with many small segments, closed with a checkpoint; returns the acknowledged
/// bodies and an older segment holding queued events: one before its directory's replay
/// position, which no open reads (only the checkpoint's entries point into it).
fn older_segment_with_events(bed: &Bed, cfg: &FileChannelConfig) -> (Vec<String>, PathBuf, u64) {
    let ch = bed.open(cfg);
    // Segments of more than 1,000 events each, so that no copy-forward moves them.
    let mut acked = Vec::new();
    for batch in 0..160 {
        let mut tx = ch.transaction();
        for i in batch * 100..(batch + 1) * 100 {
            tx.put(ev(&body(i))).unwrap();
            acked.push(body(i));
        }
        tx.commit().unwrap();
    }
    ch.close().unwrap();
    drop(ch);
    let positions = inspect::replay_positions(bed.fs.as_ref(), &cfg.checkpoint_dir).unwrap();
    let exam = inspect::examine(bed.fs.clone(), cfg).unwrap();
    let before_position = |s: &inspect::SegmentSummary| {
        positions
            .iter()
            .any(|p| Path::new(&p.dir) == s.dir && s.id < p.segment)
    };
    let seg = exam
        .segments
        .iter()
        .find(|s| s.live_events > 1000 && before_position(s))
        .expect("an older segment with queued events")
        .clone();
    (acked, seg.path, seg.live_events)
}

fn older_cut(bed: Bed) {
    let mut cfg = config(&bed);
    cfg.checkpoint_on_close = true;
    cfg.max_file_size_bytes = 256 << 10;
    cfg.capacity = 20_000;
    let (acked, older, live) = older_segment_with_events(&bed, &cfg);
    let len = file_len(&bed, &older);
    cut(&bed, &older, len / 2);
    let name = name_of(&older);
    let err = open_err(&bed, &cfg);
    let msg = err.to_string();
    assert!(msg.contains(&name), "does not name {name}: {msg}");
    assert!(
        msg.contains("queued events"),
        "does not count the events: {msg}"
    );
    // Salvage opens, drains without a single failed take, and counts the loss exactly: the
    // checkpoint knows every queued event of an older segment.
    let (lost, got) = salvage_reports(&bed, &cfg, &acked, &name);
    assert_eq!(lost as usize, acked.len() - got, "loss not counted exactly");
    assert!(
        lost > 0 && lost <= live,
        "{lost} lost of {live} in the segment"
    );
}

#[test]
fn an_older_segment_cut_back_refuses_to_open_instead_of_a_sink_retrying_forever() {
    older_cut(Bed::sim(11));
    older_cut(Bed::real());
}

#[test]
fn verify_and_inspect_name_the_cut_back_segment_and_the_missing_bytes() {
    let mut bed = Bed::sim(21);
    let (_, newest) = acked_then_stopped(&mut bed, 21, false);
    let cfg = config(&bed);
    let len = file_len(&bed, &newest);
    cut(&bed, &newest, 32);
    let name = name_of(&newest);
    let v = inspect::verify(bed.fs.clone(), &cfg).unwrap();
    assert!(!v.is_sound(), "verify called a cut-back channel sound");
    assert!(
        v.problems.iter().any(|p| p.to_string().contains(&name)
            && p.to_string().contains(&format!("{} bytes", len - 32))),
        "{:?}",
        v.problems
    );
    assert!(v.open_refusal.is_some(), "verify says open would succeed");
    // `inspect` under the configured policy refuses as open would; under salvage it reports
    // the loss.
    let err = match inspect::examine(bed.fs.clone(), &cfg) {
        Ok(_) => panic!("inspect examined a cut-back channel as if it were sound"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains(&name), "{err}");
    let mut salvage = cfg.clone();
    salvage.recovery_policy = RecoveryPolicy::Salvage;
    let exam = inspect::examine(bed.fs.clone(), &salvage).unwrap();
    assert!(
        exam.report.problems.iter().any(|p| p.contains(&name)),
        "{:?}",
        exam.report.problems
    );
}

#[test]
fn a_power_loss_never_reads_as_a_cut_back_segment() {
    // The acknowledged-end record names only fdatasynced bytes: every crash image opens
    // under the default policy with every acknowledged event.
    for seed in 0..12 {
        let mut bed = Bed::sim(100 + seed);
        let cfg = config(&bed);
        let ch = bed.open(&cfg);
        let mut acked = fill(&ch, 0, 40);
        std::thread::sleep(Duration::from_millis(120));
        acked.extend(fill(&ch, 40, 80));
        bed.power_loss(seed);
        drop(ch);
        let ch = FileChannel::open_with_fs(cfg.clone(), bed.fs.clone())
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(drain(&ch), acked, "seed {seed}");
    }
}
