//! SIGKILL mode: each round starts the worker (this binary, `crashtest-worker`, through
//! [`WorkerProc`]), lets it run for a random time (sometimes killing it while it is still
//! recovering), kills it with SIGKILL and books what it printed. At the end the channel is
//! opened here and drained.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use sluice_core::FileChannel;

use super::ledger::Ledger;
use super::worker_proc::WorkerProc;
use super::{channel_config, CrashtestArgs, Plan, Rng};

/// Books one line of worker output; returns the recovery time of a `ready` line.
fn book(ledger: &mut Ledger, line: &str) -> Option<f64> {
    if let Some(body) = line.strip_prefix("took ") {
        ledger.took(body.as_bytes());
    } else if let Some(n) = line.strip_prefix("cursor ") {
        if let Ok(n) = n.parse() {
            ledger.cut_back(n);
        }
    } else if let Some(rest) = line.strip_prefix("ack ") {
        let mut it = rest.split(' ');
        if let (Some(Ok(p)), Some(Ok(n))) = (
            it.next().map(str::parse::<u64>),
            it.next().map(str::parse::<u64>),
        ) {
            ledger.ack(p, n);
        }
    } else if let Some(rest) = line.strip_prefix("ready ") {
        return rest.split(' ').next().and_then(|ms| ms.parse().ok());
    }
    None
}

/// One round: spawn, wait, SIGKILL, book. Returns the recovery time if the worker got there.
fn round(
    args: &CrashtestArgs,
    r: u64,
    rng: &mut Rng,
    ckpt: &Path,
    dirs: &[PathBuf],
    ledger: &mut Ledger,
) -> anyhow::Result<(Option<f64>, u64)> {
    let mut worker = WorkerProc::spawn(args, r, rng.next_u64(), ckpt, dirs)?;
    let started = Instant::now();
    let mut recovery = None;
    // One round in eight is killed at once, likely while it is recovering.
    let early = rng.below(8) == 0;
    let run_ms = rng.below(args.max_run_ms.max(1) + 1);
    let mut lines = Vec::new();
    if early {
        std::thread::sleep(Duration::from_millis(rng.below(30)));
    } else {
        worker.wait_ready(r, &mut lines)?;
        std::thread::sleep(Duration::from_millis(run_ms));
    }
    let (exited_early, status, errors) = worker.kill(&mut lines)?;
    for line in &lines {
        if let Some(ms) = book(ledger, line) {
            recovery = Some(ms);
        }
    }
    if exited_early {
        bail!(
            "round {r}: the worker exited by itself ({status}) after {:?}: {}",
            started.elapsed(),
            errors.trim()
        );
    }
    Ok((recovery, started.elapsed().as_millis() as u64))
}

/// Runs every round and the final drain.
pub fn run(plan: Plan<'_>) -> anyhow::Result<Ledger> {
    let Plan {
        args, ckpt, dirs, ..
    } = plan;
    let mut rng = plan.rng();
    let mut ledger = Ledger::new(args.exactly_once);
    for r in 0..args.rounds {
        let (recovery, ran_ms) = round(args, r, &mut rng, ckpt, dirs, &mut ledger)?;
        let rec = recovery.map_or("killed before ready".to_owned(), |ms| {
            format!("recovery {ms:.1} ms")
        });
        println!(
            "round {r}: killed after {ran_ms} ms, {rec}, acked so far {}",
            ledger.acked_total()
        );
    }
    let started = Instant::now();
    let mut config = channel_config(ckpt, dirs, args.direct_io);
    config.encryption = super::encryption_of(&args.set)?.map(Box::new);
    let ch = FileChannel::open(config).context("final open")?;
    let recovery_ms = started.elapsed().as_secs_f64() * 1000.0;
    // The last worker was killed like the others: its output is cut back to the committed
    // takes here, as each new worker's `cursor` line does at the start of a round.
    ledger.cut_back(super::worker::committed_lines(&ch));
    ledger.settle();
    let left = ledger.drain(&ch)?;
    ch.close().context("closing the channel")?;
    println!("final: recovery {recovery_ms:.1} ms, {left} events left in the channel");
    Ok(ledger)
}
