//! The TAILDIR task: drives the [`Tailer`] on the blocking pool, puts its batches and keeps
//! the position file in step with the channel.
//!
//! For every batch: read (positions not moved) → put and commit into every required channel
//! (retried with Flume's backoff) → move the file's position → replace the position file
//! (tmp + rename), the last two in the same trip to the blocking pool as the next read. When
//! the channels take a put on the calling thread (`ChannelProcessor::puts_blocking`: one
//! file channel), the first attempt of that put is made in the same trip too, so a batch
//! costs one trip to the blocking pool, not two; a refused batch is retried from the task.
//! There the trip also reads up to [`GROUP_BATCHES_MAX`] batches that are already there and
//! commits them as one group (each its own transaction, one fdatasync for all; a prefix
//! commits, its positions move, the rest is retried in order). The
//! replacement is fsynced (tmp fsync, rename, directory fsync) at least
//! every `writePosInterval`, when the source goes idle and when it stops, and only then are
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
//! the directories at least that often.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::TaildirConfig;
use super::fingerprint;
use super::position;
use super::tailer::{Batch, Tailer};
use super::watch::DirWatch;
use crate::agent::atomic_file;
use crate::agent::backoff::Backoff;
use crate::agent::metrics::{CounterGroup, SourceCounter};
use crate::agent::source::{SourceCtx, SourceError, SourceErrorKind, BACKOFF_MAX, BACKOFF_STEP};

/// Longest time between two scans while data flows (new files, rotations).
pub(crate) const BUSY_SCAN_INTERVAL: Duration = Duration::from_secs(1);

/// Least time between two position-file replacements that are not fsynced, when every
/// channel drops resends ([`ChannelProcessor::drops_resends`]); otherwise every batch's.
///
/// [`ChannelProcessor::drops_resends`]: crate::agent::router::ChannelProcessor::drops_resends
pub(crate) const PLAIN_WRITE_INTERVAL: Duration = Duration::from_secs(1);

/// Batches a trip reads while more are already there and puts as one group commit (each
/// batch its own transaction of at most `batchSize`; one fdatasync for all on a file
/// channel): with Flume's `batchSize` 100, a file being caught up commits 400 lines per
/// fdatasync, and a file that has less waiting commits what it has at once.
pub(crate) const GROUP_BATCHES_MAX: usize = 4;

/// Shortest idle wait while multiline events may be held (so a short `multiline.timeout`
/// does not make the source spin).
pub(crate) const MULTILINE_WAKE_MIN: Duration = Duration::from_millis(10);

/// Runs the TAILDIR source until stopped.
pub(crate) async fn run(cfg: TaildirConfig, mut ctx: SourceCtx) -> Result<(), SourceError> {
    let cfg = Arc::new(cfg);
    let mut slot = Some(open_tail(&cfg, &ctx).await?);
    let mut watch = DirWatch::new(&ctx.name);
    let mut backoff = Duration::ZERO;
    let mut last_scan: Option<Instant> = None;
    // The batches the channel committed whose positions are not moved yet (file, end; in
    // order): moved (and the position file written) in the same blocking call that reads the
    // next batches, one trip to the blocking pool per group besides the put.
    let mut committed: Vec<(u64, u64)> = Vec::new();
    'tail: loop {
        if ctx.stop.is_set() {
            break;
        }
        let (paths, scan) = changes(&cfg, &mut watch, backoff, &mut last_scan);
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
                    match put(&mut slot, &mut ctx, events, inode, true).await? {
                        Put::Committed => committed.push((inode, end)),
                        Put::Stopped => break 'tail,
                        Put::Dropped => closed = Some(inode),
                    }
                }
            }
            Trip::Read(Batch { inode, events, end }, counted) => {
                backoff = Duration::ZERO;
                match put(&mut slot, &mut ctx, events, inode, counted).await? {
                    Put::Committed => committed.push((inode, end)),
                    Put::Stopped => break,
                    // Its file was closed by a deleted-file limit: the batch was never
                    // committed and its bytes are counted as skipped.
                    Put::Dropped => continue,
                }
            }
            Trip::Idle => {
                backoff = idle_backoff(&cfg, backoff);
                let mut stop = ctx.stop.clone();
                tokio::select! {
                    _ = stop.wait() => break,
                    _ = watch.changed() => {}
                    _ = tokio::time::sleep(backoff) => {}
                }
            }
        }
    }
    let c = cfg.clone();
    blocking(&mut slot, &ctx, move |s| {
        for (inode, end) in committed {
            s.tailer.commit(inode, end);
        }
        s.save(true, &c);
    })
    .await?;
    Ok(())
}

/// The tailer restored from the position file (positions, fingerprints, origins) with its
/// writer; the source's gauges (deleted files held open, multiline events held) registered.
async fn open_tail(cfg: &Arc<TaildirConfig>, ctx: &SourceCtx) -> Result<Tail, SourceError> {
    let pos_file = cfg.position_file.clone();
    let p = pos_file.clone();
    let (saved, (fingerprints, origins)) = tokio::task::spawn_blocking(move || {
        if let Some(dir) = p.parent() {
            if let Err(e) = std::fs::create_dir_all(dir) {
                tracing::error!(dir = %dir.display(), error = %e, "cannot create the position file's directory");
            }
        }
        (
            position::load(&p),
            (fingerprint::load(&p), super::origins::Origins::load(&p)),
        )
    })
    .await
    .map_err(|e| ctx.fail(SourceErrorKind::Internal, e.to_string()))?;
    let mut tailer = Tailer::new(cfg.clone(), saved)
        .map_err(|e| ctx.fail(SourceErrorKind::Disk, e.to_string()))?;
    tailer.restore_fingerprints(fingerprints);
    tailer.restore_origins(origins);
    let stats = tailer.deleted_stats();
    let rules = tailer.multiline_rules();
    ctx.counters.set_gauges(Box::new(move || {
        let mut g = stats.gauges();
        if let Some(r) = &rules {
            g.extend(r.held().gauges());
        }
        g
    }));
    Ok(Tail {
        tailer,
        pos: PosWriter::new(pos_file, ctx.router.drops_resends()),
    })
}

/// The paths the directory watch saw change, and whether this round scans the directories:
/// on a watch's request, or once the scan interval (short while data flows, `maxBackoffSleep`
/// when idle and watched, every round when unwatched) passed since the last scan.
fn changes(
    cfg: &TaildirConfig,
    watch: &mut DirWatch,
    backoff: Duration,
    last_scan: &mut Option<Instant>,
) -> (Vec<std::path::PathBuf>, bool) {
    watch.watch(
        &cfg.filegroups
            .iter()
            .map(|g| g.dir.clone())
            .collect::<Vec<_>>(),
    );
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

/// What one trip to the blocking pool did.
enum Trip {
    /// Nothing to read (the position file was written as idle).
    Idle,
    /// A batch read and not put; `true` when it was offered once already (refused, counted
    /// as received).
    Read(Batch, bool),
    /// Batches read and put on the blocking thread as one group: those committed (file, end;
    /// a prefix) and the rest, refused there, to retry in order.
    Put {
        done: Vec<(u64, u64)>,
        retry: Vec<Batch>,
    },
}

/// One trip to the blocking pool: moves the positions of the batches committed last (`done`)
/// and writes the position file, notes the changed `paths`, scans when `scan`, reads the
/// next batch and, when the channels put on the calling thread, up to [`GROUP_BATCHES_MAX`]
/// that are already there, and puts them as one group ([`put_here`]).
async fn read_batch(
    slot: &mut Option<Tail>,
    ctx: &SourceCtx,
    cfg: &Arc<TaildirConfig>,
    done: Vec<(u64, u64)>,
    paths: Vec<std::path::PathBuf>,
    scan: bool,
) -> Result<Trip, SourceError> {
    let c = cfg.clone();
    let here = ctx.router.puts_blocking().then(|| Here {
        name: ctx.name.clone(),
        router: ctx.router.clone(),
        counters: ctx.counters.clone(),
    });
    let trip = blocking(slot, ctx, move |s| {
        if !done.is_empty() {
            for (inode, end) in done {
                s.tailer.commit(inode, end);
            }
            s.save(false, &c);
        }
        let t = &mut s.tailer;
        t.touched(&paths);
        if scan {
            t.scan();
            t.close_deleted(Instant::now(), false);
            t.close_idle();
        }
        let Some(batch) = t.next_batch() else {
            s.save(true, &c);
            return Trip::Idle;
        };
        match &here {
            Some(h) => {
                let mut group = vec![batch];
                while group.len() < GROUP_BATCHES_MAX {
                    match t.next_batch() {
                        Some(b) => group.push(b),
                        None => break,
                    }
                }
                put_here(h, group)
            }
            None => Trip::Read(batch, false),
        }
    })
    .await?;
    Ok(trip)
}

/// What putting on the blocking thread needs of the source.
struct Here {
    name: String,
    router: Arc<crate::agent::router::ChannelProcessor>,
    counters: Arc<CounterGroup>,
}

/// The first attempt to put `group`, on the blocking thread (the channels put there), each
/// batch its own transaction, committed as one group; the batches refused go back to the
/// task, which retries them in order with backoff.
fn put_here(h: &Here, group: Vec<Batch>) -> Trip {
    let counts: Vec<u64> = group
        .iter()
        .map(|b| received(&h.counters, &h.name, &b.events))
        .collect();
    let results = h
        .router
        .process_blocking_group(group.iter().map(|b| b.events.clone()).collect());
    let mut done = Vec::with_capacity(group.len());
    let mut retry = Vec::new();
    for ((batch, r), n) in group.into_iter().zip(results).zip(counts) {
        match r {
            Ok(()) if retry.is_empty() => {
                accepted(&h.counters, n);
                done.push((batch.inode, batch.end));
            }
            Ok(()) => retry.push(batch),
            Err(e) => {
                if retry.is_empty() {
                    h.counters.add(SourceCounter::ChannelWriteFail, 1);
                    tracing::warn!(source = %h.name, error = %e, "batch not accepted; retrying");
                }
                retry.push(batch);
            }
        }
    }
    Trip::Put { done, retry }
}

/// Counts a batch as received and offers it to the tap; its event count.
fn received(c: &CounterGroup, name: &str, events: &[sluice_core::Event]) -> u64 {
    let n = events.len() as u64;
    c.add(SourceCounter::EventReceived, n);
    c.add(SourceCounter::AppendBatchReceived, 1);
    crate::agent::tap::offer(crate::agent::tap::Point::Source, name, events);
    n
}

/// Counts a batch of `n` events as accepted by the channels.
fn accepted(c: &CounterGroup, n: u64) {
    c.add(SourceCounter::EventAccepted, n);
    c.add(SourceCounter::AppendBatchAccepted, 1);
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

/// How the put of a batch ended.
enum Put {
    Committed,
    Stopped,
    /// Its file was closed by `closeDeletedAfter`/`maxDeletedOpenBytes` meanwhile.
    Dropped,
}

/// Puts a batch from `inode` as [`SourceCtx::put_with_retry`] does (Flume's backoff; a batch
/// the channel processor hands back is moved, not copied), and between the retries applies
/// the deleted-file limits: a full channel is exactly when a deleted file would be held open.
/// `refused`: the batch was offered once on the blocking thread and refused (counted there),
/// so the first attempt here comes after a backoff.
async fn put(
    slot: &mut Option<Tail>,
    ctx: &mut SourceCtx,
    events: Vec<sluice_core::Event>,
    inode: u64,
    refused: bool,
) -> Result<Put, SourceError> {
    let n = events.len() as u64;
    let mut backoff = Backoff::linear(BACKOFF_STEP, BACKOFF_MAX);
    if refused {
        if let Some(p) = wait_to_retry(slot, ctx, &mut backoff, inode).await? {
            return Ok(p);
        }
    } else {
        received(&ctx.counters, &ctx.name, &events);
    }
    let mut batch = events;
    loop {
        let (attempt, kept) = if ctx.router.hands_back() {
            (batch, None)
        } else {
            (batch.clone(), Some(batch))
        };
        let rejected = match ctx.router.offer(attempt).await {
            Ok(()) => {
                accepted(&ctx.counters, n);
                return Ok(Put::Committed);
            }
            Err(r) => r,
        };
        ctx.counters.add(SourceCounter::ChannelWriteFail, 1);
        let Some(back) = rejected.events.or(kept) else {
            tracing::error!(source = %ctx.name, error = %rejected.error, "a refused batch was not handed back; giving up on it");
            return Ok(Put::Stopped);
        };
        batch = back;
        tracing::warn!(source = %ctx.name, error = %rejected.error, "batch not accepted; retrying");
        if let Some(p) = wait_to_retry(slot, ctx, &mut backoff, inode).await? {
            return Ok(p);
        }
    }
}

/// The wait after a refused put: the next backoff, then the deleted-file limits; `Some` when
/// the batch is not to be retried (stopped, or its file closed meanwhile).
async fn wait_to_retry(
    slot: &mut Option<Tail>,
    ctx: &mut SourceCtx,
    backoff: &mut Backoff,
    inode: u64,
) -> Result<Option<Put>, SourceError> {
    let wait = backoff.failed();
    tracing::debug!(source = %ctx.name, backoff_ms = wait.as_millis() as u64, "waiting to retry a batch");
    if ctx.stop.sleep(wait).await {
        return Ok(Some(Put::Stopped));
    }
    let closed = blocking(slot, ctx, |s| s.tailer.close_deleted(Instant::now(), true)).await?;
    Ok(closed.contains(&inode).then_some(Put::Dropped))
}

/// The tailer with the writer of its position file, moved to the blocking pool together.
struct Tail {
    tailer: Tailer,
    pos: PosWriter,
}

impl Tail {
    /// Writes the tailer's positions ([`PosWriter::write`]).
    fn save(&mut self, idle: bool, cfg: &TaildirConfig) {
        self.pos.write(&self.tailer, idle, cfg);
    }
}

/// Runs `f` on the tailer on the blocking pool.
async fn blocking<T: Send + 'static>(
    slot: &mut Option<Tail>,
    ctx: &SourceCtx,
    f: impl FnOnce(&mut Tail) -> T + Send + 'static,
) -> Result<T, SourceError> {
    let mut t = slot
        .take()
        .ok_or_else(|| ctx.fail(SourceErrorKind::Internal, "tailer lost after a panic"))?;
    let (t, out) = tokio::task::spawn_blocking(move || {
        let out = f(&mut t);
        (t, out)
    })
    .await
    .map_err(|e| {
        ctx.fail(
            SourceErrorKind::Internal,
            format!("tailer task failed: {e}"),
        )
    })?;
    *slot = Some(t);
    Ok(out)
}

/// Writes the position file when it changed; fsynced at least every `writePosInterval`.
#[derive(Debug)]
struct PosWriter {
    path: std::path::PathBuf,
    last: Vec<u8>,
    last_durable: Option<Instant>,
    /// When the file was last replaced (durably or not).
    last_written: Option<Instant>,
    durable_pending: bool,
    failing: bool,
    /// Every channel drops resends: plain replacements only every [`PLAIN_WRITE_INTERVAL`].
    resends_dropped: bool,
    /// The inodes whose fingerprints the fingerprint file on disk holds.
    fp_saved: std::collections::HashSet<u64>,
}

impl PosWriter {
    fn new(path: std::path::PathBuf, resends_dropped: bool) -> Self {
        PosWriter {
            path,
            last: Vec::new(),
            last_durable: None,
            last_written: None,
            durable_pending: true,
            failing: false,
            resends_dropped,
            fp_saved: Default::default(),
        }
    }

    /// Writes the position file (Flume's) and, before a durable write, the fingerprints
    /// beside it. Runs on the blocking pool.
    fn write(&mut self, t: &Tailer, idle: bool, cfg: &TaildirConfig) {
        let bytes = position::render(&t.positions());
        let changed = bytes != self.last;
        if changed {
            self.durable_pending = true;
        }
        let due = self
            .last_durable
            .is_none_or(|t| t.elapsed() >= cfg.write_pos_interval);
        let durable = self.durable_pending && (idle || due);
        // A file without a saved fingerprint would resume with a fresh origin after a kill,
        // so its re-read lines would not be dropped as resends: with resends dropped, its
        // fingerprint is saved (and the positions written) at once, not a second later.
        let fps = t.fingerprints();
        let young = self.resends_dropped && fps.iter().any(|f| !self.fp_saved.contains(&f.inode));
        let plain_due = !self.resends_dropped
            || young
            || self
                .last_written
                .is_none_or(|t| t.elapsed() >= PLAIN_WRITE_INTERVAL);
        if !(durable || changed && plain_due) {
            return;
        }
        let res = (|| {
            // With the durable writes (and a new file's first) only: an older fingerprint
            // still checks the bytes it covers (see `fingerprint`), and the batches between
            // cost no second file.
            if durable || young {
                let fp_bytes = fingerprint::render(&fps);
                atomic_file::replace(&fingerprint::path_of(&self.path), &fp_bytes, durable)?;
            }
            atomic_file::replace(&self.path, &bytes, durable)
        })();
        match res {
            Ok(()) => {
                if self.failing {
                    tracing::info!(position_file = %self.path.display(), "position file written again");
                }
                self.failing = false;
                self.last = bytes;
                self.last_written = Some(Instant::now());
                if durable || young {
                    self.fp_saved = fps.iter().map(|f| f.inode).collect();
                }
                if durable {
                    self.durable_pending = false;
                    self.last_durable = Some(Instant::now());
                }
            }
            Err(e) => {
                // The channel already has the events: a position not saved costs duplicates
                // after a crash, never loss. Keep going and try again next time.
                if !self.failing {
                    tracing::error!(position_file = %self.path.display(), error = %e, "cannot write the position file; a crash now would re-send events");
                }
                self.failing = true;
            }
        }
    }
}
