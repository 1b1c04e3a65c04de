//! The TAILDIR task: drives the [`Tailer`] on the blocking pool, puts its batches and keeps
//! the position file in step with the channel.
//!
//! For every batch: read (positions not moved) → put and commit into every required channel
//! (retried with Flume's backoff) → move the file's position → replace the position file
//! (tmp + rename), the last two in the same trip to the blocking pool as the next read. When
//! the channels take a put on the calling thread (the router hands out a blocking put,
//! `ChannelProcessor::blocking`: one file channel), the first attempt of that put is made in
//! the same trip too, so a batch costs one trip to the blocking pool, not two; a refused batch
//! is retried from the task.
//! There the trip also reads up to [`GROUP_BATCHES_MAX`] batches that are already there and
//! commits them as one group (each its own transaction, one fdatasync for all; a prefix
//! commits, its positions move, the rest is retried in order). The
//! replacement is fsynced (tmp fsync, rename, directory fsync) at least
//! every `writePosInterval`, when the source has found nothing to read for
//! [`tail::IDLE_SETTLED`] (a trickle of lines, idle between every two batches, costs no fsync
//! per batch) and when it stops, and only then are
//! the files' fingerprints saved beside it, just before it. So a killed agent
//! re-sends at most the one batch that was being put; a power loss at most what was
//! committed since the last fsynced position file. When every channel of the source drops a
//! put it committed before (the file channel's `eventIds`, the ids being the file's origin
//! and byte offsets), the replacements between the durable ones come at most every
//! [`PLAIN_WRITE_INTERVAL`]: a killed agent re-reads up to that much, and the channels
//! drop all of it (a rename per batch was 11 % of the agent's CPU in W2). A file new since the
//! last saved fingerprints gets its fingerprint saved (not fsynced) with its first batch's
//! position, so a kill does not give it a fresh origin. Idle, the source waits for a change
//! event or a backoff growing by `backoffSleepIncrement` up to `maxBackoffSleep`, and scans
//! the directories at least that often. Before a trip, the source waits while its channels'
//! takers lag by more than their event cache holds (`source::pace`), its committed positions
//! saved first. While idle it also looks every half second whether a followed file left its
//! name (`idle.rs`), so a rotation is noticed at once even without change events.
//!
//! Here: the task's loop and its idle wait; `trip.rs` one trip to the blocking pool,
//! `retry.rs` a refused batch retried, `tail.rs` the tailer with its position-file writer.

mod counts;
mod idle;
mod retry;
mod tail;
mod trip;

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::TaildirConfig;
use super::tailer::Batch;
use super::watch::DirWatch;
use crate::agent::source::pace::{held_back, pace};
use crate::agent::source::{SourceCtx, SourceError};

use idle::{idle_wait, Woken};
use retry::{put, Put};
use tail::{blocking, open_tail};
use trip::{read_batch, Trip};

/// Longest time between two scans while data flows (new files, rotations).
pub(crate) const BUSY_SCAN_INTERVAL: Duration = Duration::from_secs(1);

/// Least time between two position-file replacements that are not fsynced, when every
/// channel drops resends ([`SourceChannels::drops_resends`]); otherwise every batch's.
///
/// [`SourceChannels::drops_resends`]: crate::agent::router::SourceChannels::drops_resends
pub(crate) const PLAIN_WRITE_INTERVAL: Duration = Duration::from_secs(1);

/// Batches a trip reads while more are already there and puts as one group commit (each
/// batch its own transaction of at most `batchSize`; one fdatasync for all on a file
/// channel): with Flume's `batchSize` 100, a file being caught up commits 800 lines per
/// fdatasync, and a file that has less waiting commits what it has at once. 8, not 4: fewer
/// fdatasyncs on a disk W2's two agents share (16 no faster, and the edge's peak 1-2 MiB
/// higher, at the 48 MiB mark).
pub(crate) const GROUP_BATCHES_MAX: usize = 8;

/// Shortest idle wait while multiline events may be held (so a short `multiline.timeout`
/// does not make the source spin).
pub(crate) const MULTILINE_WAKE_MIN: Duration = Duration::from_millis(10);

/// Runs the TAILDIR source until stopped.
pub(crate) async fn run(cfg: TaildirConfig, mut ctx: SourceCtx) -> Result<(), SourceError> {
    let cfg = Arc::new(cfg);
    let mut slot = Some(open_tail(&cfg, &ctx).await?);
    let mut watch = DirWatch::new(&ctx.name, cfg.watch_changes);
    let mut backoff = Duration::ZERO;
    let mut last_scan: Option<Instant> = None;
    let mut laid_generation = 0;
    // The batches the channel committed whose positions are not moved yet (file, end; in
    // order): moved (and the position file written) in the same blocking call that reads the
    // next batches, one trip to the blocking pool per group besides the put.
    let mut committed: Vec<(u64, u64)> = Vec::new();
    'tail: loop {
        if ctx.stop.is_set() {
            break;
        }
        if held_back(&ctx) {
            // The committed positions are saved before the wait, not after it.
            save_committed(&mut slot, &ctx, &cfg, std::mem::take(&mut committed)).await?;
            if pace(&ctx).await {
                break;
            }
        }
        let (paths, scan) = changes(
            &cfg,
            &mut watch,
            backoff,
            &mut last_scan,
            &mut laid_generation,
        );
        let done = std::mem::take(&mut committed);
        match read_batch(&mut slot, &ctx, &cfg, done, paths, scan).await? {
            Trip::Put { done, retry } => {
                backoff = Duration::ZERO;
                committed = done;
                // Refused on the blocking thread (counted there): retried in order, with
                // backoff; a file closed meanwhile by a deleted-file limit loses the rest of
                // its batches (never committed, their bytes counted as skipped).
                let mut closed = None;
                for Batch { inode, events, end } in retry {
                    if closed == Some(inode) {
                        continue;
                    }
                    match put(&mut slot, &mut ctx, events, inode, true, &mut committed).await? {
                        Put::Committed => committed.push((inode, end)),
                        Put::Stopped => break 'tail,
                        Put::Dropped => closed = Some(inode),
                    }
                }
            }
            Trip::Read(Batch { inode, events, end }, counted) => {
                backoff = Duration::ZERO;
                match put(&mut slot, &mut ctx, events, inode, counted, &mut committed).await? {
                    Put::Committed => committed.push((inode, end)),
                    Put::Stopped => break,
                    // Its file was closed by a deleted-file limit: the batch was never
                    // committed and its bytes are counted as skipped.
                    Put::Dropped => continue,
                }
            }
            Trip::Idle => {
                backoff = idle_backoff(&cfg, backoff);
                match idle_wait(&mut slot, &ctx, &watch, backoff).await? {
                    Woken::Stop => break,
                    Woken::Changed => {}
                    // A rotation: scan now, and read on without a backoff.
                    Woken::Rotated => {
                        last_scan = None;
                        backoff = Duration::ZERO;
                    }
                }
            }
        }
    }
    let c = cfg.clone();
    blocking(&mut slot, &ctx, move |s| {
        s.commit_and_save(committed, true, &c)
    })
    .await?;
    Ok(())
}

/// Moves the positions of the batches committed last and writes the position file (as a
/// trip does before it reads).
async fn save_committed(
    slot: &mut Option<tail::Tail>,
    ctx: &SourceCtx,
    cfg: &Arc<TaildirConfig>,
    done: Vec<(u64, u64)>,
) -> Result<(), SourceError> {
    if done.is_empty() {
        return Ok(());
    }
    let c = cfg.clone();
    blocking(slot, ctx, move |s| s.commit_and_save(done, false, &c)).await
}

/// The paths the directory watch saw change, and whether this round scans the directories:
/// on a watch's request, or once the scan interval (short while data flows, `maxBackoffSleep`
/// when idle and watched, every round when unwatched) passed since the last scan.
fn changes(
    cfg: &TaildirConfig,
    watch: &mut DirWatch,
    backoff: Duration,
    last_scan: &mut Option<Instant>,
    laid_generation: &mut u64,
) -> (Vec<std::path::PathBuf>, bool) {
    match &cfg.layout {
        // A layout's directories come and go: watched as they are now, only when they changed.
        Some(l) => {
            if let Some(dirs) = l.0.watched_since(laid_generation) {
                watch.watch_only(&dirs);
            }
        }
        None => watch.watch(
            &cfg.filegroups
                .iter()
                .map(|g| g.dir.clone())
                .collect::<Vec<_>>(),
        ),
    }
    let changes = watch.take();
    let interval = if backoff.is_zero() {
        BUSY_SCAN_INTERVAL
    } else if watch.active() {
        cfg.max_backoff_sleep
    } else {
        Duration::ZERO
    };
    let scan = changes.scan || last_scan.is_none_or(|t| t.elapsed() >= interval);
    if scan {
        *last_scan = Some(Instant::now());
    }
    (changes.paths, scan)
}

/// The idle wait after `backoff`: `backoffSleepIncrement` more, up to `maxBackoffSleep`; with
/// multiline on, at most half its time-out (a held event is handed out within about it).
fn idle_backoff(cfg: &TaildirConfig, backoff: Duration) -> Duration {
    let backoff = (backoff + cfg.backoff_sleep_increment).min(cfg.max_backoff_sleep);
    match &cfg.multiline {
        Some(m) => backoff.min(m.timeout / 2).max(MULTILINE_WAKE_MIN),
        None => backoff,
    }
}
