//! `sluice bench`: channel throughput, latency and cost, next to the disk's own limits.
//!
//! A run opens a file channel (or an in-memory queue) in the given or a temporary directory,
//! drives it with putter and taker threads ([`workload`]), optionally times a reopen
//! ([`reopen`]) and probes the directory ([`probe`]), then prints a table or JSON
//! ([`report`], [`table`]). When a run takes back what it put, every event is checked.

mod args;
mod channel_setup;
mod commit_report;
mod commit_split;
mod compare;
mod memory;
mod monitor;
mod otlp_client;
mod payload;
mod phase_shared;
mod phase_threads;
mod phases;
mod probe;
mod queue;
mod reopen;
mod report;
mod resources;
mod rpc;
mod rpc_client;
mod rpc_figures;
mod table;
mod workload;

use anyhow::Context;

pub use args::BenchArgs;
use channel_setup::{channel_config, open_file_channel, run_dirs};
use payload::Payload;
use phases::Phases;
use probe::ProbeResult;
use reopen::ReopenResult;
use report::{PhaseReport, Report, VsProbe};

/// Runs the subcommand.
pub fn run(args: BenchArgs) -> anyhow::Result<i32> {
    crate::cli::logging::init("warn");
    if args.rpc.is_some() {
        return compare::run(&args);
    }
    let load_average = report::load_average();
    let (ckpt_dir, data_dirs, keep_scratch) = run_dirs(&args)?;
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
    let stop = args.stop()?;
    let batch = args.batch.max(1);
    let payload = Payload::new(args.sizes()?, args.headers);
    let config = channel_config(&args, &ckpt_dir, &data_dirs, stop, batch)?;
    let mut file = open_file_channel(&args, &config)?;
    let runner = Phases::new(&args, &payload, &config, stop, batch);
    let (mut phases, reopen_result) = runner.run(&mut file)?;
    if let Some(ch) = file.take() {
        ch.close().context("closing the channel")?;
    }
    let verified = phases::verification(args.phase, &mut phases);
    let mut report = report_of(&args, data_dirs.len(), &phases, probe, reopen_result)?;
    report.verified = verified;
    report.load_average = load_average;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table::text(&report));
    }
    drop(keep_scratch);
    let ok = report.verified.as_ref().is_none_or(|v| v.ok);
    Ok(if ok { 0 } else { 1 })
}

/// The report of the phases that ran (the first one's rates at the top, set against the
/// probe when there is one); its verification and load average are the caller's.
fn report_of(
    args: &BenchArgs,
    data_dirs: usize,
    phases: &[workload::PhaseResult],
    probe: Option<ProbeResult>,
    reopen: Option<ReopenResult>,
) -> anyhow::Result<Report> {
    let reports: Vec<PhaseReport> = phases.iter().map(PhaseReport::from_result).collect();
    let first = reports.first().cloned().context("no phase ran")?;
    let vs_probe = probe.as_ref().map(|p| VsProbe {
        payload_fraction_of_synced_write: first.rates.payload_mb_per_sec
            / p.synced_write_mb_per_sec,
        disk_fraction_of_synced_write: first.rates.disk_mb_per_sec / p.synced_write_mb_per_sec,
        commits_per_probe_fdatasync: first.rates.commits_per_sec / p.fdatasync_per_sec,
    });
    Ok(Report {
        channel: format!("{:?}", args.channel).to_lowercase(),
        workload: serde_json::json!({
            "phase": format!("{:?}", args.phase).to_lowercase(),
            "data_dirs": data_dirs,
            "batch": args.batch.max(1),
            "putters": args.putters.max(1),
            "takers": args.takers.max(1),
            "event_size": args.event_size,
            "headers": args.headers,
            "settings": args.set_map()?,
        }),
        rates: first.rates,
        peak_rss_mb: resources::now().peak_rss_bytes as f64 / 1e6,
        phases: reports,
        verified: None,
        probe,
        vs_probe,
        reopen,
        load_average: Vec::new(),
        comparison: None,
    })
}
