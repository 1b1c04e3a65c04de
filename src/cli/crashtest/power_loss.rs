//! `--power-loss` mode: the workload runs in this process on the simulated file system
//! (`SimFs`). Each round opens the channel (recovering it), arms a power cut at a random I/O
//! operation, runs seeded puts, takes and checkpoints until the cut, and replaces the file
//! system by its crash image: unsynced writes dropped or torn, unsynced directory entries
//! gone. Everything is decided by the seed, so a run replays exactly.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use sluice_core::io::{Fault, Fs, SimFs};
use sluice_core::{Event, FileChannel};

use super::ledger::Ledger;
use super::{channel_config, event_body, Plan, Rng};

/// Most actions in a round before the power is cut anyway.
const ACTIONS_MAX: u64 = 400;
/// Latest operation (after the open) at which the cut is armed.
const CRASH_WINDOW_OPS: u64 = 600;

struct Producer {
    id: u64,
    next: u64,
}

/// One seeded action on the open channel; errors (the power cut) end the round.
fn act(ch: &FileChannel, rng: &mut Rng, producers: &mut [Producer], ledger: &mut Ledger) -> bool {
    match rng.below(10) {
        0..=5 => {
            let i = rng.below(producers.len() as u64) as usize;
            let Some(p) = producers.get_mut(i) else {
                return true;
            };
            let n = 1 + rng.below(20);
            let mut tx = ch.transaction();
            for seq in p.next..p.next + n {
                if tx.put(Event::new(event_body(p.id, seq))).is_err() {
                    return false;
                }
            }
            if tx.commit().is_err() {
                return false;
            }
            p.next += n;
            ledger.ack(p.id, p.next);
            true
        }
        6..=8 => {
            let mut tx = ch.transaction();
            for _ in 0..1 + rng.below(50) {
                match tx.take() {
                    Ok(Some(e)) => ledger.deliver(&e.body),
                    Ok(None) => break,
                    Err(_) => return false,
                }
            }
            tx.commit().is_ok()
        }
        _ => ch.checkpoint().is_ok(),
    }
}

/// Runs every round and the final drain.
pub fn run(plan: Plan<'_>) -> anyhow::Result<Ledger> {
    let Plan {
        args,
        seed,
        ckpt,
        dirs,
    } = plan;
    let mut rng = plan.rng();
    let mut ledger = Ledger::default();
    let mut config = channel_config(ckpt, dirs, args.direct_io);
    // No background checkpoints: every operation must follow from the seed.
    config.checkpoint_interval_ms = 3_600_000;
    config.max_file_size_bytes = 64 * 1024;
    config.encryption = super::encryption_of(&args.set)?.map(Box::new);
    let mut sim = SimFs::new(seed);
    if let Some(enc) = &config.encryption {
        copy_key_files(&sim, &enc.key_files)?;
    }
    for r in 0..args.rounds {
        let started = Instant::now();
        let ch = FileChannel::open_with_fs(config.clone(), Arc::new(sim.clone()))
            .with_context(|| format!("round {r}: reopening after a power loss (seed {seed})"))?;
        let recovery_ms = started.elapsed().as_secs_f64() * 1000.0;
        let at = sim.op_count() + 1 + rng.below(CRASH_WINDOW_OPS);
        sim.inject(Fault::Crash { at });
        let mut producers: Vec<Producer> = (0..args.producers.max(1))
            .map(|i| Producer {
                id: r * args.producers.max(1) + i,
                next: 0,
            })
            .collect();
        let mut actions = 0;
        while actions < ACTIONS_MAX && act(&ch, &mut rng, &mut producers, &mut ledger) {
            actions += 1;
        }
        if !sim.has_crashed() {
            sim.inject(Fault::Crash { at: sim.op_count() });
        }
        drop(ch);
        sim = sim.crash_image(rng.next_u64());
        println!(
            "round {r}: recovery {recovery_ms:.1} ms, power cut at op {at} after {actions} actions, acked so far {}",
            ledger.acked_total()
        );
    }
    let started = Instant::now();
    let ch = FileChannel::open_with_fs(config, Arc::new(sim.clone()))
        .with_context(|| format!("final open after the last power loss (seed {seed})"))?;
    let recovery_ms = started.elapsed().as_secs_f64() * 1000.0;
    let left = ledger.drain(&ch)?;
    println!("final: recovery {recovery_ms:.1} ms, {left} events left in the channel");
    Ok(ledger)
}

/// Copies the keystore and password files onto the simulated disk at the same paths (written
/// durably, so every crash image keeps them).
fn copy_key_files(sim: &SimFs, files: &sluice_core::keys::KeyFiles) -> anyhow::Result<()> {
    let own = files.keys.iter().filter_map(|(_, p)| p.as_ref());
    for path in [&files.keystore_file, &files.store_password_file]
        .into_iter()
        .chain(own)
    {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        if let Some(parent) = path.parent() {
            sim.create_dir_all(parent)?;
        }
        sluice_core::io::write_file_atomic(sim, path, &bytes)?;
    }
    Ok(())
}
