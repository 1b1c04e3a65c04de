//! A batch put from the TAILDIR task, retried with Flume's backoff until the channels take it,
//! the source stops, or a deleted-file limit closes its file meanwhile. The deleted-file
//! limits (`spoolBytes` among them) are applied every [`LIMITS_CHECK_INTERVAL`], both while a
//! refused batch waits for its retry and while a put waits for the channel's room (a full
//! channel holds a put for its `keepAlive`, 3 s by default): a file deleted while the channel
//! refuses is given up (and counted) within that interval once the spool would pass
//! `spoolBytes`. While a put holds a batch its own file is spared (the put may still commit
//! it); the other files held deleted are closed first.

use std::time::{Duration, Instant};

use super::counts::{accepted, received};
use super::tail::{blocking, Tail};
use crate::agent::backoff::Backoff;
use crate::agent::metrics::SourceCounter;
#[cfg(doc)]
use crate::agent::source::taildir::tailer::Tailer;
use crate::agent::source::{SourceCtx, SourceError, BACKOFF_MAX, BACKOFF_STEP};

/// How often the deleted-file limits are applied while a refused batch waits for its retry
/// (a `fstat` of each file held deleted, on the blocking pool).
pub(super) const LIMITS_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// How the put of a batch ended.
pub(super) enum Put {
    Committed,
    Stopped,
    /// Its file was closed by `closeDeletedAfter`/`maxDeletedOpenBytes` meanwhile.
    Dropped,
}

/// Puts a batch from `inode` as [`SourceCtx::put_with_retry`] does (Flume's backoff; the batch
/// is moved into each attempt and handed back when refused), and between the retries applies
/// the deleted-file limits: a full channel is exactly when a deleted file would be held open.
/// `refused`: the batch was offered once on the blocking thread and refused (counted there),
/// so the first attempt here comes after a backoff.
pub(super) async fn put(
    slot: &mut Option<Tail>,
    ctx: &mut SourceCtx,
    events: Vec<sluice_core::Event>,
    inode: u64,
    refused: bool,
    done: &mut Vec<(u64, u64)>,
) -> Result<Put, SourceError> {
    let n = events.len() as u64;
    let mut backoff = Backoff::linear(BACKOFF_STEP, BACKOFF_MAX);
    if refused {
        if let Some(p) = wait_to_retry(slot, ctx, &mut backoff, inode, done).await? {
            return Ok(p);
        }
    } else {
        received(&ctx.counters, &ctx.name, &events);
    }
    let mut batch = events;
    loop {
        let rejected = match put_watching_limits(slot, ctx, batch, inode, done).await? {
            Ok(()) => {
                accepted(&ctx.counters, n);
                return Ok(Put::Committed);
            }
            Err(r) => r,
        };
        ctx.counters.add(SourceCounter::ChannelWriteFail, 1);
        if rejected.lost() {
            tracing::error!(source = %ctx.name, error = %rejected.error, "a refused batch was lost with its blocking task; giving up on it");
            return Ok(Put::Stopped);
        }
        batch = rejected.events;
        tracing::warn!(source = %ctx.name, error = %rejected.error, "batch not accepted; retrying");
        if let Some(p) = wait_to_retry(slot, ctx, &mut backoff, inode, done).await? {
            return Ok(p);
        }
    }
}

/// The wait after a refused put: the next backoff, then the committed positions in `done`
/// moved, a scan that keeps new and rotated
/// files ([`Tailer::scan_while_refused`]) and the deleted-file limits; `Some` when
/// the batch is not to be retried (stopped, or its file closed meanwhile).
async fn wait_to_retry(
    slot: &mut Option<Tail>,
    ctx: &mut SourceCtx,
    backoff: &mut Backoff,
    inode: u64,
    done: &mut Vec<(u64, u64)>,
) -> Result<Option<Put>, SourceError> {
    let wait = backoff.failed();
    tracing::debug!(source = %ctx.name, backoff_ms = wait.as_millis() as u64, "waiting to retry a batch");
    let until = Instant::now() + wait;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if ctx.stop.sleep(left.min(LIMITS_CHECK_INTERVAL)).await {
            return Ok(Some(Put::Stopped));
        }
        if left <= LIMITS_CHECK_INTERVAL {
            break;
        }
        if keep_and_limit(slot, ctx, done, Limits::Only)
            .await?
            .contains(&inode)
        {
            return Ok(Some(Put::Dropped));
        }
    }
    // Following goes on while the channel refuses: new and rotated files are found and kept
    // (spooled or held open), none is read ahead of this batch.
    let closed = keep_and_limit(slot, ctx, done, Limits::AndScan).await?;
    Ok(closed.contains(&inode).then_some(Put::Dropped))
}

/// What a check between or during puts does besides moving the committed positions.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum Limits {
    /// Applies the deleted-file limits to every file.
    Only,
    /// Also scans ([`Tailer::scan_while_refused`]) and writes the position file.
    AndScan,
    /// While a put holds batches of these files: scans, and applies the limits sparing them.
    Sparing(Vec<u64>),
}

/// One put of `batch`, applying the deleted-file limits every [`LIMITS_CHECK_INTERVAL`] while
/// the channel holds it (sparing `inode`, whose batch the put holds).
async fn put_watching_limits(
    slot: &mut Option<Tail>,
    ctx: &SourceCtx,
    batch: Vec<sluice_core::Event>,
    inode: u64,
    done: &mut Vec<(u64, u64)>,
) -> Result<Result<(), crate::agent::router::Rejected>, SourceError> {
    let put = ctx.router.put(batch);
    tokio::pin!(put);
    loop {
        tokio::select! {
            out = &mut put => return Ok(out),
            () = tokio::time::sleep(LIMITS_CHECK_INTERVAL) => {
                keep_and_limit(slot, ctx, done, Limits::Sparing(vec![inode])).await?;
            }
        }
    }
}

/// Moves the positions committed in `done` first (so a file given up counts only what was
/// never committed), then scans or not and applies the deleted-file limits as `what` says;
/// returns the files closed (a batch of theirs is not to be retried). The positions
/// are written after a scan (durably every `writePosInterval`, with the loss state and the
/// sizes of the files found meanwhile: a file deleted while the agent is down is counted at
/// its start) and after any file was closed.
pub(super) async fn keep_and_limit(
    slot: &mut Option<Tail>,
    ctx: &SourceCtx,
    done: &mut Vec<(u64, u64)>,
    what: Limits,
) -> Result<Vec<u64>, SourceError> {
    let done = std::mem::take(done);
    blocking(slot, ctx, move |s| {
        for (i, end) in done {
            s.tailer.commit(i, end);
        }
        let scan = what != Limits::Only;
        if scan {
            s.tailer.scan_while_refused();
        }
        let spare = match &what {
            Limits::Sparing(files) => files.as_slice(),
            _ => &[],
        };
        let closed = s.tailer.close_deleted(Instant::now(), true, spare);
        if scan || !closed.is_empty() {
            let cfg = s.tailer.cfg.clone();
            s.save(false, &cfg);
        }
        closed
    })
    .await
}
