//! Segment deletion never brings an event back: a segment holding takes outlives the segments
//! of the events it took, so that a full replay (both checkpoints lost) still sees every take.
//! Also: disk use follows the live data once old events are taken, and a crash at any
//! operation of a deleting checkpoint changes nothing a reopen sees, and a copy forward's
//! commit is flagged so that replay's sequence check lets its puts replace queued events.

use crate::common::*;
use sluice_core::io::Fault;
use sluice_core::RecoverySource;
use sluice_core::{FileChannel, FileChannelConfig};

fn take_commit(ch: &FileChannel, n: usize) -> Vec<String> {
    let mut tx = ch.transaction();
    let mut got = Vec::new();
    for _ in 0..n {
        let ev = tx.take().unwrap().unwrap();
        got.push(String::from_utf8(Vec::from(ev.into_parts().1)).unwrap());
    }
    tx.commit().unwrap();
    got
}

fn forget_checkpoint(bed: &Bed, cfg: &FileChannelConfig) {
    bed.fs
        .remove_file(&cfg.checkpoint_dir.join("checkpoint"))
        .unwrap();
}

/// Segment A holds e1 and e2; e1's take goes to segment B, which holds nothing else. Then a
/// checkpoint. B must stay while e2 keeps A alive.
fn take_in_a_later_segment(bed: &Bed, cfg: &FileChannelConfig) -> FileChannel {
    let ch = bed.open(cfg);
    put_all(&ch, &["e1", "e2"]);
    ch.roll_segments().unwrap();
    assert_eq!(take_commit(&ch, 1), ["e1"]);
    ch.roll_segments().unwrap();
    put_all(&ch, &["e3"]);
    ch.checkpoint().unwrap();
    ch
}

#[test]
fn a_full_replay_does_not_bring_back_events_taken_before_the_checkpoint() {
    for bed in Bed::both() {
        let cfg = bed.config(1);
        take_in_a_later_segment(&bed, &cfg).close().unwrap();
        forget_checkpoint(&bed, &cfg);
        let ch = bed.open(&cfg);
        assert_eq!(ch.recovery_info().source, RecoverySource::FullReplay);
        assert_eq!(drain(&ch), ["e2", "e3"]);
    }
}

#[test]
fn segments_go_once_their_events_are_taken_and_a_full_replay_agrees() {
    for bed in Bed::both() {
        let cfg = bed.config(1);
        let ch = take_in_a_later_segment(&bed, &cfg);
        let before = ch.segments().len();
        assert_eq!(take_commit(&ch, 1), ["e2"]);
        ch.roll_segments().unwrap();
        ch.checkpoint().unwrap();
        let after = ch.segments();
        assert!(
            after.len() < before,
            "no segment deleted: {before} -> {after:?}"
        );
        assert!(after.iter().all(|(_, _, live)| *live <= 1));
        ch.close().unwrap();
        forget_checkpoint(&bed, &cfg);
        let ch = bed.open(&cfg);
        assert_eq!(drain(&ch), ["e3"]);
    }
}

#[test]
fn takes_across_two_directories_never_resurrect_events() {
    // Puts and takes land on both directories, so each directory's segments hold takes of
    // events put in the other's: dependencies in both directions.
    for bed in Bed::both() {
        let mut cfg = bed.config(2);
        cfg.max_file_size_bytes = 400;
        let ch = bed.open(&cfg);
        let mut expected = std::collections::VecDeque::new();
        for round in 0..30 {
            let bodies: Vec<String> = (0..3).map(|i| format!("r{round}-{i}")).collect();
            let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
            put_all(&ch, &refs);
            expected.extend(bodies);
            let got = take_commit(&ch, 2);
            for g in got {
                assert_eq!(Some(g), expected.pop_front());
            }
            if round % 7 == 6 {
                ch.checkpoint().unwrap();
            }
        }
        ch.close().unwrap();
        forget_checkpoint(&bed, &cfg);
        let ch = bed.open(&cfg);
        assert_eq!(drain(&ch), Vec::from(expected));
    }
}

#[test]
fn a_crash_at_any_operation_of_a_deleting_checkpoint_keeps_the_queue_exact() {
    let probe = Bed::sim(1);
    let cfg = probe.config(1);
    let workload = |bed: &Bed| {
        let ch = take_in_a_later_segment(bed, &cfg);
        assert_eq!(take_commit(&ch, 1), ["e2"]);
        ch.roll_segments().unwrap();
        ch
    };
    let sim = probe.sim.clone().unwrap();
    let ch = workload(&probe);
    let before = sim.op_count();
    let deleted_before = ch.stats().segments_deleted;
    ch.checkpoint().unwrap();
    assert!(ch.stats().segments_deleted > deleted_before);
    let ops = sim.op_count() - before;
    drop(ch);
    for k in 0..ops {
        for seed in 0..2 {
            let mut bed = Bed::sim(seed);
            let sim = bed.sim.clone().unwrap();
            let ch = workload(&bed);
            sim.inject(Fault::Crash {
                at: sim.op_count() + k,
            });
            let _ = ch.checkpoint();
            bed.power_loss(seed * 1000 + k);
            drop(ch);
            let reopened = bed.open(&cfg);
            assert_eq!(peek_all(&reopened), ["e3"], "crash at op {k}, seed {seed}");
            reopened.close().unwrap();
            // And with the checkpoint lost as well: the full replay agrees.
            forget_checkpoint(&bed, &cfg);
            let replayed = bed.open(&cfg);
            assert_eq!(drain(&replayed), ["e3"], "full replay, crash at op {k}");
        }
    }
}

/// Segment A holds e0..e49; all but the last three are taken (the take goes to the next
/// segment); a newer event follows.
fn three_left_in_an_old_segment(bed: &Bed, cfg: &FileChannelConfig) -> FileChannel {
    let ch = bed.open(cfg);
    for chunk in 0..5 {
        let bodies: Vec<String> = (0..10).map(|i| format!("e{}", chunk * 10 + i)).collect();
        let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
        put_all(&ch, &refs);
    }
    ch.roll_segments().unwrap();
    assert_eq!(take_commit(&ch, 47).len(), 47);
    put_all(&ch, &["later"]);
    ch
}

const LEFT: [&str; 4] = ["e47", "e48", "e49", "later"];

#[test]
fn a_few_live_events_no_longer_pin_an_old_segment() {
    for bed in Bed::both() {
        let mut cfg = bed.config(1);
        // Compaction needs a segment of at least half of maxFileSize (or 16 MiB).
        cfg.max_file_size_bytes = 4096;
        // The layout above counts bytes per event: without the id header.
        cfg.event_ids = false;
        let ch = three_left_in_an_old_segment(&bed, &cfg);
        let old = ch.segments().iter().map(|s| s.0).min().unwrap();
        let old_path = ch.segments()[0].1.clone();
        // The first checkpoint copies the three forward, the second deletes the segment.
        ch.checkpoint().unwrap();
        let live_in_old = ch.segments().iter().find(|s| s.0 == old).map(|s| s.2);
        assert_eq!(live_in_old, Some(0), "{:?}", ch.segments());
        ch.checkpoint().unwrap();
        assert!(ch.segments().iter().all(|s| s.0 != old));
        assert!(!bed.fs.exists(&old_path));
        assert_eq!(peek_all(&ch), LEFT);
        ch.close().unwrap();
        let ch = bed.open(&cfg);
        assert_eq!(peek_all(&ch), LEFT);
        ch.close().unwrap();
        forget_checkpoint(&bed, &cfg);
        let ch = bed.open(&cfg);
        assert_eq!(drain(&ch), LEFT, "full replay");
    }
}

#[test]
fn a_crash_at_any_operation_of_a_compacting_checkpoint_keeps_the_queue_exact() {
    let probe = Bed::sim(1);
    let mut cfg = probe.config(1);
    cfg.max_file_size_bytes = 4096;
    let sim = probe.sim.clone().unwrap();
    let ch = three_left_in_an_old_segment(&probe, &cfg);
    let before = sim.op_count();
    ch.checkpoint().unwrap();
    ch.checkpoint().unwrap();
    let ops = sim.op_count() - before;
    drop(ch);
    for k in 0..ops {
        let mut bed = Bed::sim(k);
        let sim = bed.sim.clone().unwrap();
        let ch = three_left_in_an_old_segment(&bed, &cfg);
        sim.inject(Fault::Crash {
            at: sim.op_count() + k,
        });
        let _ = ch.checkpoint();
        let _ = ch.checkpoint();
        bed.power_loss(k * 7 + 1);
        drop(ch);
        let reopened = bed.open(&cfg);
        assert_eq!(peek_all(&reopened), LEFT, "crash at op {k}");
        reopened.close().unwrap();
        forget_checkpoint(&bed, &cfg);
        let replayed = bed.open(&cfg);
        assert_eq!(drain(&replayed), LEFT, "full replay, crash at op {k}");
    }
}

#[test]
fn verify_finds_a_channel_with_an_original_and_its_copy_sound() {
    let mut bed = Bed::sim(4);
    let mut cfg = bed.config(1);
    cfg.max_file_size_bytes = 4096;
    let ch = three_left_in_an_old_segment(&bed, &cfg);
    ch.checkpoint().unwrap();
    // Power loss before the next checkpoint: the old segment and the copies both on disk.
    bed.power_loss(3);
    drop(ch);
    let v = sluice_core::inspect::verify(bed.fs.clone(), &cfg).unwrap();
    assert!(v.is_sound(), "{:?}", v.problems);
    let ch = bed.open(&cfg);
    assert_eq!(drain(&ch), LEFT);
}

/// Commit records flagged as a copy forward's in the segments of `cfg`'s first directory.
fn copy_commits(bed: &Bed, cfg: &FileChannelConfig) -> usize {
    use sluice_core::internals::wal::record::RecordKind;
    use sluice_core::internals::wal::seal::FrameCodec;
    use sluice_core::internals::wal::segment::{parse_segment_file_name, scan_records};
    let dir = &cfg.data_dirs[0];
    let mut n = 0;
    for name in bed.fs.list_dir(dir).unwrap() {
        let Some(id) = parse_segment_file_name(&name) else {
            continue;
        };
        let file = bed
            .fs
            .open(&dir.join(&name), sluice_core::io::OpenMode::Read)
            .unwrap();
        let codec = FrameCodec::plain(id);
        scan_records(file.as_ref(), 32, &codec, false, |_, m| {
            n += usize::from(m.kind == RecordKind::Commit && m.copy);
        })
        .unwrap();
    }
    n
}

#[test]
fn copies_forward_are_flagged_and_pass_the_sequence_check_of_a_strict_reopen() {
    let mut bed = Bed::sim(5);
    let mut cfg = bed.config(1);
    cfg.max_file_size_bytes = 4096;
    cfg.event_ids = false;
    let ch = three_left_in_an_old_segment(&bed, &cfg);
    assert_eq!(copy_commits(&bed, &cfg), 0);
    ch.checkpoint().unwrap();
    assert!(
        copy_commits(&bed, &cfg) > 0,
        "the copy forward's commit is flagged"
    );
    // Power loss before the next checkpoint: replay reads the copies, whose seqs the
    // checkpoint's queue holds at the originals.
    bed.power_loss(9);
    drop(ch);
    assert!(copy_commits(&bed, &cfg) > 0, "the copies are durable");
    cfg.recovery_policy = sluice_core::RecoveryPolicy::Strict;
    let ch = bed.open(&cfg);
    assert!(ch.recovery_info().report.set_aside.is_empty());
    assert_eq!(drain(&ch), LEFT);
}
