//! The `spooldir` task: drives the [`Spooler`] on the blocking pool and puts its batches.
//!
//! Order of effects for every batch: read (position not moved) → put and commit into every
//! required channel (retried with a backoff doubling from 250 ms up to `maxBackoff`) → save
//! the position durably (retried with a capped backoff on failure, e.g. a full disk; the next
//! batch is not read before it succeeded). A file is completed only after its last commit.
//! A kill at any moment therefore re-sends at most the batch whose position was not saved.
//! A batch a channel can never take (an event larger than the file channel's record limit,
//! e.g. a BLOB over 64 MiB) is not retried: its file is set aside as other per-file errors
//! are, and the files behind it go on. Before it reads, the source waits while its channels'
//! takers lag by more than their event cache holds (`source::pace`).

use std::sync::Arc;
use std::time::Duration;

use super::config::SpoolDirConfig;
use super::spooler::{SpoolError, Spooler, Step};
use crate::agent::backoff::Backoff;
use crate::agent::metrics::SourceCounter;
use crate::agent::source::pace::pace;
use crate::agent::source::{Put, SourceCtx, SourceError, SourceErrorKind};
use sluice_core::Event;

/// First wait after the channel refused a batch (Flume's 250 ms).
pub(crate) const BACKOFF_START: Duration = Duration::from_millis(250);
/// Longest wait between retries of a failed tracker write or rename.
pub(crate) const STATE_RETRY_MAX: Duration = Duration::from_secs(10);

/// Runs the spool directory source until stopped.
pub(crate) async fn run(cfg: SpoolDirConfig, mut ctx: SourceCtx) -> Result<(), SourceError> {
    let cfg = Arc::new(cfg);
    let spooler =
        Spooler::new(cfg.clone()).map_err(|e| ctx.fail(SourceErrorKind::Disk, e.to_string()))?;
    let mut spooler = Some(spooler);
    let mut idle_wait = cfg.poll_delay;
    loop {
        if ctx.stop.is_set() || pace(&ctx).await {
            return Ok(());
        }
        let step = blocking(&mut spooler, &ctx, |s| s.next_step()).await?;
        match step {
            Ok(Step::Idle) => {
                idle_wait = cfg.poll_delay;
                if ctx.stop.sleep(cfg.poll_delay).await {
                    return Ok(());
                }
            }
            Ok(Step::Events { events, pos }) => {
                match put(&cfg, &mut ctx, events).await {
                    Put::Committed => {}
                    Put::Stopped => return Ok(()),
                    Put::NeverFits(why) => {
                        ctx.counters.add(SourceCounter::GenericProcessingFail, 1);
                        blocking(&mut spooler, &ctx, move |s| s.set_aside_current(&why)).await?;
                        continue;
                    }
                }
                if !retry_state(&mut spooler, &mut ctx, move |s| s.committed(pos)).await? {
                    return Ok(());
                }
            }
            Ok(Step::Done) => {
                if !retry_state(&mut spooler, &mut ctx, |s| s.complete()).await? {
                    return Ok(());
                }
            }
            Err(e) => {
                // An unreadable spool directory: say so, keep trying with a capped backoff.
                ctx.counters.add(SourceCounter::GenericProcessingFail, 1);
                tracing::error!(source = %ctx.name, error = %e, retry_ms = idle_wait.as_millis() as u64, "spooldir cannot proceed");
                if ctx.stop.sleep(idle_wait).await {
                    return Ok(());
                }
                idle_wait = (idle_wait * 2).min(STATE_RETRY_MAX.max(cfg.poll_delay));
            }
        }
    }
}

/// Runs `f` on the spooler on the blocking pool.
async fn blocking<T: Send + 'static>(
    slot: &mut Option<Spooler>,
    ctx: &SourceCtx,
    f: impl FnOnce(&mut Spooler) -> T + Send + 'static,
) -> Result<T, SourceError> {
    let mut s = slot
        .take()
        .ok_or_else(|| ctx.fail(SourceErrorKind::Internal, "spooler lost after a panic"))?;
    let (s, out) = tokio::task::spawn_blocking(move || {
        let out = f(&mut s);
        (s, out)
    })
    .await
    .map_err(|e| {
        ctx.fail(
            SourceErrorKind::Internal,
            format!("spooler task failed: {e}"),
        )
    })?;
    *slot = Some(s);
    Ok(out)
}

/// Retries a state change (position save, completion) until it succeeds or the source stops.
/// Returns whether it succeeded.
async fn retry_state(
    slot: &mut Option<Spooler>,
    ctx: &mut SourceCtx,
    f: impl Fn(&mut Spooler) -> Result<(), SpoolError> + Send + Sync + Clone + 'static,
) -> Result<bool, SourceError> {
    let mut wait = Duration::from_millis(100);
    loop {
        let g = f.clone();
        match blocking(slot, ctx, move |s| g(s)).await? {
            Ok(()) => return Ok(true),
            Err(e) => {
                ctx.counters.add(SourceCounter::GenericProcessingFail, 1);
                tracing::error!(source = %ctx.name, error = %e, retry_ms = wait.as_millis() as u64, "spooldir state not saved; retrying (nothing is read before it is)");
                if ctx.stop.sleep(wait).await {
                    return Ok(false);
                }
                wait = (wait * 2).min(STATE_RETRY_MAX);
            }
        }
    }
}

/// Puts a batch, retrying with Flume's spooldir backoff (250 ms doubling up to
/// `maxBackoff`) until committed or stopped; a batch a channel can never take is not retried.
async fn put(cfg: &SpoolDirConfig, ctx: &mut SourceCtx, events: Vec<Event>) -> Put {
    let backoff = Backoff::doubling(BACKOFF_START, cfg.max_backoff).first_uncapped();
    match ctx.put_until(events, backoff, true).await {
        Put::NeverFits(why) => Put::NeverFits(format!(
            "{why} (deserializer.maxBlobLength or maxLineLength larger than the channel stores in one event)"
        )),
        other => other,
    }
}
