//! The crashtest's child: `sluice crashtest-worker` (hidden). Opens the channel (recovering
//! it), then runs producers and one taker until it is killed, reporting on stdout:
//!
//! - `ready <recovery-ms> <queued>` once the channel is open;
//! - `ack <producer> <count>` after a put commit returned: events `0..count` are acknowledged;
//! - `cursor <n>` right after: the taker's lines `took` that committed takes account for, from
//!   the channel's cursor (the parent's `--exactly-once` cuts its books back to them);
//! - `took <body>` for each event taken, written and flushed before its take commits (which
//!   carries the cursor: every `took` line so far).
//!
//! A line is written whole under the stdout lock, so a kill can cut at most the last line,
//! which the parent ignores.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use sluice_core::{ChannelError, Event, FileChannel};

use super::{channel_config, event_body, Rng};

/// Arguments of the hidden `sluice crashtest-worker`.
#[derive(clap::Args, Debug)]
pub struct WorkerArgs {
    /// Checkpoint directory.
    #[arg(long)]
    pub checkpoint_dir: PathBuf,
    /// Comma-separated data directories.
    #[arg(long, value_delimiter = ',', required = true)]
    pub data_dirs: Vec<PathBuf>,
    /// Producers to run; their ids are `id_base..id_base + producers`.
    #[arg(long, default_value_t = 2)]
    pub producers: u64,
    /// First producer id.
    #[arg(long, default_value_t = 0)]
    pub id_base: u64,
    /// Seed of batch sizes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// `directIo` of the channel.
    #[arg(long, default_value = "auto", value_parser = super::parse_direct_io)]
    pub direct_io: sluice_core::DirectIo,
    /// `encryption.*` keys of the channel (as `crashtest --set`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

fn say(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

fn producer(ch: FileChannel, id: u64, seed: u64) -> anyhow::Result<()> {
    let mut rng = Rng::new(seed ^ id.wrapping_mul(0x2545_F491_4F6C_DD1D));
    let mut next = 0u64;
    loop {
        let n = 1 + rng.below(20);
        let mut tx = ch.transaction();
        let mut full = false;
        for seq in next..next + n {
            match tx.put(Event::new(event_body(id, seq))) {
                Ok(()) => {}
                Err(e) if e.is_backpressure() => {
                    full = true;
                    break;
                }
                Err(e) => return Err(e).context("put"),
            }
        }
        if full {
            tx.rollback();
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        match tx.commit() {
            Ok(()) => {
                next += n;
                say(&format!("ack {id} {next}"))?;
            }
            Err(e @ ChannelError::DiskFull(_)) => {
                tracing::warn!("{e}");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e).context("commit of puts"),
        }
    }
}

/// The cursor key of the worker's taker.
pub const TAKER_CURSOR: &str = "crashtest-taker";

/// `took` lines the committed takes account for, as the channel's cursor says.
pub(super) fn committed_lines(ch: &FileChannel) -> u64 {
    ch.cursor(TAKER_CURSOR)
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn taker(ch: FileChannel, seed: u64, mut lines_out: u64) -> anyhow::Result<()> {
    let mut rng = Rng::new(seed ^ 0x7A4E);
    loop {
        let want = 1 + rng.below(50);
        let mut tx = ch.transaction();
        let mut lines = Vec::new();
        for _ in 0..want {
            match tx.take().context("take")? {
                Some(e) => {
                    lines.extend_from_slice(b"took ");
                    lines.extend_from_slice(&e.body);
                    lines.push(b'\n');
                }
                None => break,
            }
        }
        if lines.is_empty() {
            tx.rollback();
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        lines_out += tx.take_count() as u64;
        tx.set_cursor(TAKER_CURSOR, lines_out.to_string().into_bytes())
            .context("cursor")?;
        {
            let mut out = std::io::stdout().lock();
            out.write_all(&lines)?;
            out.flush()?;
        }
        tx.commit().context("commit of takes")?;
    }
}

/// Runs the worker until killed (or until a thread fails, which exits non-zero).
pub fn run_worker(args: WorkerArgs) -> anyhow::Result<i32> {
    crate::cli::logging::init("error");
    let mut config = channel_config(&args.checkpoint_dir, &args.data_dirs, args.direct_io);
    config.encryption = super::encryption_of(&args.set)?.map(Box::new);
    let started = Instant::now();
    let ch = FileChannel::open(config).context("cannot open the channel")?;
    let queued = ch.stats().queued;
    say(&format!(
        "ready {:.3} {queued}",
        started.elapsed().as_secs_f64() * 1000.0
    ))?;
    let lines_out = committed_lines(&ch);
    say(&format!("cursor {lines_out}"))?;
    let mut threads = Vec::new();
    for i in 0..args.producers {
        let c = ch.clone();
        let (id, seed) = (args.id_base + i, args.seed);
        threads.push(std::thread::spawn(move || producer(c, id, seed)));
    }
    let c = ch.clone();
    let seed = args.seed;
    threads.push(std::thread::spawn(move || taker(c, seed, lines_out)));
    for t in threads {
        match t.join() {
            Ok(r) => r?,
            Err(_) => anyhow::bail!("a worker thread panicked"),
        }
    }
    Ok(0)
}
