//! What a Flume file channel holds, printed one fact per line: `sluice channel adopt
//! --dry-run`, `sluice channel verify --flume`, and the report an adoption prints.

use anyhow::Context;
use sluice_core::io::StdFs;
use sluice_flume::adopt::{survey, Survey};
use sluice_flume::{CheckpointUsed, FlumeDirs, FlumeKeys, FlumeReport};

use crate::cli::exit::{FAILED_CHECK, OK};

/// Reads the Flume channel in `flume` whole and prints what it holds, writing nothing:
/// `adopt --dry-run` and `verify --flume`. Exit 0 when everything reads, 1 when something is
/// damaged; and what it holds.
pub(super) fn report(flume: &FlumeDirs, keys: &FlumeKeys) -> anyhow::Result<(i32, Survey)> {
    let s = survey(&StdFs, flume, keys).context("cannot read the Flume channel")?;
    print_report(&s.report);
    println!(
        "events: {} ({} bytes of headers and bodies)",
        s.events, s.bytes
    );
    if let (Some(a), Some(b)) = &s.first_last_timestamp {
        println!("timestamp header: first {a}, last {b}");
    }
    for d in &s.damaged {
        println!("damaged: {d}");
    }
    let code = if s.damaged.is_empty() && s.report.counts.stopped.is_empty() {
        OK
    } else {
        FAILED_CHECK
    };
    Ok((code, s))
}

/// What the replay found, one fact per line.
pub(super) fn print_report(r: &FlumeReport) {
    let ckpt = match &r.checkpoint {
        CheckpointUsed::Primary => "the checkpoint".to_string(),
        CheckpointUsed::Backup(why) => format!("the backup checkpoint (primary refused: {why})"),
        CheckpointUsed::None(why) => format!("no checkpoint ({why}): the logs alone"),
    };
    println!(
        "flume channel: replayed from {ckpt}, {} queued in it",
        r.checkpoint_queue
    );
    for (path, bytes, alias) in &r.files {
        match alias {
            Some(a) => println!("log file: {} ({bytes} bytes, key {a})", path.display()),
            None => println!("log file: {} ({bytes} bytes)", path.display()),
        }
    }
    let c = &r.counts;
    println!(
        "records: {} read, {} before the checkpoint, {} puts, {} takes, {} commits, {} rollbacks, {} voided",
        c.read, c.skipped, c.puts, c.takes, c.commits, c.rollbacks, c.voided
    );
    println!(
        "in-flight takes returned to the head: {}; puts never committed (never acknowledged), left out: {}",
        c.inflight_takes_returned, c.uncommitted_puts
    );
    if c.unmatched_takes > 0 {
        println!(
            "committed takes of events not queued: {} (Flume: duplicates may exist downstream)",
            c.unmatched_takes
        );
    }
    for (path, offset, why) in &c.stopped {
        println!("stopped: {}:{offset}: {why}", path.display());
    }
}
