//! Fault sweeps: for each representative workload, count its I/O operations on the simulated
//! file system, then for every operation index k fail it with EIO, fail it with ENOSPC, or cut
//! the power there (unsynced bytes dropped or torn, unsynced directory entries lost), reopen,
//! and check what survived: acknowledged ⊆ recovered ⊆ attempted, in commit order, no
//! duplicates, committed takes gone, takes in flight allowed back (at-least-once).
//!
//! Every failure message names the workload, the fault, k and the crash-image seed, so it can
//! be replayed. `SLUICE_LONG=1` adds a seeded sweep (several crash images per k) that counts
//! and prints the power-loss crash points it visited; `SLUICE_SEEDS=N` sets seeds per k.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use crate::common::{config_under, drain, ev, long_runs};
use sluice_core::io::{Fault, SimFs};
use sluice_core::WalError;
use sluice_core::{ChannelError, FileChannel, FileChannelConfig};

/// What a workload tried and what the channel acknowledged.
#[derive(Debug, Default)]
struct Log {
    attempted: Vec<String>,
    acked: Vec<String>,
    /// Bodies of takes whose commit returned Ok.
    taken_acked: HashSet<String>,
    /// Bodies of takes whose commit failed in its write or fsync: the take records may or may
    /// not have reached the disk, so the events may be gone (the taker had them) or back.
    taken_maybe: HashSet<String>,
    /// Puts of transactions that failed cleanly (ENOSPC on their own write): never stored.
    refused: Vec<String>,
    /// Commit errors, in order.
    errors: Vec<ChannelError>,
    open_failed: bool,
}

impl Log {
    fn commit_puts(&mut self, ch: &FileChannel, bodies: &[String]) {
        let mut tx = ch.transaction();
        for b in bodies {
            if let Err(e) = tx.put(ev(b)) {
                self.errors.push(e);
                return;
            }
            self.attempted.push(b.clone());
        }
        match tx.commit() {
            Ok(()) => self.acked.extend(bodies.iter().cloned()),
            Err(e) => {
                if matches!(e, ChannelError::DiskFull(_)) {
                    self.refused.extend(bodies.iter().cloned());
                }
                self.errors.push(e);
            }
        }
    }

    fn commit_takes(&mut self, ch: &FileChannel, n: usize) {
        let mut tx = ch.transaction();
        let mut got = Vec::new();
        for _ in 0..n {
            match tx.take() {
                Ok(Some(e)) => got.push(String::from_utf8(Vec::from(e.into_parts().1)).unwrap()),
                Ok(None) => break,
                Err(e) => {
                    self.errors.push(e);
                    return;
                }
            }
        }
        match tx.commit() {
            Ok(()) => self.taken_acked.extend(got),
            Err(e) => {
                if matches!(e, ChannelError::Wal(_)) {
                    self.taken_maybe.extend(got);
                }
                self.errors.push(e);
            }
        }
    }
}

type Workload = fn(&FileChannel, &mut Log);

fn batch(prefix: &str, i: usize, n: usize) -> Vec<String> {
    (0..n)
        .map(|j| format!("{prefix}{i}-{j}-{}", "y".repeat((i * 7 + j) % 50)))
        .collect()
}

fn batched_puts(ch: &FileChannel, log: &mut Log) {
    for i in 0..20 {
        log.commit_puts(ch, &batch("a", i, 4));
    }
}

fn puts_and_takes(ch: &FileChannel, log: &mut Log) {
    for i in 0..16 {
        log.commit_puts(ch, &batch("b", i, 3));
        if i % 2 == 1 {
            log.commit_takes(ch, 4);
        }
    }
}

fn checkpoint_in_the_middle(ch: &FileChannel, log: &mut Log) {
    for i in 0..6 {
        log.commit_puts(ch, &batch("c", i, 3));
    }
    log.commit_takes(ch, 5);
    // An open take across the checkpoint, rolled back afterwards.
    let mut open = ch.transaction();
    let _ = open.take();
    let _ = ch.checkpoint();
    open.rollback();
    for i in 6..12 {
        log.commit_puts(ch, &batch("c", i, 3));
    }
    log.commit_takes(ch, 3);
}

const WORKLOADS: &[(&str, usize, Workload)] = &[
    ("batched_puts", 1, batched_puts),
    ("puts_and_takes", 1, puts_and_takes),
    ("checkpoint_in_the_middle", 1, checkpoint_in_the_middle),
    ("two_data_dirs", 2, puts_and_takes),
];

fn config(dirs: usize) -> FileChannelConfig {
    let mut cfg = config_under(Path::new("/sim"), dirs);
    cfg.max_file_size_bytes = 4096;
    cfg.fsync_per_transaction = true;
    cfg
}

/// Runs a workload on `sim` from open to drop (no close: the process "dies" after it).
fn run_workload(sim: &SimFs, cfg: &FileChannelConfig, w: Workload) -> (Log, Option<FileChannel>) {
    let mut log = Log::default();
    match FileChannel::open_with_fs(cfg.clone(), Arc::new(sim.clone())) {
        Ok(ch) => {
            w(&ch, &mut log);
            (log, Some(ch))
        }
        Err(_) => {
            log.open_failed = true;
            (log, None)
        }
    }
}

/// I/O operations of a workload, from the first open until it returns.
fn count_ops(cfg: &FileChannelConfig, w: Workload) -> u64 {
    let sim = SimFs::new(0);
    let (log, ch) = run_workload(&sim, cfg, w);
    assert!(
        log.errors.is_empty(),
        "fault-free run failed: {:?}",
        log.errors
    );
    let n = sim.op_count();
    drop(ch);
    n
}

/// A broken durability rule, described with where it was found.
#[derive(Debug)]
struct Violation(String);

impl From<String> for Violation {
    fn from(what: String) -> Self {
        Self(what)
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks the recovered queue against the log; `Err` describes the first violation.
fn check(log: &Log, recovered: &[String]) -> Result<(), Violation> {
    let order: HashMap<&str, usize> = log
        .attempted
        .iter()
        .enumerate()
        .map(|(i, b)| (b.as_str(), i))
        .collect();
    let mut seen = HashSet::new();
    let mut last = None;
    for r in recovered {
        let Some(&i) = order.get(r.as_str()) else {
            return Err(format!("recovered {r:?}, which was never put").into());
        };
        if !seen.insert(r.as_str()) {
            return Err(format!("{r:?} recovered twice").into());
        }
        if last.is_some_and(|l| i < l) {
            return Err(format!("{r:?} recovered out of commit order").into());
        }
        last = Some(i);
        if log.taken_acked.contains(r) {
            return Err(format!("{r:?} came back after its take was committed").into());
        }
        if log.refused.contains(r) {
            return Err(format!("{r:?} of a transaction refused by ENOSPC was stored").into());
        }
    }
    for a in &log.acked {
        let gone = log.taken_acked.contains(a) || log.taken_maybe.contains(a);
        if !gone && !seen.contains(a.as_str()) {
            return Err(format!("acknowledged {a:?} was lost").into());
        }
    }
    Ok(())
}

fn reopen_and_drain(sim: &SimFs, cfg: &FileChannelConfig) -> Result<Vec<String>, Violation> {
    let ch = FileChannel::open_with_fs(cfg.clone(), Arc::new(sim.clone()))
        .map_err(|e| format!("reopen failed: {e}"))?;
    let got = drain(&ch);
    // The recovered channel must take new work.
    let mut tx = ch.transaction();
    tx.put(ev("after"))
        .map_err(|e| format!("put after reopen: {e}"))?;
    tx.commit()
        .map_err(|e| format!("commit after reopen: {e}"))?;
    Ok(got)
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Eio,
    Enospc,
    Crash { seed: u64 },
}

/// One point of a sweep: fault at k, then reopen and check.
fn point(name: &str, dirs: usize, w: Workload, k: u64, mode: Mode) -> Result<(), Violation> {
    let cfg = config(dirs);
    let sim = SimFs::new(k);
    sim.inject(match mode {
        Mode::Eio => Fault::Eio { at: k },
        Mode::Enospc => Fault::Enospc { at: k },
        Mode::Crash { .. } => Fault::Crash { at: k },
    });
    let (log, ch) = run_workload(&sim, &cfg, w);
    let fail = |what: String| Violation(format!("workload {name}, {mode:?}, k {k}: {what}"));
    if let Some(ch) = &ch {
        match mode {
            Mode::Eio => {
                // Failing to start a segment (create, header) is not a failure of acknowledged
                // data: that commit fails, the channel stays usable and retries.
                let roll = |e: &ChannelError| matches!(e, ChannelError::Wal(WalError::Roll { .. }));
                let hard = log.errors.iter().any(|e| {
                    matches!(e, ChannelError::Wal(_) | ChannelError::Poisoned { .. }) && !roll(e)
                });
                if !hard && log.errors.iter().any(roll) {
                    if ch.stats().unhealthy {
                        return Err(fail("a failed segment start poisoned the channel".into()));
                    }
                    let mut tx = ch.transaction();
                    let ok = tx.put(ev("after-enospc")).and_then(|()| tx.commit());
                    if let Err(e) = ok {
                        return Err(fail(format!("commit after a failed segment start: {e}")));
                    }
                }
                if hard {
                    if !ch.stats().unhealthy {
                        return Err(fail("a failed write left the channel healthy".into()));
                    }
                    let mut tx = ch.transaction();
                    match tx.put(ev("refused")) {
                        Err(e @ ChannelError::Poisoned { .. })
                            if e.to_string().contains("reopen") => {}
                        other => return Err(fail(format!("put after EIO gave {other:?}"))),
                    }
                }
            }
            Mode::Enospc => {
                if matches!(log.errors.first(), Some(ChannelError::DiskFull(_))) {
                    if ch.stats().unhealthy {
                        return Err(fail("ENOSPC on a commit poisoned the channel".into()));
                    }
                    let mut tx = ch.transaction();
                    let ok = tx.put(ev("after-enospc")).and_then(|()| tx.commit());
                    if let Err(e) = ok {
                        return Err(fail(format!("commit after ENOSPC failed: {e}")));
                    }
                }
            }
            Mode::Crash { .. } => {}
        }
    }
    drop(ch);
    let image = match mode {
        Mode::Crash { seed } => sim.crash_image(seed),
        // A process restart without power loss: the same file system, faults gone.
        Mode::Eio | Mode::Enospc => {
            sim.clear_faults();
            sim
        }
    };
    let mut got = reopen_and_drain(&image, &cfg).map_err(|v| fail(v.0))?;
    got.retain(|b| b != "after-enospc");
    check(&log, &got).map_err(|v| fail(v.0))
}

/// Sweeps every k of every workload in `mode_at(k)` modes; returns the points visited.
fn sweep(modes: impl Fn(u64) -> Vec<Mode>) -> u64 {
    let mut points = 0;
    let mut failures = Vec::new();
    for &(name, dirs, w) in WORKLOADS {
        let ops = count_ops(&config(dirs), w);
        eprintln!("{name}: {ops} I/O operations");
        assert!(ops > 40, "{name} makes only {ops} I/O operations");
        for k in 0..=ops {
            for mode in modes(k) {
                points += 1;
                if let Err(e) = point(name, dirs, w, k, mode) {
                    // Replay: point(name, dirs, workload, k, mode) with the printed values.
                    eprintln!("FAULT SWEEP FAILURE: {e}");
                    failures.push(e);
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures, first: {}",
        failures.len(),
        failures[0]
    );
    points
}

#[test]
fn every_acknowledged_commit_survives_eio_at_every_operation_and_the_channel_is_poisoned() {
    let n = sweep(|_| vec![Mode::Eio]);
    eprintln!("EIO points swept: {n}");
}

#[test]
fn enospc_at_every_operation_fails_only_that_transaction_and_keeps_earlier_commits() {
    let n = sweep(|_| vec![Mode::Enospc]);
    eprintln!("ENOSPC points swept: {n}");
}

#[test]
fn every_acknowledged_commit_survives_a_power_loss_at_every_operation() {
    let n = sweep(|k| vec![Mode::Crash { seed: k }]);
    eprintln!("power-loss points swept: {n}");
}

#[test]
fn seeded_power_loss_sweep_for_the_long_run() {
    if !long_runs() {
        eprintln!("skipped: set SLUICE_LONG=1 for the seeded power-loss sweep");
        return;
    }
    // Enough crash images per operation index for at least 10,000 points, unless told.
    let indices: u64 = WORKLOADS
        .iter()
        .map(|&(_, dirs, w)| count_ops(&config(dirs), w) + 1)
        .sum();
    let seeds: u64 = std::env::var("SLUICE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000u64.div_ceil(indices));
    let n = sweep(|k| {
        (0..seeds)
            .map(|s| Mode::Crash {
                seed: s * 1_000_003 + k,
            })
            .collect()
    });
    println!("power-loss crash points swept: {n} ({seeds} crash images per operation index)");
}
