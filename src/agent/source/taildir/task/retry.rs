//! A batch put from the TAILDIR task, retried with Flume's backoff until the channels take it,
//! the source stops, or a deleted-file limit closes its file meanwhile. The deleted-file
//! limits (`spoolBytes` among them) are applied every [`LIMITS_CHECK_INTERVAL`] of the wait,
//! not once per backoff: a file deleted while the channel refuses is given up (and counted)
//! within that interval once the spool would pass `spoolBytes`.

use std::time::{Duration, Instant};

use super::tail::{blocking, Tail};
use super::trip::{accepted, received};
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
        let rejected = match ctx.router.put(batch).await {
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
        if let Some(p) = apply_limits(slot, ctx, inode, done).await? {
            return Ok(Some(p));
        }
    }
    // Following goes on while the channel refuses: new and rotated files are found and kept
    // (spooled or held open), none is read ahead of this batch.
    // The positions of the batches committed before this one move first, so a file given up
    // now counts only what was never committed; then the position file is written as after
    // any trip (durably every `writePosInterval`, with the loss state and the sizes of the
    // files found meanwhile: a file deleted while the agent is down is counted at its start).
    let done = std::mem::take(done);
    let closed = blocking(slot, ctx, move |s| {
        for (i, end) in done {
            s.tailer.commit(i, end);
        }
        s.tailer.scan_while_refused();
        let closed = s.tailer.close_deleted(Instant::now(), true);
        let cfg = s.tailer.cfg.clone();
        s.save(false, &cfg);
        closed
    })
    .await?;
    Ok(closed.contains(&inode).then_some(Put::Dropped))
}

/// Applies the deleted-file limits during the wait (the positions committed in `done` moved
/// first, so a file given up counts only what was never committed); `Some` when the refused
/// batch's own file was closed.
async fn apply_limits(
    slot: &mut Option<Tail>,
    ctx: &mut SourceCtx,
    inode: u64,
    done: &mut Vec<(u64, u64)>,
) -> Result<Option<Put>, SourceError> {
    let done = std::mem::take(done);
    let closed = blocking(slot, ctx, move |s| {
        for (i, end) in done {
            s.tailer.commit(i, end);
        }
        let closed = s.tailer.close_deleted(Instant::now(), true);
        if !closed.is_empty() {
            let cfg = s.tailer.cfg.clone();
            s.save(false, &cfg);
        }
        closed
    })
    .await?;
    Ok(closed.contains(&inode).then_some(Put::Dropped))
}
