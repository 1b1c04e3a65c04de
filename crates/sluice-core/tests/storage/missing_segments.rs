//! Missing segments are loud, never silent loss: a data directory whose segments vanished
//! (all of them, only its newest, or one after the checkpoint), a directory removed under a
//! running channel, and a failure to create a segment (EMFILE) that must not poison. On the
//! simulated file system, so each case is exact and fast.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "acts on the real disk behind the channel's back, as an operator or a full disk would"
)]

use std::path::{Path, PathBuf};

use crate::common::{drain, ev, Bed};
use sluice_core::RecoveryPolicy;
use sluice_core::{ChannelError, FileChannel, FileChannelConfig};

const EVENTS: usize = 400;

fn body(i: usize) -> String {
    format!("{i:05}-{}", "x".repeat(100))
}

/// Two data directories, 4 KiB segments (so each directory has many), no checkpoint on close
/// unless asked (so the log after the checkpoint is replayed).
fn config(bed: &Bed) -> FileChannelConfig {
    let mut c = bed.config(2);
    c.max_file_size_bytes = 4096;
    c
}

/// Commits `EVENTS` events, one per transaction, from `from` on; returns their bodies.
fn fill(ch: &FileChannel, from: usize) -> Vec<String> {
    let mut acked = Vec::new();
    for i in from..from + EVENTS {
        let mut tx = ch.transaction();
        tx.put(ev(&body(i))).unwrap();
        tx.commit().unwrap();
        acked.push(body(i));
    }
    acked
}

fn segments_of(bed: &Bed, dir: &Path) -> Vec<PathBuf> {
    bed.fs
        .list_dir(dir)
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with("log-"))
        .map(|n| dir.join(n))
        .collect()
}

fn open_err(bed: &Bed, cfg: &FileChannelConfig) -> ChannelError {
    match FileChannel::open_with_fs(cfg.clone(), bed.fs.clone()) {
        Ok(_) => panic!("open accepted a channel with missing segments"),
        Err(e) => e,
    }
}

/// Opens under `salvage` and checks that it names the missing segments, recovers no phantom,
/// and (`counted`: the lost events were in the checkpoint) counts exactly what is gone.
fn salvage_names_the_loss(bed: &Bed, cfg: &FileChannelConfig, acked: &[String], counted: bool) {
    let mut salvage = cfg.clone();
    salvage.recovery_policy = RecoveryPolicy::Salvage;
    let ch = FileChannel::open_with_fs(salvage, bed.fs.clone()).unwrap();
    let info = ch.recovery_info().clone();
    assert!(
        !info.missing_segments.is_empty(),
        "salvage did not name the missing segments"
    );
    assert_eq!(ch.stats().events_lost_on_open, info.events_lost);
    let got = drain(&ch);
    assert!(got.iter().all(|b| acked.contains(b)), "phantom events");
    assert!(
        got.len() < acked.len(),
        "nothing was lost, yet segments are missing"
    );
    if counted {
        assert_eq!(info.events_lost as usize, acked.len() - got.len());
    }
}

#[test]
fn every_segment_of_one_data_dir_gone_refuses_to_open_naming_the_dir_and_the_events() {
    let bed = Bed::sim(1);
    let cfg = config(&bed);
    let ch = bed.open(&cfg);
    let acked = fill(&ch, 0);
    ch.close().unwrap();
    drop(ch);
    for seg in segments_of(&bed, &cfg.data_dirs[1]) {
        bed.fs.remove_file(&seg).unwrap();
    }
    let err = open_err(&bed, &cfg);
    let msg = err.to_string();
    assert!(
        matches!(err, ChannelError::SegmentsMissing { events, .. } if events > 100),
        "{err:?}"
    );
    assert!(
        msg.contains("data1/log-"),
        "does not name the segment: {msg}"
    );
    assert!(msg.contains("replay position"), "does not say why: {msg}");
    salvage_names_the_loss(&bed, &cfg, &acked, true);
}

#[test]
fn only_the_newest_segment_of_a_dir_gone_refuses_to_open() {
    let bed = Bed::sim(2);
    let cfg = config(&bed);
    let ch = bed.open(&cfg);
    let acked = fill(&ch, 0);
    // The newest segment now is the checkpoint's replay position after the close (the
    // copy-forward after that checkpoint may start newer ones).
    let newest = segments_of(&bed, &cfg.data_dirs[1]).pop().unwrap();
    ch.close().unwrap();
    drop(ch);
    bed.fs.remove_file(&newest).unwrap();
    let err = open_err(&bed, &cfg);
    let name = newest.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(err.to_string().contains(&name), "{err}");
    salvage_names_the_loss(&bed, &cfg, &acked, true);
}

#[test]
fn a_segment_written_after_the_checkpoint_gone_from_the_middle_refuses_to_open() {
    let bed = Bed::sim(3);
    let mut cfg = config(&bed);
    cfg.checkpoint_on_close = false;
    let ch = bed.open(&cfg);
    let mut acked = fill(&ch, 0);
    ch.checkpoint().unwrap();
    let before: Vec<PathBuf> = segments_of(&bed, &cfg.data_dirs[1]);
    acked.extend(fill(&ch, EVENTS));
    ch.close().unwrap();
    drop(ch);
    let after: Vec<PathBuf> = segments_of(&bed, &cfg.data_dirs[1])
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    assert!(after.len() >= 3, "too few new segments: {after:?}");
    let victim = &after[after.len() / 2];
    bed.fs.remove_file(victim).unwrap();
    let err = open_err(&bed, &cfg);
    let name = victim.file_name().unwrap().to_str().unwrap().to_owned();
    let msg = err.to_string();
    assert!(msg.contains(&name), "does not name {name}: {msg}");
    assert!(msg.contains("after the checkpoint"), "{msg}");
    // `channel verify` fails and names it too.
    let v = sluice_core::inspect::verify(bed.fs.clone(), &cfg).unwrap();
    assert!(!v.is_sound(), "verify called the channel sound");
    assert!(
        v.problems.iter().any(|p| p.to_string().contains(&name)),
        "{:?}",
        v.problems
    );
    // Events committed after the checkpoint cannot be counted, only the segment named.
    salvage_names_the_loss(&bed, &cfg, &acked, false);
}

#[test]
fn a_data_dir_removed_under_a_running_channel_poisons_it_before_any_put_is_acknowledged_there() {
    let bed = Bed::sim(4);
    let cfg = config(&bed);
    let ch = bed.open(&cfg);
    let acked = fill(&ch, 0);
    ch.checkpoint().unwrap();
    bed.sim.as_ref().unwrap().remove_tree(&cfg.data_dirs[1]);
    bed.fs.create_dir_all(&cfg.data_dirs[1]).unwrap();
    // Commits alternate between the directories: within a few, one lands in the removed one.
    let mut failed = None;
    for i in 0..10 {
        let mut tx = ch.transaction();
        tx.put(ev(&body(EVENTS + i))).unwrap();
        if let Err(e) = tx.commit() {
            failed = Some(e);
            break;
        }
    }
    let err = failed.expect("commits into a removed directory were acknowledged");
    assert!(err.to_string().contains("removed"), "{err}");
    assert!(ch.stats().unhealthy);
    let refused = {
        let mut tx = ch.transaction();
        tx.put(ev("after")).is_err() || tx.commit().is_err()
    };
    assert!(refused, "a poisoned channel took a put");
    drop(ch);
    let err = open_err(&bed, &cfg);
    assert!(err.to_string().contains("data1/log-"), "{err}");
    let _ = acked;
}

#[test]
fn emfile_at_segment_roll_fails_the_commit_but_leaves_the_channel_usable() {
    let bed = Bed::sim(5);
    let mut cfg = bed.config(1);
    cfg.max_file_size_bytes = 4096;
    let ch = bed.open(&cfg);
    let sim = bed.sim.clone().unwrap();
    let mut acked = fill(&ch, 0);
    sim.fail_creates(Some(libc::EMFILE));
    let mut refused = 0;
    for i in 0..100 {
        let mut tx = ch.transaction();
        tx.put(ev(&body(EVENTS + i))).unwrap();
        match tx.commit() {
            Ok(()) => acked.push(body(EVENTS + i)),
            Err(e) => {
                assert!(!e.to_string().contains("poison"), "{e}");
                assert!(e.to_string().contains("start segment"), "{e}");
                refused += 1;
            }
        }
        assert!(
            !ch.stats().unhealthy,
            "EMFILE at a roll poisoned the channel"
        );
    }
    assert!(refused > 0, "no roll was attempted while creates failed");
    sim.fail_creates(None);
    acked.extend(fill(&ch, 1000));
    assert_eq!(drain(&ch), acked);
    ch.close().unwrap();
    drop(ch);
    let ch = bed.open(&cfg);
    assert!(drain(&ch).is_empty());
}

#[test]
fn a_channel_opens_and_drains_on_a_full_disk_without_starting_a_segment() {
    let bed = Bed::sim(6);
    let mut cfg = config(&bed);
    cfg.checkpoint_on_close = false;
    let ch = bed.open(&cfg);
    let acked = fill(&ch, 0);
    drop(ch); // no checkpoint on close: the next open replays and writes one
    let sim = bed.sim.clone().unwrap();
    let segs =
        |b: &Bed| segments_of(b, &cfg.data_dirs[0]).len() + segments_of(b, &cfg.data_dirs[1]).len();
    let before = segs(&bed);
    // Room for the checkpoint and take records, far below minimumRequiredSpace.
    let big = 1u64 << 40;
    sim.set_space_limit(Some(big));
    let used = big - bed.fs.available_space(&bed.root).unwrap();
    sim.set_space_limit(Some(used + 64 * 1024));
    for _ in 0..3 {
        let ch = bed.open(&cfg);
        drop(ch);
    }
    assert_eq!(segs(&bed), before, "opening started segments");
    let ch = bed.open(&cfg);
    let mut tx = ch.transaction();
    tx.put(ev("one more")).unwrap();
    assert!(matches!(tx.commit(), Err(ChannelError::DiskFull(_))));
    assert_eq!(drain(&ch), acked);
}

#[test]
fn a_tail_cut_under_tolerate_reports_the_committed_events_it_cost() {
    let bed = Bed::sim(7);
    let mut cfg = bed.config(1);
    cfg.checkpoint_on_close = false;
    // Record offsets below come from the file's length: buffered writes end at the last record.
    cfg.direct_io = sluice_core::DirectIo::Off;
    let ch = bed.open(&cfg);
    for i in 0..10 {
        let mut tx = ch.transaction();
        tx.put(ev(&body(i))).unwrap();
        tx.commit().unwrap();
    }
    let first = ch.segments()[0].1.clone();
    drop(ch);
    // Damage the third put record: the seven commits after it are cut with it... and so is
    // the third transaction's own commit: eight committed events.
    let rec = 32
        + 2 * (bed
            .fs
            .open(&first, sluice_core::io::OpenMode::Read)
            .unwrap()
            .len()
            .unwrap()
            - 32)
            / 10;
    sim_corrupt(&bed, &first, rec + 12);
    let ch = bed.open(&cfg);
    let info = ch.recovery_info();
    assert_eq!(info.report.events_cut, 8, "{:?}", info.report);
    assert_eq!(info.events_lost, 8);
    assert_eq!(ch.stats().events_lost_on_open, 8);
    assert!(
        info.report
            .problems
            .iter()
            .any(|p| p.contains("8 committed events")),
        "{:?}",
        info.report.problems
    );
    assert_eq!(drain(&ch).len(), 2);
}

fn sim_corrupt(bed: &Bed, path: &Path, offset: u64) {
    bed.sim
        .as_ref()
        .unwrap()
        .corrupt_byte(path, offset)
        .unwrap();
}

#[test]
fn a_data_dir_removed_on_the_real_disk_poisons_the_running_channel() {
    let bed = Bed::real();
    let cfg = config(&bed);
    let ch = bed.open(&cfg);
    fill(&ch, 0);
    ch.checkpoint().unwrap();
    std::fs::remove_dir_all(&cfg.data_dirs[1]).unwrap();
    std::fs::create_dir_all(&cfg.data_dirs[1]).unwrap();
    let mut failed = None;
    for i in 0..10 {
        let mut tx = ch.transaction();
        tx.put(ev(&body(EVENTS + i))).unwrap();
        if let Err(e) = tx.commit() {
            failed = Some(e);
            break;
        }
    }
    let err = failed.expect("commits into a removed directory were acknowledged");
    assert!(err.to_string().contains("removed"), "{err}");
    drop(ch);
    let err = open_err(&bed, &cfg);
    assert!(err.to_string().contains("data1/log-"), "{err}");
}

#[test]
fn emfile_at_checkpoint_fails_the_checkpoint_but_not_the_channel() {
    let bed = Bed::sim(8);
    let cfg = config(&bed);
    let ch = bed.open(&cfg);
    let sim = bed.sim.clone().unwrap();
    let mut acked = fill(&ch, 0);
    sim.fail_creates(Some(libc::EMFILE));
    let err = ch
        .checkpoint()
        .expect_err("a checkpoint needs to create its file");
    assert!(err.to_string().contains("checkpoint"), "{err}");
    assert!(
        !ch.stats().unhealthy,
        "EMFILE at a checkpoint poisoned the channel"
    );
    assert_eq!(ch.stats().checkpoint_write_errors, 1);
    sim.fail_creates(None);
    acked.extend(fill(&ch, EVENTS));
    ch.checkpoint().unwrap();
    drop(ch);
    let ch = bed.open(&cfg);
    assert_eq!(drain(&ch), acked);
}

#[test]
fn the_newest_segment_written_after_the_checkpoint_gone_refuses_to_open_by_the_head_record() {
    let bed = Bed::sim(9);
    let mut cfg = config(&bed);
    cfg.checkpoint_on_close = false;
    let ch = bed.open(&cfg);
    let mut acked = fill(&ch, 0);
    ch.checkpoint().unwrap();
    acked.extend(fill(&ch, EVENTS));
    drop(ch);
    // No checkpoint names it and no later segment follows it: only the head record does.
    let newest = segments_of(&bed, &cfg.data_dirs[1]).pop().unwrap();
    bed.fs.remove_file(&newest).unwrap();
    let err = open_err(&bed, &cfg);
    let name = newest.file_name().unwrap().to_str().unwrap().to_owned();
    let msg = err.to_string();
    assert!(msg.contains(&name), "does not name {name}: {msg}");
    assert!(msg.contains("head record"), "{msg}");
    salvage_names_the_loss(&bed, &cfg, &acked, false);
}
