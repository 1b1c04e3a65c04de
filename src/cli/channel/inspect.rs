//! `sluice channel inspect`: what a channel on disk holds, as recovery sees it, without
//! changing it: queue depth, in-flight (unfinished) transactions, segments with sizes and live
//! events, the checkpoint's and the backup's age and validity, and the oldest event.

use std::sync::Arc;

use anyhow::Context;
use serde_json::{json, Value};
use sluice_core::inspect::{check_checkpoint, checkpoint_dirs, CheckpointCheck, CheckpointState};
use sluice_core::inspect::{examine, Examination};
use sluice_core::io::{Fs, StdFs};
use sluice_core::{FileChannelConfig, RecoveryPolicy, RecoverySource};
use std::path::Path;

use super::verify::{now_ms, refusing, require_dirs};
use super::ChannelArgs;

/// Arguments of `sluice channel inspect`.
#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    #[command(flatten)]
    channel: ChannelArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `sluice channel inspect`: exit 0 after printing, 3 if the channel cannot be read.
pub fn run(args: InspectArgs) -> anyhow::Result<i32> {
    refusing(inspect(args))
}

fn inspect(args: InspectArgs) -> anyhow::Result<i32> {
    let config = args.channel.config()?;
    require_dirs(&config)?;
    let fs: Arc<dyn Fs> = Arc::new(StdFs);
    // Under the configured policy first, as `open` would; if that refuses, show what the
    // salvage policy recovers and say why.
    let (exam, refusal) = match examine(fs.clone(), &config) {
        Ok(exam) => (exam, None),
        Err(e @ sluice_core::ChannelError::Locked { .. }) => return Err(e.into()),
        Err(sluice_core::ChannelError::FlumeChannel { dir, found }) => {
            return Err(flume_channel(&config, &dir, &found))
        }
        Err(e) if config.recovery_policy != RecoveryPolicy::Salvage => {
            let mut salvage = config.clone();
            salvage.recovery_policy = RecoveryPolicy::Salvage;
            let exam = examine(fs.clone(), &salvage)
                .with_context(|| format!("cannot examine the channel ({e})"))?;
            (exam, Some(e.to_string()))
        }
        Err(e) => return Err(anyhow::Error::new(e).context("cannot examine the channel")),
    };
    let keyring = match &config.encryption {
        Some(e) => Some(e.keyring(fs.as_ref())?),
        None => None,
    };
    let checks: Vec<CheckpointCheck> = checkpoint_dirs(&config)
        .into_iter()
        .map(|(role, dir)| check_checkpoint(fs.as_ref(), role, &dir, keyring.as_ref()).0)
        .collect();
    let view = to_json(&exam, &checks, refusal.as_deref());
    if args.json {
        println!("{view}");
    } else {
        print_text(&view);
    }
    Ok(0)
}

/// A Flume channel's directories: the commands that read it. The channel's own error
/// advises `adoptFlumeChannel = true`, which an agent reads at start, never this tool.
fn flume_channel(config: &FileChannelConfig, dir: &Path, found: &str) -> anyhow::Error {
    let data: Vec<String> = config
        .data_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    anyhow::anyhow!(
        "{} holds an Apache Flume file channel ({found}), which `sluice channel inspect` does not read: `sluice channel adopt --flume-checkpoint-dir {} --flume-data-dirs {} --dry-run` shows what it holds without writing; the same without `--dry-run` (with `--in-place`, or a new `--checkpoint-dir` and `--data-dirs`), or an agent whose channel sets adoptFlumeChannel = true, makes it a Sluice channel (docs/coming-from-flume.md, \"Moving a Flume agent\")",
        dir.display(),
        config.checkpoint_dir.display(),
        data.join(","),
    )
}

fn source_name(s: RecoverySource) -> &'static str {
    match s {
        RecoverySource::Checkpoint => "checkpoint",
        RecoverySource::BackupCheckpoint => "backup",
        RecoverySource::FullReplay => "full-replay",
    }
}

fn checkpoint_json(c: &CheckpointCheck, now: u64) -> Value {
    let (state, created, entries, why) = match &c.state {
        CheckpointState::Valid {
            created_ms,
            entries,
        } => ("valid", Some(*created_ms), Some(*entries), None),
        CheckpointState::Missing => ("missing", None, None, None),
        CheckpointState::Invalid(why) => ("invalid", None, None, Some(why.clone())),
    };
    json!({
        "role": c.role,
        "path": c.path.display().to_string(),
        "state": state,
        "created_ms": created,
        "age_ms": created.map(|t| now.saturating_sub(t)),
        "entries": entries,
        "problem": why,
    })
}

fn to_json(exam: &Examination, checks: &[CheckpointCheck], refusal: Option<&str>) -> Value {
    let now = now_ms();
    let oldest = exam.queued.first().map(|(seq, ptr)| {
        let seg = exam.segments.iter().find(|s| s.id == ptr.segment);
        json!({
            "seq": seq,
            "segment": ptr.segment,
            "offset": ptr.offset,
            "file": seg.map(|s| s.path.display().to_string()),
        })
    });
    let segments: Vec<Value> = exam
        .segments
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "path": s.path.display().to_string(),
                "bytes": s.bytes,
                "live_events": s.live_events,
            })
        })
        .collect();
    json!({
        "recovered_from": source_name(exam.source),
        "open_refused": refusal,
        "fallbacks": exam.fallbacks,
        "queue_depth": exam.queued.len(),
        "in_flight_transactions": exam.report.uncommitted_txns,
        "in_flight_puts": exam.report.uncommitted_puts,
        "events_lost": exam.report.events_lost
            + exam.missing.len() as u64
            + exam.report.events_cut
            + exam.report.events_cut_back,
        "events_cut": exam.report.events_cut,
        "events_cut_back": exam.report.events_cut_back,
        "cut_back_segments": exam
            .report
            .cut_back
            .iter()
            .map(|c| json!({
                "path": c.path.display().to_string(),
                "bytes": c.len,
                "held_bytes": c.held,
                "missing_bytes": c.missing(),
                "evidence": c.evidence,
                "queued_events_lost": c.events,
                "events_after_checkpoint_uncounted": c.after_checkpoint,
            }))
            .collect::<Vec<_>>(),
        "missing_segments": exam.missing_segments,
        "problems": exam.report.problems,
        "oldest_event": oldest,
        "checkpoints": checks.iter().map(|c| checkpoint_json(c, now)).collect::<Vec<_>>(),
        "segments": segments,
        "segment_bytes": exam.segments.iter().map(|s| s.bytes).sum::<u64>(),
    })
}

fn print_text(v: &Value) {
    let s = |k: &str| v[k].to_string();
    if let Some(why) = v["open_refused"].as_str() {
        println!("open would refuse this channel: {why}");
        println!("showing what recoveryPolicy=salvage recovers");
    }
    println!(
        "recovered from: {}",
        v["recovered_from"].as_str().unwrap_or("?")
    );
    for f in v["fallbacks"].as_array().into_iter().flatten() {
        println!("  fallback: {}", f.as_str().unwrap_or("?"));
    }
    println!("queue depth: {}", s("queue_depth"));
    println!(
        "in-flight transactions: {} ({} puts without a commit record)",
        s("in_flight_transactions"),
        s("in_flight_puts")
    );
    match v["oldest_event"].as_object() {
        Some(o) => println!(
            "oldest event: seq {} in segment {} at offset {}",
            o["seq"], o["segment"], o["offset"]
        ),
        None => println!("oldest event: none (the queue is empty)"),
    }
    print_checkpoints(v);
    print_segments(v);
    println!("events lost: {}", s("events_lost"));
    if v["events_cut"].as_u64().unwrap_or(0) > 0 {
        println!(
            "  {} of them committed in a cut tail (damage in a newest segment, cut under tolerate-tail)",
            s("events_cut")
        );
    }
    if v["events_cut_back"].as_u64().unwrap_or(0) > 0 {
        println!(
            "  {} of them queued in the missing bytes of cut-back segments",
            s("events_cut_back")
        );
    }

    for p in v["problems"].as_array().into_iter().flatten() {
        println!("  {}", p.as_str().unwrap_or("?"));
    }
}

/// Each checkpoint (the current one and its backup): valid, invalid (why) or missing.
fn print_checkpoints(v: &Value) {
    for c in v["checkpoints"].as_array().into_iter().flatten() {
        let path = c["path"].as_str().unwrap_or("?");
        match c["state"].as_str() {
            Some("valid") => println!(
                "{}: valid, {} entries, written {} ms ago ({path})",
                c["role"].as_str().unwrap_or("?"),
                c["entries"],
                c["age_ms"]
            ),
            Some("invalid") => println!(
                "{}: INVALID: {} ({path})",
                c["role"].as_str().unwrap_or("?"),
                c["problem"].as_str().unwrap_or("?")
            ),
            _ => println!("{}: missing ({path})", c["role"].as_str().unwrap_or("?")),
        }
    }
}

/// The segments, one line each: id, bytes, live events, path.
fn print_segments(v: &Value) {
    let segs = v["segments"].as_array().map_or(&[][..], |a| a.as_slice());
    println!("segments: {} ({} bytes)", segs.len(), v["segment_bytes"]);
    println!("  {:>10} {:>12} {:>11}  path", "id", "bytes", "live_events");
    for g in segs {
        println!(
            "  {:>10} {:>12} {:>11}  {}",
            g["id"].as_u64().unwrap_or(0),
            g["bytes"].as_u64().unwrap_or(0),
            g["live_events"].as_u64().unwrap_or(0),
            g["path"].as_str().unwrap_or("?")
        );
    }
}
