//! Flume's restart matrix on Sluice's checkpoints, and a crash at every I/O operation of a
//! checkpoint. Every case checks that the events committed before the restart are exactly the
//! ones that come out after it.

use std::path::PathBuf;

use crate::common::*;
use sluice_core::io::{Fault, OpenMode};
use sluice_core::FileChannelConfig;
use sluice_core::RecoverySource;

fn checkpoint_file(cfg: &FileChannelConfig) -> PathBuf {
    cfg.checkpoint_dir.join("checkpoint")
}

/// Puts 1..=n in batches of 3, takes and commits the first `taken`, closes.
fn prepare(bed: &Bed, cfg: &FileChannelConfig, n: usize, taken: usize) -> Vec<String> {
    let ch = bed.open(cfg);
    let bodies: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
    for chunk in bodies.chunks(3) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        put_all(&ch, &refs);
    }
    let mut tx = ch.transaction();
    for _ in 0..taken {
        tx.take().unwrap().unwrap();
    }
    tx.commit().unwrap();
    ch.close().unwrap();
    bodies[taken..].to_vec()
}

fn overwrite(bed: &Bed, path: &std::path::Path, bytes: &[u8]) {
    let f = bed.fs.open(path, OpenMode::CreateTruncate).unwrap();
    f.write_all_at(bytes, 0).unwrap();
    f.sync_data().unwrap();
}

#[test]
fn a_deleted_checkpoint_falls_back_to_a_full_replay() {
    for bed in Bed::both() {
        let cfg = bed.config(2);
        let expected = prepare(&bed, &cfg, 20, 5);
        bed.fs.remove_file(&checkpoint_file(&cfg)).unwrap();
        let ch = bed.open(&cfg);
        assert_eq!(ch.recovery_info().source, RecoverySource::FullReplay);
        assert_eq!(drain(&ch), expected);
    }
}

#[test]
fn a_damaged_checkpoint_is_refused_with_its_reason_and_the_log_replayed() {
    type Damage = Box<dyn Fn(Vec<u8>) -> Vec<u8>>;
    let cases: Vec<(&str, Damage)> = vec![
        ("empty", Box::new(|_| Vec::new())),
        (
            "truncated",
            Box::new(|b: Vec<u8>| b[..b.len() / 2].to_vec()),
        ),
        ("two bytes", Box::new(|b: Vec<u8>| b[..2].to_vec())),
        (
            "bad version",
            Box::new(|mut b: Vec<u8>| {
                b[8] = 9;
                b
            }),
        ),
        (
            "flipped byte",
            Box::new(|mut b: Vec<u8>| {
                let i = b.len() / 2;
                b[i] ^= 0x40;
                b
            }),
        ),
        (
            "random bytes",
            Box::new(|b: Vec<u8>| (0..b.len()).map(|i| (i * 31 % 251) as u8).collect()),
        ),
    ];
    for (name, damage) in cases {
        let bed = Bed::sim(3);
        let cfg = bed.config(1);
        let expected = prepare(&bed, &cfg, 12, 2);
        let good = sluice_core::io::read_file(bed.fs.as_ref(), &checkpoint_file(&cfg)).unwrap();
        overwrite(&bed, &checkpoint_file(&cfg), &damage(good));
        let ch = bed.open(&cfg);
        let info = ch.recovery_info();
        assert_eq!(info.source, RecoverySource::FullReplay, "{name}");
        assert_eq!(info.fallbacks.len(), 1, "{name}: {:?}", info.fallbacks);
        assert_eq!(drain(&ch), expected, "{name}");
    }
}

#[test]
fn a_corrupt_checkpoint_is_replaced_by_the_backup_without_a_full_replay() {
    for bed in Bed::both() {
        let mut cfg = bed.config(2);
        cfg.use_dual_checkpoints = true;
        cfg.backup_checkpoint_dir = Some(bed.root.join("backup"));
        let expected = prepare(&bed, &cfg, 30, 7);
        overwrite(&bed, &checkpoint_file(&cfg), b"garbage");
        let ch = bed.open(&cfg);
        let info = ch.recovery_info();
        assert_eq!(info.source, RecoverySource::BackupCheckpoint);
        assert_eq!(
            info.report.records, 0,
            "the backup is current: nothing to replay"
        );
        assert_eq!(drain(&ch), expected);
    }
}

#[test]
fn a_leftover_temporary_checkpoint_and_extra_empty_segments_are_harmless() {
    for bed in Bed::both() {
        let cfg = bed.config(1);
        let expected = prepare(&bed, &cfg, 9, 1);
        overwrite(
            &bed,
            &cfg.checkpoint_dir.join("checkpoint.tmp"),
            b"half written",
        );
        let empty = cfg.data_dirs[0].join("log-0000009999");
        overwrite(&bed, &empty, &[]);
        let ch = bed.open(&cfg);
        assert_eq!(drain(&ch), expected);
    }
}

#[test]
fn a_take_before_a_checkpoint_committed_after_it_stays_taken() {
    for bed in Bed::both() {
        let cfg = bed.config(1);
        let ch = bed.open(&cfg);
        put_all(&ch, &["a", "b", "c"]);
        let mut tx = ch.transaction();
        assert_eq!(tx.take().unwrap().unwrap().body, &b"a"[..]);
        ch.checkpoint().unwrap();
        tx.commit().unwrap();
        // Crash without a closing checkpoint: the log after the checkpoint must apply the take.
        let mut bed = bed;
        if bed.sim.is_some() {
            bed.power_loss(11);
        } else {
            drop(ch);
            // On the real disk the drop wrote a closing checkpoint; remove it and the backup
            // of that knowledge is the log itself: a full replay must agree.
            bed.fs.remove_file(&checkpoint_file(&cfg)).unwrap();
        }
        let ch = bed.open(&cfg);
        assert_eq!(drain(&ch), vec!["b", "c"]);
    }
}

#[test]
fn puts_uncommitted_across_a_checkpoint_appear_only_if_committed() {
    let mut bed = Bed::sim(5);
    let cfg = bed.config(2);
    let ch = bed.open(&cfg);
    put_all(&ch, &["before"]);
    let mut committed = ch.transaction();
    committed.put(ev("committed-after")).unwrap();
    let mut abandoned = ch.transaction();
    abandoned.put(ev("never")).unwrap();
    ch.checkpoint().unwrap();
    committed.commit().unwrap();
    let mut rolled = ch.transaction();
    rolled.put(ev("rolled-back")).unwrap();
    rolled.rollback();
    bed.power_loss(1);
    let ch2 = bed.open(&cfg);
    assert_eq!(drain(&ch2), vec!["before", "committed-after"]);
    drop((abandoned, ch));
}

#[test]
fn capacity_raised_or_lowered_between_runs_keeps_every_event_without_replay() {
    let bed = Bed::sim(9);
    let mut cfg = bed.config(1);
    let expected = prepare(&bed, &cfg, 40, 0);
    for capacity in [20_000, 10] {
        cfg.capacity = capacity;
        cfg.transaction_capacity = 10;
        let ch = bed.open(&cfg);
        assert_eq!(ch.recovery_info().source, RecoverySource::Checkpoint);
        assert_eq!(ch.recovery_info().report.records, 0);
        ch.close().unwrap();
    }
    // Lowered below the backlog: puts wait for room, takes drain everything.
    let ch = bed.open(&cfg);
    let mut tx = ch.transaction();
    assert!(tx.put(ev("over")).is_err(), "the channel is over capacity");
    drop(tx);
    assert_eq!(drain(&ch), expected);
    put_all(&ch, &["room again"]);
}

#[test]
fn every_committed_event_survives_a_crash_at_every_operation_of_a_checkpoint() {
    // Count the operations one checkpoint makes.
    let probe = Bed::sim(1);
    let mut cfg = probe.config(2);
    cfg.use_dual_checkpoints = true;
    cfg.backup_checkpoint_dir = Some(probe.root.join("backup"));
    cfg.max_file_size_bytes = 512;
    let workload = |bed: &Bed| {
        let ch = bed.open(&cfg);
        for i in 0..12 {
            put_all(&ch, &[&format!("e{i}")]);
        }
        let mut tx = ch.transaction();
        for _ in 0..5 {
            tx.take().unwrap();
        }
        tx.commit().unwrap();
        let mut open_take = ch.transaction();
        open_take.take().unwrap();
        (ch, open_take)
    };
    let sim = probe.sim.clone().unwrap();
    let (ch, t) = workload(&probe);
    let before = sim.op_count();
    ch.checkpoint().unwrap();
    let ops = sim.op_count() - before;
    drop((t, ch));
    assert!(ops >= 10, "a checkpoint makes only {ops} operations");
    let expected: Vec<String> = (5..12).map(|i| format!("e{i}")).collect();
    for k in 0..ops {
        for seed in 0..3 {
            let mut bed = Bed::sim(seed);
            let sim = bed.sim.clone().unwrap();
            let (ch, t) = workload(&bed);
            sim.inject(Fault::Crash {
                at: sim.op_count() + k,
            });
            let _ = ch.checkpoint();
            bed.power_loss(seed * 1000 + k);
            let reopened = bed.open(&cfg);
            assert_eq!(
                drain(&reopened),
                expected,
                "crash at checkpoint op {k}, seed {seed}"
            );
            drop((t, ch));
        }
    }
}
