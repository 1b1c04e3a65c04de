//! `sluice channel dump`: the queued events of a channel on disk, oldest first, as JSON lines,
//! without changing the channel. Each line is
//! `{"seq":..,"segment":..,"offset":..,"headers":{..},"body":"..","body_encoding":"utf8"}`;
//! a body that is not UTF-8 is base64 (standard alphabet, padded) with
//! `"body_encoding":"base64"`. An event that cannot be read is reported on stderr as
//! `file:offset: what` and the exit code is 1.

use std::io::{IsTerminal, Write};

use anyhow::Context;
use base64::Engine;
use serde_json::json;
use sluice_core::inspect::examine;
use sluice_core::inspect::{EventPtr, ReadError};

use super::progress::Progress;
use super::verify::{refusing, require_dirs};
use super::ChannelArgs;

/// Arguments of `sluice channel dump`.
#[derive(clap::Args, Debug)]
pub struct DumpArgs {
    #[command(flatten)]
    channel: ChannelArgs,
    /// Stop after this many events.
    #[arg(long)]
    max: Option<u64>,
}

/// Runs `sluice channel dump`: 0 when every event printed was readable, 1 when some were not,
/// 3 when the channel cannot be read (locked, or recovery refuses it: try
/// `--set recoveryPolicy=salvage`).
pub fn run(args: DumpArgs) -> anyhow::Result<i32> {
    refusing(dump(args))
}

fn dump(args: DumpArgs) -> anyhow::Result<i32> {
    let config = args.channel.config()?;
    require_dirs(&config)?;
    // On a terminal the events themselves are the progress: a line only when they go elsewhere.
    let tty = std::io::stderr().is_terminal() && !std::io::stdout().is_terminal();
    let (fs, progress) = Progress::scan_if("dump", &config, tty);
    let exam = examine(fs, &config).context("cannot examine the channel")?;
    let limit = args.max.unwrap_or(u64::MAX);
    progress.events(
        "dump: printing".to_owned(),
        limit.min(exam.queued.len() as u64),
    );
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut unreadable = 0u64;
    for (seq, ptr) in exam
        .queued
        .iter()
        .take(limit.try_into().unwrap_or(usize::MAX))
    {
        progress.event();
        let line = match exam.read_event(*seq, *ptr) {
            Ok(event) => event_json(*seq, *ptr, event),
            Err(e) => {
                unreadable += 1;
                report_unreadable(*seq, e);
                continue;
            }
        };
        if let Err(e) = writeln!(out, "{line}") {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(0);
            }
            return Err(e).context("writing to stdout");
        }
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(e).context("writing to stdout")
        }
        _ => {}
    }
    progress.finish();
    Ok(if unreadable == 0 { 0 } else { 1 })
}

/// One queued event as a JSON line: its seq, its place in the log, its headers and its body
/// (UTF-8 text, or base64 when it is not).
fn event_json(seq: u64, ptr: EventPtr, event: sluice_core::Event) -> serde_json::Value {
    let (headers, body) = event.into_parts();
    let (body, encoding) = match String::from_utf8(Vec::from(body)) {
        Ok(text) => (text, "utf8"),
        Err(e) => (
            base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
            "base64",
        ),
    };
    json!({
        "seq": seq,
        "segment": ptr.segment,
        "offset": ptr.offset,
        "headers": headers.to_map(),
        "body": body,
        "body_encoding": encoding,
    })
}

/// An unreadable queued event on stderr, named by file and offset when it is corrupt.
fn report_unreadable(seq: u64, e: ReadError) {
    match e {
        ReadError::Corrupt {
            path,
            offset,
            detail,
        } => eprintln!(
            "{}:{offset}: queued event seq {seq}: {detail}",
            path.display()
        ),
        other => eprintln!("queued event seq {seq}: {other}"),
    }
}
