//! `sluice channel verify`: reads every record of every segment and both checkpoints, prints
//! each problem as `file:offset: what` (and why `open` would refuse the channel, if it would),
//! and exits 0 only when the channel is sound: no problem, and an open as configured would
//! take it (1 when it is not, 3 when it cannot be checked at all, e.g. an agent holds it
//! open). Also the small helpers the integrity tools share.

use anyhow::{bail, Context};
use sluice_core::inspect::{checkpoint_dirs, verify, CheckpointState};

use sluice_core::FileChannelConfig;

use super::progress::Progress;
use super::ChannelArgs;

/// Arguments of `sluice channel verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    channel: ChannelArgs,
    /// Print only the problems, not the summary.
    #[arg(long, short)]
    quiet: bool,
    /// The directories hold an Apache Flume file channel: read it whole as `channel adopt
    /// --dry-run` does (what it holds, each damaged record), writing nothing.
    #[arg(long)]
    flume: bool,
}

/// Maps a tool's failure to a message and its exit code (`crate::cli::exit`), so that scripts
/// can tell "the channel is damaged" (1) from "bad arguments" (2) and "the channel could not be
/// read" (3).
pub fn refusing(result: anyhow::Result<i32>) -> anyhow::Result<i32> {
    match result {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("sluice: error: {}", crate::cli::exit::render(&e));
            Ok(crate::cli::exit::code_of(&e))
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Fails unless every directory the configuration names exists (tools never create a channel).
pub fn require_dirs(config: &FileChannelConfig) -> anyhow::Result<()> {
    let ckpts = checkpoint_dirs(config);
    for dir in ckpts.iter().map(|(_, d)| d).chain(&config.data_dirs) {
        if !dir.is_dir() {
            bail!("{} does not exist or is not a directory", dir.display());
        }
    }
    Ok(())
}

/// Runs `sluice channel verify`.
pub fn run(args: VerifyArgs) -> anyhow::Result<i32> {
    refusing(run_verify(args))
}

fn run_verify(args: VerifyArgs) -> anyhow::Result<i32> {
    if args.flume {
        let config = args.channel.config()?;
        let dirs = sluice_flume::FlumeDirs {
            checkpoint_dir: config.checkpoint_dir.clone(),
            backup_checkpoint_dir: None,
            data_dirs: config.data_dirs.clone(),
        };
        let keys = super::keys::config_keys(&config)?;
        return super::flume_report::report(&dirs, &keys).map(|(code, _)| code);
    }
    let config = args.channel.config()?;
    let (fs, progress) = Progress::scan("verify", &config);
    let v = verify(fs, &config).context("cannot verify the channel")?;
    progress.finish();
    for p in &v.problems {
        println!("{p}");
    }
    // Said even with --quiet: it is the reason the channel is not sound when the scan found
    // nothing (the agent's own words at its start).
    if let Some(why) = &v.open_refusal {
        eprintln!("open would refuse the channel: {why}");
    }
    if !args.quiet {
        for c in &v.checkpoints {
            let state = match &c.state {
                CheckpointState::Valid { entries, .. } => format!("valid ({entries} entries)"),
                CheckpointState::Missing => "missing".to_owned(),
                CheckpointState::Invalid(_) => "invalid".to_owned(),
            };
            eprintln!("{}: {state}", c.role);
        }
        eprintln!(
            "segments: {}, bytes: {}, good records: {}, unfinished transactions: {}, events after recovery: {}",
            v.segments, v.bytes, v.records, v.unfinished_txns, v.queued
        );
        if !v.sealed_by.is_empty() {
            let by: Vec<String> = v
                .sealed_by
                .iter()
                .map(|(a, n)| format!("{a}={n}"))
                .collect();
            eprintln!(
                "sealed segments by key (every tag checked): {}",
                by.join(" ")
            );
        }
        if v.is_sound() {
            eprintln!("sound");
        } else if v.problems.is_empty() {
            eprintln!("NOT SOUND: open refuses the channel");
        } else {
            eprintln!("NOT SOUND: {} problems", v.problems.len());
        }
    }
    Ok(if v.is_sound() { 0 } else { 1 })
}
