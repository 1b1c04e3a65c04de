//! SIGKILL mode: each round starts the worker (this binary, `crashtest-worker`), lets it run
//! for a random time (sometimes killing it while it is still recovering), kills it with
//! SIGKILL and books what it printed. At the end the channel is opened here and drained.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use sluice_core::FileChannel;

use super::ledger::Ledger;
use super::{channel_config, CrashtestArgs, Rng};

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

fn dirs_arg(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(",")
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
    let exe = std::env::current_exe().context("locating the sluice binary")?;
    let mut child = Command::new(exe)
        .arg("crashtest-worker")
        .arg("--checkpoint-dir")
        .arg(ckpt)
        .arg("--data-dirs")
        .arg(dirs_arg(dirs))
        .args(["--producers", &args.producers.to_string()])
        .args(["--id-base", &(r * args.producers).to_string()])
        .args(["--seed", &rng.next_u64().to_string()])
        .args(["--direct-io", args.direct_io.as_key()])
        .args(args.set.iter().flat_map(|kv| ["--set", kv.as_str()]))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting the worker")?;
    let stdout = child.stdout.take().context("worker stdout")?;
    let stderr = child.stderr.take().context("worker stderr")?;
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut s);
        s
    });
    let started = Instant::now();
    let mut recovery = None;
    // One round in eight is killed at once, likely while it is recovering.
    let early = rng.below(8) == 0;
    let run_ms = rng.below(args.max_run_ms.max(1) + 1);
    let mut lines = Vec::new();
    if early {
        std::thread::sleep(Duration::from_millis(rng.below(30)));
    } else {
        loop {
            match rx.recv_timeout(Duration::from_secs(120)) {
                Ok(line) => {
                    let ready = line.starts_with("ready ");
                    lines.push(line);
                    if ready {
                        break;
                    }
                }
                Err(e) => {
                    let _ = child.kill();
                    let status = child.wait()?;
                    let errors = err_reader.join().unwrap_or_default();
                    let why = match e {
                        mpsc::RecvTimeoutError::Timeout => "within 120 s",
                        mpsc::RecvTimeoutError::Disconnected => "(its output ended)",
                    };
                    bail!(
                        "round {r}: the worker never became ready {why}, {status}: {}",
                        errors.trim()
                    );
                }
            }
        }
        std::thread::sleep(Duration::from_millis(run_ms));
    }
    let exited_early = child.try_wait()?.is_some();
    let _ = child.kill();
    let status = child.wait()?;
    let _ = reader.join();
    let errors = err_reader.join().unwrap_or_default();
    lines.extend(rx.try_iter());
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
pub fn run(
    args: &CrashtestArgs,
    seed: u64,
    ckpt: &Path,
    dirs: &[PathBuf],
) -> anyhow::Result<Ledger> {
    let mut rng = Rng::new(seed);
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
