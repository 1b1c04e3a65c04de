//! `sluice bench`: channel throughput, latency and cost, next to the disk's own limits.
//!
//! A run opens a file channel (or an in-memory queue) in the given or a temporary directory,
//! drives it with putter and taker threads ([`workload`]), optionally times a reopen
//! ([`reopen`]) and probes the directory ([`probe`]), then prints a table or JSON
//! ([`report`], [`table`]). When a run takes back what it put, every event is checked.

mod args;
mod channel_setup;
mod commit_report;
mod compare;
mod memory;
mod monitor;
mod otlp_client;
mod payload;
mod probe;
mod queue;
mod reopen;
mod report;
mod resources;
mod rpc;
mod rpc_client;
mod table;
mod workload;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use sluice_core::{FileChannel, FileChannelConfig};

pub use args::BenchArgs;
use args::{ChannelKind, PhaseArg};
use channel_setup::{channel_config, scratch};
use memory::MemoryQueue;
use payload::Payload;
use queue::{BenchQueue, FileQueue};
use report::{PhaseReport, Report, Verification, VsProbe};
use workload::{PhaseResult, PhaseSpec};

/// Runs the subcommand.
pub fn run(args: BenchArgs) -> anyhow::Result<i32> {
    crate::cli::logging::init("warn");
    if args.rpc.is_some() {
        return compare::run(&args);
    }
    let load_average = report::load_average();
    let mut keep_scratch = None;
    let (ckpt_dir, data_dirs) = match (&args.checkpoint_dir, args.data_dirs.is_empty()) {
        (Some(c), false) => (c.clone(), args.data_dirs.clone()),
        (c, _) => {
            let s = scratch()?;
            let ckpt = c.clone().unwrap_or_else(|| s.0.join("checkpoint"));
            let data = if args.data_dirs.is_empty() {
                vec![s.0.join("data")]
            } else {
                args.data_dirs.clone()
            };
            keep_scratch = Some(s);
            (ckpt, data)
        }
    };
    if args.probe {
        let p = probe::probe(&data_dirs[0], args.probe_secs)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&p)?);
        } else {
            print!("{}", table::probe_text(&p));
        }
        return Ok(0);
    }
    let probe = if args.with_probe {
        Some(probe::probe(&data_dirs[0], args.probe_secs)?)
    } else {
        None
    };
    let sizes = args.sizes()?;
    let stop = args.stop()?;
    let batch = args.batch.max(1);
    let payload = Payload::new(sizes, args.headers);
    let config = channel_config(&args, &ckpt_dir, &data_dirs, stop, batch)?;
    let mut file: Option<FileChannel> = None;
    let memory = Arc::new(MemoryQueue::default());
    if args.channel == ChannelKind::File {
        let ch = FileChannel::open(config.clone()).context("cannot open the channel")?;
        let queued = ch.stats().queued;
        if queued > 0 && matches!(args.phase, PhaseArg::Both | PhaseArg::Mixed) {
            bail!(
                "the channel already holds {queued} events; --phase both/mixed needs an empty one \
                 (use fresh directories, or --phase take to drain it)"
            );
        }
        file = Some(ch);
    } else if args.reopen || args.checkpoint_every_ms.is_some() {
        bail!("--reopen and --checkpoint-every-ms need --channel file");
    }
    let progress = !args.quiet;
    let every = args.checkpoint_every_ms.map(Duration::from_millis);
    let spec = |name, putters, takers| PhaseSpec {
        name,
        putters,
        stop,
        takers,
        take_limit: None,
        batch,
        first_id: 0,
        check_size: true,
    };
    let mut phases: Vec<PhaseResult> = Vec::new();
    let mut reopen_result = None;
    let run_one = |spec: PhaseSpec, file: &Option<FileChannel>| -> anyhow::Result<PhaseResult> {
        match file {
            Some(ch) => {
                let q = FileQueue(ch.clone());
                let f = || ch.checkpoint().context("checkpoint");
                let ck = every.map(|e| (e, &f as workload::CheckpointFn<'_>));
                workload::run_phase(spec, &q, &payload, ck, progress)
            }
            None => workload::run_phase(
                spec,
                memory.as_ref() as &dyn BenchQueue,
                &payload,
                None,
                progress,
            ),
        }
    };
    let takers = args.takers.max(1);
    let putters = args.putters.max(1);
    match args.phase {
        PhaseArg::Put | PhaseArg::Both => {
            phases.push(run_one(spec("put", putters, 0), &file)?);
            if args.reopen {
                reopen_result = Some(reopen_now(&mut file, &config, args.drop_caches)?);
            }
            if args.phase == PhaseArg::Both {
                let mut s = spec("take", 0, takers);
                s.take_limit = Some(phases[0].put);
                phases.push(run_one(s, &file)?);
            }
        }
        PhaseArg::Take => {
            if args.reopen {
                reopen_result = Some(reopen_now(&mut file, &config, args.drop_caches)?);
            }
            let mut s = spec("take", 0, takers);
            s.take_limit = args.events;
            s.check_size = false;
            phases.push(run_one(s, &file)?);
        }
        PhaseArg::Mixed => phases.push(run_one(spec("mixed", putters, takers), &file)?),
    }
    if let Some(ch) = file.take() {
        ch.close().context("closing the channel")?;
    }
    let verified = verification(args.phase, &mut phases);
    let reports: Vec<PhaseReport> = phases.iter().map(PhaseReport::from_result).collect();
    let first = reports.first().cloned().context("no phase ran")?;
    let vs_probe = probe.as_ref().map(|p| VsProbe {
        payload_fraction_of_synced_write: first.rates.payload_mb_per_sec
            / p.synced_write_mb_per_sec,
        disk_fraction_of_synced_write: first.rates.disk_mb_per_sec / p.synced_write_mb_per_sec,
        commits_per_probe_fdatasync: first.rates.commits_per_sec / p.fdatasync_per_sec,
    });
    let report = Report {
        channel: format!("{:?}", args.channel).to_lowercase(),
        workload: serde_json::json!({
            "phase": format!("{:?}", args.phase).to_lowercase(),
            "data_dirs": data_dirs.len(),
            "batch": batch,
            "putters": putters,
            "takers": takers,
            "event_size": args.event_size,
            "headers": args.headers,
            "settings": args.set_map()?,
        }),
        rates: first.rates,
        peak_rss_mb: resources::now().peak_rss_bytes as f64 / 1e6,
        phases: reports,
        verified,
        probe,
        vs_probe,
        reopen: reopen_result,
        load_average,
        comparison: None,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table::text(&report));
    }
    drop(keep_scratch);
    let ok = report.verified.as_ref().is_none_or(|v| v.ok);
    Ok(if ok { 0 } else { 1 })
}

/// Closes the channel, times the reopens, and opens it again for what follows.
fn reopen_now(
    file: &mut Option<FileChannel>,
    config: &FileChannelConfig,
    drop_caches: bool,
) -> anyhow::Result<reopen::ReopenResult> {
    let ch = file.take().context("--reopen needs the file channel")?;
    ch.close().context("closing before the reopen")?;
    drop(ch);
    let r = reopen::measure(config, &std::env::temp_dir(), drop_caches)?;
    *file = Some(FileChannel::open(config.clone()).context("opening after the reopen")?);
    Ok(r)
}

/// Checks what was taken: every id put exactly once (both, mixed), or only intact (take).
fn verification(phase: PhaseArg, phases: &mut [PhaseResult]) -> Option<Verification> {
    let put: u64 = phases.iter().map(|p| p.put).sum();
    let mut ids = Vec::new();
    let mut damaged = (0u64, Vec::new());
    for p in phases.iter_mut() {
        ids.append(&mut p.taken_ids);
        damaged.0 += p.damaged.0;
        damaged.1.append(&mut p.damaged.1);
    }
    match phase {
        PhaseArg::Put => None,
        PhaseArg::Both | PhaseArg::Mixed => Some(report::verify(put, ids, damaged)),
        PhaseArg::Take => {
            // Ids of an earlier run are unknown: check intact and unique only.
            let n = ids.iter().copied().max().map_or(0, |m| m + 1);
            let mut v = report::verify(n, ids, damaged);
            v.problems.retain(|p| !p.contains("not taken back"));
            v.missing = 0;
            v.put = 0;
            v.ok = v.problems.is_empty() && v.damaged == 0;
            Some(v)
        }
    }
}
