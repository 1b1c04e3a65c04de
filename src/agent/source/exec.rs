//! The `exec` source: runs `command` (through `shell` when given, e.g. `/bin/sh -c`) and turns
//! each line of its standard output into an event. Lines are batched up to `batchSize` or
//! `batchTimeout`, whichever comes first; a batch that is not accepted is retried. With
//! `restart` the command is started again `restartThrottle` after it exits. `tail -F` works:
//! the child is killed when the source stops.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::{SourceCtx, SourceError};
use crate::agent::config::types::ExecConfig;
use sluice_core::Event;

/// Runs the command (again and again with `restart`) until stopped.
pub async fn run(cfg: ExecConfig, mut ctx: SourceCtx) -> Result<(), SourceError> {
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

async fn run_once(cfg: &ExecConfig, ctx: &mut SourceCtx) -> Result<Option<i32>, SourceError> {
    let mut cmd = command(cfg).ok_or_else(|| ctx.error("empty command"))?;
    let mut child = cmd
        .spawn()
        .map_err(|e| ctx.error(format!("cannot start {:?}: {e}", cfg.command)))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| ctx.error("no stdout pipe"))?;
    if let Some(err) = child.stderr.take() {
        let name = ctx.name.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(err).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                tracing::info!(source = %name, "stderr: {l}");
            }
        });
    }
    let mut lines = BufReader::new(stdout).split(b'\n');
    let mut batch: Vec<Event> = Vec::new();
    let mut stop = ctx.stop.clone();
    let mut deadline = tokio::time::Instant::now() + cfg.batch_timeout;
    loop {
        let next = tokio::select! {
            _ = stop.wait() => break,
            _ = tokio::time::sleep_until(deadline), if !batch.is_empty() => None,
            l = lines.next_segment() => match l {
                Ok(Some(line)) => Some(line),
                Ok(None) | Err(_) => break,
            },
        };
        match next {
            Some(mut line) => {
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if batch.is_empty() {
                    deadline = tokio::time::Instant::now() + cfg.batch_timeout;
                }
                batch.push(Event::new(line));
                if batch.len() >= cfg.batch_size {
                    ctx.put_with_retry(std::mem::take(&mut batch)).await;
                }
            }
            None => {
                ctx.put_with_retry(std::mem::take(&mut batch)).await;
            }
        }
    }
    if !batch.is_empty() {
        ctx.put_with_retry(batch).await;
    }
    if ctx.stop.is_set() {
        let _ = child.kill().await;
        return Ok(None);
    }
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
    Ok(match status {
        Ok(Ok(s)) => s.code(),
        _ => None,
    })
}
