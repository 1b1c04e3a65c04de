//! `sluice channel salvage`: copies every readable committed event of a (damaged) channel, in
//! commit order, into a new, sound channel in other directories, and reports what was lost
//! and where.
//!
//! Design: the source channel is never written to (only its lock files are taken), so a crash
//! during salvage cannot lose anything; the output directories must be new or empty, and
//! `SALVAGE_INCOMPLETE` in the output checkpoint directory marks an output that is not
//! finished (it is removed, durably, only after the new channel is closed). The operator then
//! points the agent at the new directories (or swaps them in) once the report is acceptable.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use sluice_core::inspect::ReadError;
use sluice_core::inspect::{examine, Examination};

use sluice_core::FileChannel;
use sluice_core::RecoveryPolicy;

use super::progress::Progress;
use super::verify::{refusing, require_dirs};
use super::ChannelArgs;

/// Name of the marker file of an unfinished salvage output.
pub const INCOMPLETE_MARKER: &str = "SALVAGE_INCOMPLETE";

/// Arguments of `sluice channel salvage`.
#[derive(clap::Args, Debug)]
pub struct SalvageArgs {
    #[command(flatten)]
    channel: ChannelArgs,
    /// Checkpoint directory of the new channel (must not exist yet, or be empty).
    #[arg(long)]
    output_checkpoint_dir: PathBuf,
    /// Comma-separated data directories of the new channel (each new or empty).
    #[arg(long)]
    output_data_dirs: String,
}

/// Runs `sluice channel salvage`: 0 once the new channel is complete (the report says what
/// was lost), 3 if nothing was done.
pub fn run(args: SalvageArgs) -> anyhow::Result<i32> {
    refusing(salvage(args))
}

fn check_output(dir: &Path, sources: &[&PathBuf]) -> anyhow::Result<()> {
    if sources.iter().any(|s| s.as_path() == dir) {
        bail!(
            "{} is a directory of the channel being salvaged",
            dir.display()
        );
    }
    if dir.exists() {
        let mut entries =
            std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        if entries.next().is_some() {
            bail!("output directory {} is not empty", dir.display());
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing directory {}", dir.display()))
}

fn salvage(args: SalvageArgs) -> anyhow::Result<i32> {
    let mut config = args.channel.config()?;
    config.recovery_policy = RecoveryPolicy::Salvage;
    require_dirs(&config)?;
    let out_data: Vec<PathBuf> = args
        .output_data_dirs
        .split(',')
        .map(|s| PathBuf::from(s.trim()))
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    if out_data.is_empty() {
        bail!("--output-data-dirs names no directory");
    }
    let sources: Vec<&PathBuf> = std::iter::once(&config.checkpoint_dir)
        .chain(&config.backup_checkpoint_dir)
        .chain(&config.data_dirs)
        .collect();

    let (fs, progress) = Progress::scan("salvage", &config);
    let exam = examine(fs, &config).context("cannot examine the channel")?;

    let marker = prepare_outputs(&args, &out_data, &sources)?;
    let mut out_config = config.clone();
    out_config.checkpoint_dir = args.output_checkpoint_dir.clone();
    out_config.data_dirs = out_data.clone();
    out_config.use_dual_checkpoints = false;
    out_config.backup_checkpoint_dir = None;
    out_config.recovery_policy = RecoveryPolicy::default();
    out_config.capacity = out_config.capacity.max(exam.queued.len() as u64);
    let batch = out_config.transaction_capacity.clamp(1, 1000);
    let out = FileChannel::open(out_config).context("cannot create the output channel")?;
    progress.events("salvage: copying".to_owned(), exam.queued.len() as u64);
    let (kept, unreadable) = copy_events(&exam, &out, batch, &progress)?;
    progress.finish();
    out.close().context("closing the output channel")?;
    std::fs::remove_file(&marker).with_context(|| format!("removing {}", marker.display()))?;
    sync_dir(&args.output_checkpoint_dir)?;
    print_report(&exam, &args, kept, &unreadable);
    Ok(0)
}

/// Checks and creates the output directories, the marker of an unfinished output first (so
/// that an output without it is either complete or holds nothing at all). Returns the marker.
fn prepare_outputs(
    args: &SalvageArgs,
    out_data: &[PathBuf],
    sources: &[&PathBuf],
) -> anyhow::Result<PathBuf> {
    let outputs: Vec<&PathBuf> = std::iter::once(&args.output_checkpoint_dir)
        .chain(out_data)
        .collect();
    for dir in &outputs {
        check_output(dir, sources)?;
    }
    std::fs::create_dir_all(&args.output_checkpoint_dir)
        .with_context(|| format!("creating {}", args.output_checkpoint_dir.display()))?;
    let marker = args.output_checkpoint_dir.join(INCOMPLETE_MARKER);
    // Never through a link planted under the marker's name (issue 87: no open by name follows one).
    sluice::agent::nofollow::create_fresh(&marker)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("creating {}", marker.display()))?;
    sync_dir(&args.output_checkpoint_dir)?;
    for dir in out_data {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(marker)
}

/// Copies every readable queued event, in order, into `out` in transactions of `batch`.
/// Returns how many were kept and a line for each unreadable one.
fn copy_events(
    exam: &Examination,
    out: &FileChannel,
    batch: u64,
    progress: &Progress,
) -> anyhow::Result<(u64, Vec<String>)> {
    let mut unreadable = Vec::new();
    let mut kept = 0u64;
    let mut tx = out.transaction();
    let mut in_tx = 0u64;
    for (seq, ptr) in &exam.queued {
        progress.event();
        match exam.read_event(*seq, *ptr) {
            Ok(event) => {
                tx.put(event).context("put into the output channel")?;
                in_tx += 1;
                if in_tx == batch {
                    tx.commit().context("commit to the output channel")?;
                    kept += in_tx;
                    in_tx = 0;
                    tx = out.transaction();
                }
            }
            Err(e) => unreadable.push(match e {
                ReadError::Corrupt {
                    path,
                    offset,
                    detail,
                } => format!(
                    "{}:{offset}: queued event seq {seq} lost: {detail}",
                    path.display()
                ),
                other => format!("queued event seq {seq} lost: {other}"),
            }),
        }
    }
    tx.commit().context("commit to the output channel")?;
    kept += in_tx;
    assert_eq!(kept + unreadable.len() as u64, exam.queued.len() as u64);
    Ok((kept, unreadable))
}

/// Prints what was salvaged and what was lost, and why.
fn print_report(exam: &Examination, args: &SalvageArgs, kept: u64, unreadable: &[String]) {
    let report = &exam.report;
    for f in &exam.fallbacks {
        println!("checkpoint not used: {f}");
    }
    for p in &report.problems {
        println!("{p}");
    }
    for line in unreadable {
        println!("{line}");
    }
    let mut missing: BTreeMap<u32, u64> = BTreeMap::new();
    for (_, segment) in &exam.missing {
        *missing.entry(*segment).or_default() += 1;
    }
    for (segment, n) in &missing {
        println!("{n} queued events lost: segment {segment} is missing");
    }
    let lost = unreadable.len() as u64
        + exam.missing.len() as u64
        + report.events_lost
        + report.events_cut_back;
    println!(
        "salvaged {kept} events into {} ({})",
        args.output_checkpoint_dir.display(),
        args.output_data_dirs
    );
    println!(
        "lost {lost} committed events: {} unreadable, {} in missing segments, {} counted by commits whose puts were damaged",
        unreadable.len(),
        exam.missing.len(),
        report.events_lost
    );
    if report.events_cut_back > 0 {
        println!(
            "  and {} queued in the missing bytes of cut-back segments",
            report.events_cut_back
        );
    }
    if report.uncommitted_puts > 0 {
        println!(
            "not kept: {} puts of {} transactions without a readable commit record (never acknowledged, or their commit was damaged)",
            report.uncommitted_puts, report.uncommitted_txns
        );
    }
}
