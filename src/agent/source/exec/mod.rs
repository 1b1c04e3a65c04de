//! The `exec` source: runs `command` (through `shell` when given, e.g. `/bin/sh -c`) and turns
//! each line of its standard output into an event. Lines are batched up to `batchSize` or
//! `batchTimeout`, whichever comes first; a batch that is not accepted is retried. With
//! `restart` the command is started again `restartThrottle` after it exits. `tail -F` works:
//! the child is killed when the source stops.
//!
//! The child's output is read [`READ_BYTES`] at a time and split with
//! [`LineSplitter`] (one allocation per line: its body); a line longer than
//! [`LINE_BYTES_MAX`] is dropped with a warning. Full batches are put by [`Putter`] on a task
//! of their own, in order and one at a time, so the next batch is read while the previous
//! one commits (the channel's fsync). The batch timer is one `Sleep` reset per batch.

pub(crate) mod config;

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;
use tokio::task::JoinHandle;

use super::{SourceCtx, SourceError, SourceErrorKind};
use crate::wire::lines::{LineSplitter, Piece};
pub(crate) use config::ExecConfig;
use sluice_core::Event;

/// Bytes asked of the child's standard output per read (a Linux pipe holds 64 KiB).
pub(crate) const READ_BYTES: usize = 64 * 1024;
/// Longest line accepted, newline included. Flume's exec source has no limit; without one a
/// child that never writes a newline would fill the agent's memory.
pub(crate) const LINE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Most events whose room a new batch reserves up front (a larger `batchSize` grows).
const BATCH_RESERVE_MAX: usize = 4096;
/// How long a stopped child is waited for after its output ended.
const EXIT_WAIT: Duration = Duration::from_secs(5);

/// Runs the command (again and again with `restart`) until stopped.
pub(crate) async fn run(cfg: ExecConfig, mut ctx: SourceCtx) -> Result<(), SourceError> {
    loop {
        let status = run_once(&cfg, &mut ctx).await?;
        if ctx.stop.is_set() {
            return Ok(());
        }
        tracing::info!(source = %ctx.name, command = %cfg.command, ?status, "command exited");
        if !cfg.restart {
            ctx.stop.wait().await;
            return Ok(());
        }
        if ctx.stop.sleep(cfg.restart_throttle).await {
            return Ok(());
        }
    }
}

fn command(cfg: &ExecConfig) -> Option<Command> {
    let argv: Vec<String> = match &cfg.shell {
        Some(shell) => {
            let mut v: Vec<String> = shell.split_whitespace().map(str::to_owned).collect();
            v.push(cfg.command.clone());
            v
        }
        None => cfg.command.split_whitespace().map(str::to_owned).collect(),
    };
    let (prog, args) = argv.split_first()?;
    let mut c = Command::new(prog);
    c.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if cfg.log_stderr {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .kill_on_drop(true);
    Some(c)
}

/// Puts batches in order, one at a time, each on a task of its own: the caller reads the
/// next batch while the previous one is put and committed.
struct Putter {
    ctx: SourceCtx,
    running: Option<JoinHandle<()>>,
}

impl Putter {
    fn new(ctx: &SourceCtx) -> Putter {
        Putter {
            ctx: ctx.clone(),
            running: None,
        }
    }

    /// Waits for the previous batch's put, then starts putting `batch` (retried until it
    /// is committed or the source stops). Not cancel safe: a cancelled call may leave
    /// `batch` unput; the put already running carries on.
    async fn put(&mut self, batch: Vec<Event>) {
        self.finish().await;
        let mut ctx = self.ctx.clone();
        self.running = Some(tokio::spawn(async move {
            ctx.put_with_retry(batch).await;
        }));
    }

    /// Waits until the batch being put is committed (or given up on at stop).
    async fn finish(&mut self) {
        if let Some(job) = self.running.take() {
            if let Err(e) = job.await {
                tracing::warn!(source = %self.ctx.name, error = %e, "putting a batch failed");
            }
        }
    }
}

impl Drop for Putter {
    /// A source task cancelled mid-run (abort at shutdown or reload) cancels its put too, as
    /// when the put ran inside the task: no put outlives its source and races a new instance.
    fn drop(&mut self) {
        if let Some(job) = self.running.take() {
            job.abort();
        }
    }
}

/// A new, empty batch with room reserved.
fn new_batch(batch_size: usize) -> Vec<Event> {
    Vec::with_capacity(batch_size.clamp(1, BATCH_RESERVE_MAX))
}

async fn run_once(cfg: &ExecConfig, ctx: &mut SourceCtx) -> Result<Option<i32>, SourceError> {
    let mut cmd = command(cfg).ok_or_else(|| ctx.fail(SourceErrorKind::Config, "empty command"))?;
    let mut child = cmd.spawn().map_err(|e| {
        ctx.fail(
            SourceErrorKind::Disk,
            format!("cannot start {:?}: {e}", cfg.command),
        )
    })?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| ctx.fail(SourceErrorKind::Internal, "no stdout pipe"))?;
    if let Some(err) = child.stderr.take() {
        let name = ctx.name.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(err).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                tracing::info!(source = %name, "stderr: {l}");
            }
        });
    }
    let mut putter = Putter::new(ctx);
    let mut splitter = LineSplitter::new(LINE_BYTES_MAX);
    let mut chunk = vec![0u8; READ_BYTES];
    let mut batch = new_batch(cfg.batch_size);
    let mut stop = ctx.stop.clone();
    let timer = tokio::time::sleep(cfg.batch_timeout);
    tokio::pin!(timer);
    loop {
        let read = tokio::select! {
            biased;
            _ = stop.wait() => break,
            _ = &mut timer, if !batch.is_empty() => {
                let full = std::mem::replace(&mut batch, new_batch(cfg.batch_size));
                putter.put(full).await;
                continue;
            }
            r = stdout.read(&mut chunk) => r,
        };
        let n = match read {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        splitter.push(chunk.get(..n).unwrap_or_default());
        while let Some(piece) = splitter.next_piece() {
            add(piece, cfg, ctx, &mut batch, &mut putter, &mut timer).await;
        }
    }
    if !ctx.stop.is_set() {
        if let Some(piece) = splitter.finish() {
            add(piece, cfg, ctx, &mut batch, &mut putter, &mut timer).await;
        }
    }
    if !batch.is_empty() {
        putter.put(batch).await;
    }
    putter.finish().await;
    if ctx.stop.is_set() {
        let _ = child.kill().await;
        return Ok(None);
    }
    let status = tokio::time::timeout(EXIT_WAIT, child.wait()).await;
    Ok(match status {
        Ok(Ok(s)) => s.code(),
        _ => None,
    })
}

/// Adds a line to the batch (starting the batch timer for a batch's first line) and puts
/// the batch when it is full; a too-long line is logged and dropped.
async fn add(
    piece: Piece,
    cfg: &ExecConfig,
    ctx: &SourceCtx,
    batch: &mut Vec<Event>,
    putter: &mut Putter,
    timer: &mut std::pin::Pin<&mut tokio::time::Sleep>,
) {
    match piece {
        Piece::Line(line) => {
            if batch.is_empty() {
                timer
                    .as_mut()
                    .reset(tokio::time::Instant::now() + cfg.batch_timeout);
            }
            batch.push(Event::new(line));
            if batch.len() >= cfg.batch_size {
                let full = std::mem::replace(batch, new_batch(cfg.batch_size));
                putter.put(full).await;
            }
        }
        Piece::TooLong => {
            tracing::warn!(source = %ctx.name, max_bytes = LINE_BYTES_MAX, "dropped a line longer than the limit");
        }
    }
}

impl crate::agent::source::BuildSource for ExecConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn run(&self, ctx: crate::agent::source::SourceCtx) -> crate::agent::source::SourceTask {
        Box::pin(run(self.clone(), ctx))
    }
}
