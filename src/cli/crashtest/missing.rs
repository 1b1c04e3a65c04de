//! `--remove` modes: files vanish instead of the power. Each round runs a seeded workload on
//! the simulated file system (two data directories, small segments), closes the channel, then
//! removes files the way an operator or a lying file system would:
//!
//! - `dir-segments`: every segment of one data directory, only its newest, or one from the
//!   middle (a replaced disk, an empty mount point, a stray `rm`);
//! - `dir-entry`: one directory entry that a file system which loses unsynced entries could
//!   drop: any single segment, or the checkpoint file.
//!
//! Then it opens the channel under the default policy. The check is that loss is never
//! silent: if the open succeeds, every acknowledged event not yet taken must come out; if it
//! refuses, `salvage` must open, recover no phantom event, and name what is gone. A round
//! whose acknowledged events vanish without a refusal or a report counts as a silent loss.
//!
//! One removal is beyond what recovery can see, and is counted apart (`undetectable`, not a
//! failure): segments a directory started after the last checkpoint, when no later segment of
//! that directory survives and its head record does not name them (a head write failed).
//! docs/recovery.md states this limit.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use sluice_core::io::{Fs, SimFs};
use sluice_core::RecoveryPolicy;
use sluice_core::{Event, FileChannel, FileChannelConfig};

use super::{channel_config, event_body, Rng};

/// What to remove.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    /// Segments of one data directory: all, the newest, or one from the middle.
    DirSegments,
    /// One directory entry: a segment or the checkpoint file.
    DirEntry,
}

/// The outcome of all rounds.
#[derive(Debug, Default)]
pub struct Tally {
    /// Rounds run.
    pub rounds: u64,
    /// Rounds where the removal cost acknowledged events.
    pub lossy: u64,
    /// Lossy rounds that `open` refused.
    pub refused: u64,
    /// Refused rounds where salvage named the loss.
    pub salvage_reported: u64,
    /// Rounds where acknowledged events vanished and nothing said so.
    pub silent: u64,
    /// Rounds where an event came out that was never acknowledged.
    pub phantom: u64,
    /// Lossy rounds that removed only a directory's segments started after the last
    /// checkpoint, with no later segment of that directory left (see the module docs).
    pub undetectable: u64,
}

fn segments(fs: &dyn Fs, dir: &Path) -> Vec<PathBuf> {
    fs.list_dir(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.starts_with("log-"))
        .map(|n| dir.join(n))
        .collect()
}

fn drain(ch: &FileChannel) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    loop {
        let mut tx = ch.transaction();
        let mut n = 0;
        while n < 500 {
            match tx.take().context("take")? {
                Some(e) => {
                    out.push(Vec::from(e.into_parts().1));
                    n += 1;
                }
                None => break,
            }
        }
        tx.commit().context("commit a take")?;
        if n < 500 {
            return Ok(out);
        }
    }
}

/// Runs a seeded workload; returns the bodies acknowledged and not taken.
fn workload(ch: &FileChannel, rng: &mut Rng, round: u64) -> anyhow::Result<BTreeSet<Vec<u8>>> {
    let mut queued: Vec<Vec<u8>> = Vec::new();
    let mut next = 0u64;
    for _ in 0..200 + rng.below(200) {
        match rng.below(10) {
            0..=5 => {
                let mut tx = ch.transaction();
                let n = 1 + rng.below(20);
                let mut bodies = Vec::new();
                for _ in 0..n {
                    let b = event_body(round, next);
                    next += 1;
                    tx.put(Event::new(b.clone())).context("put")?;
                    bodies.push(b);
                }
                tx.commit().context("commit puts")?;
                queued.extend(bodies);
            }
            6..=8 => {
                let mut tx = ch.transaction();
                let mut taken = 0;
                for _ in 0..1 + rng.below(30) {
                    if tx.take().context("take")?.is_none() {
                        break;
                    }
                    taken += 1;
                }
                tx.commit().context("commit takes")?;
                queued.drain(..taken.min(queued.len()));
            }
            _ => ch.checkpoint().context("checkpoint")?,
        }
    }
    Ok(queued.into_iter().collect())
}

fn segment_id(path: &Path) -> u32 {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("log-"))
        .and_then(|d| d.parse().ok())
        .unwrap_or(0)
}

/// Whether every removed segment lies past its directory's replay position in the checkpoint
/// and its head record, with no later segment of its directory left: the removal recovery
/// cannot see.
fn beyond_reach(fs: &dyn Fs, config: &FileChannelConfig, victims: &[PathBuf]) -> bool {
    let Ok(positions) = sluice_core::inspect::replay_positions(fs, &config.checkpoint_dir) else {
        return false;
    };
    !victims.is_empty()
        && victims.iter().all(|v| {
            let Some(dir) = v.parent() else { return false };
            let key = dir.to_string_lossy();
            let pos = positions
                .iter()
                .find(|p| p.dir == key)
                .map_or(0, |p| p.segment);
            let id = segment_id(v);
            let head = sluice_core::inspect::head_segment(fs, dir).unwrap_or(0);
            id > pos && id > head && segments(fs, dir).iter().all(|s| segment_id(s) < id)
        })
}

fn remove(fs: &dyn Fs, config: &FileChannelConfig, how: Removal, rng: &mut Rng) -> (String, bool) {
    let dir = &config.data_dirs[rng.below(config.data_dirs.len() as u64) as usize];
    let segs = segments(fs, dir);
    let mut victims: Vec<PathBuf> = match how {
        Removal::DirSegments => match rng.below(3) {
            0 => segs.clone(),
            1 => segs.last().cloned().into_iter().collect(),
            _ => segs.get(segs.len() / 2).cloned().into_iter().collect(),
        },
        Removal::DirEntry => {
            let mut all: Vec<PathBuf> = config
                .data_dirs
                .iter()
                .flat_map(|d| segments(fs, d))
                .collect();
            all.push(config.checkpoint_dir.join("checkpoint"));
            let i = rng.below(all.len() as u64) as usize;
            all.get(i).cloned().into_iter().collect()
        }
    };
    victims.retain(|p| fs.exists(p));
    for v in &victims {
        let _ = fs.remove_file(v);
    }
    let unseen = beyond_reach(fs, config, &victims);
    let names: Vec<String> = victims.iter().map(|p| p.display().to_string()).collect();
    (names.join(", "), unseen)
}

/// Runs every round.
pub fn run(rounds: u64, seed: u64, how: Removal) -> anyhow::Result<Tally> {
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    let ckpt = PathBuf::from("/sim/checkpoint");
    let dirs = vec![PathBuf::from("/sim/data0"), PathBuf::from("/sim/data1")];
    let mut config = channel_config(&ckpt, &dirs, sluice_core::DirectIo::Off);
    config.checkpoint_interval_ms = 3_600_000;
    config.max_file_size_bytes = 8 * 1024;
    for r in 0..rounds {
        let sim = SimFs::new(rng.next_u64());
        let fs: Arc<dyn Fs> = Arc::new(sim.clone());
        config.checkpoint_on_close = rng.below(2) == 0;
        let ch = FileChannel::open_with_fs(config.clone(), fs.clone()).context("first open")?;
        let queued = workload(&ch, &mut rng, r)?;
        ch.close().context("close")?;
        drop(ch);
        let (removed, unseen) = remove(fs.as_ref(), &config, how, &mut rng);
        tally.rounds += 1;
        let (got, refused, reported) = match FileChannel::open_with_fs(config.clone(), fs.clone()) {
            Ok(ch) => (drain(&ch)?, false, false),
            Err(why) => {
                let mut salvage = config.clone();
                salvage.recovery_policy = RecoveryPolicy::Salvage;
                let ch = FileChannel::open_with_fs(salvage, fs.clone())
                    .with_context(|| format!("round {r}: salvage after a refusal ({why})"))?;
                let info = ch.recovery_info();
                let reported = info.events_lost > 0 || !info.missing_segments.is_empty();
                (drain(&ch)?, true, reported)
            }
        };
        let got_set: BTreeSet<Vec<u8>> = got.iter().cloned().collect();
        let lost = queued.difference(&got_set).count();
        let phantom = got
            .iter()
            .filter(|b| super::parse_body(b).is_none_or(|(p, _)| p != r))
            .count();
        if phantom > 0 {
            tally.phantom += 1;
        }
        if lost > 0 {
            tally.lossy += 1;
            if refused {
                tally.refused += 1;
                if reported {
                    tally.salvage_reported += 1;
                } else {
                    tally.silent += 1;
                }
            } else if unseen {
                tally.undetectable += 1;
                println!(
                    "round {r}: {lost} events lost unseen with {removed}, started after the \
                     last checkpoint with no later segment left (beyond recovery's reach)"
                );
                continue;
            } else {
                tally.silent += 1;
                println!("round {r}: SILENT LOSS of {lost} events after removing {removed}");
                continue;
            }
        }
        println!(
            "round {r}: removed {removed}: {lost} acknowledged events gone, open {}",
            if refused { "refused" } else { "accepted" }
        );
    }
    Ok(tally)
}
