//! The TAILDIR tailer with the writer of its position file: restored from that file, moved to
//! the blocking pool together, and the file written when it changed (fsynced at least every
//! `writePosInterval`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::PLAIN_WRITE_INTERVAL;
use crate::agent::atomic_file;
use crate::agent::source::taildir::config::TaildirConfig;
use crate::agent::source::taildir::tailer::Tailer;
use crate::agent::source::taildir::{fingerprint, gauges, loss_file, origins, position};
use crate::agent::source::{SourceCtx, SourceError, SourceErrorKind};

/// The tailer restored from the position file (positions, fingerprints, origins) with its
/// writer; the source's gauges (deleted files held open, multiline events held) registered.
pub(super) async fn open_tail(
    cfg: &Arc<TaildirConfig>,
    ctx: &SourceCtx,
) -> Result<Tail, SourceError> {
    let pos_file = cfg.position_file.clone();
    let p = pos_file.clone();
    let (saved, (fingerprints, origins), loss) = tokio::task::spawn_blocking(move || {
        if let Some(dir) = p.parent() {
            if let Err(e) = std::fs::create_dir_all(dir) {
                tracing::error!(dir = %dir.display(), error = %e, "cannot create the position file's directory");
            }
        }
        (
            position::load(&p),
            (fingerprint::load(&p), origins::Origins::load(&p)),
            loss_file::load(&p),
        )
    })
    .await
    .map_err(|e| ctx.fail(SourceErrorKind::Internal, e.to_string()))?;
    let mut tailer = Tailer::new(cfg.clone(), saved)
        .map_err(|e| ctx.fail(SourceErrorKind::Disk, e.to_string()))?;
    tailer.restore_fingerprints(fingerprints);
    tailer.restore_origins(origins);
    tailer.restore_loss(loss);
    let window = ctx
        .alarms
        .loss_window(&ctx.name, cfg.loss_window, cfg.loss_alarm);
    tailer.count_loss_to(ctx.counters.clone(), window.clone());
    let stats = tailer.deleted_stats();
    let rules = tailer.multiline_rules();
    let layout = cfg.layout.clone();
    ctx.counters.set_gauges(Box::new(move || {
        let mut g = gauges::served(&stats, rules.as_ref().map(|r| r.held()), &window);
        if let Some(l) = &layout {
            g.extend(l.0.gauges());
        }
        g
    }));
    Ok(Tail {
        tailer,
        pos: PosWriter::new(pos_file, ctx.router.channels().drops_resends()),
        idle_since: None,
    })
}

/// How long the trips find nothing to read before an idle one writes the position file
/// durably ([`Tail::save_idle`]).
pub(super) const IDLE_SETTLED: Duration = Duration::from_millis(250);

/// The tailer with the writer of its position file, moved to the blocking pool together.
pub(super) struct Tail {
    pub(super) tailer: Tailer,
    pos: PosWriter,
    /// When the trips began to find nothing to read (none while they read).
    idle_since: Option<Instant>,
}

impl Tail {
    /// Writes the tailer's positions ([`PosWriter::write`]).
    pub(super) fn save(&mut self, idle: bool, cfg: &TaildirConfig) {
        if self.pos.write(&self.tailer, idle, cfg) {
            self.tailer.loss_positions_saved();
        }
    }

    /// Writes the position file after a trip that found nothing to read: durably (with the
    /// fingerprints) only once the trips have found nothing for [`IDLE_SETTLED`], so the
    /// source has gone quiet. A trickle of lines, idle between every two batches (and woken
    /// at once by the change events of the batch just read), so costs no fsync per batch
    /// (four with the fingerprints), only one every `writePosInterval`.
    pub(super) fn save_idle(&mut self, cfg: &TaildirConfig) {
        let since = *self.idle_since.get_or_insert_with(Instant::now);
        self.save(since.elapsed() >= IDLE_SETTLED, cfg);
    }

    /// A trip read a batch: the source is not idle.
    pub(super) fn busy(&mut self) {
        self.idle_since = None;
    }

    /// Moves the tailer's committed positions to the ends of the batches in `done` (inode,
    /// end offset) and writes the position file ([`Tail::save`]); nothing when `done` is empty
    /// and the save is not `idle`.
    pub(super) fn commit_and_save(
        &mut self,
        done: Vec<(u64, u64)>,
        idle: bool,
        cfg: &TaildirConfig,
    ) {
        if done.is_empty() && !idle {
            return;
        }
        for (inode, end) in done {
            self.tailer.commit(inode, end);
        }
        self.save(idle, cfg);
    }
}

/// Runs `f` on the tailer on the blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
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

    /// Writes the position file (Flume's) and, before a durable write, the fingerprints and
    /// the loss state beside it; whether a durable write was made. Runs on the blocking pool.
    fn write(&mut self, t: &Tailer, idle: bool, cfg: &TaildirConfig) -> bool {
        let due = idle
            || self
                .last_durable
                .is_none_or(|t| t.elapsed() >= cfg.write_pos_interval);
        // A file without a saved fingerprint would resume with a fresh origin after a kill,
        // so its re-read lines would not be dropped as resends: with resends dropped, its
        // fingerprint is saved (and the positions written) at once, not a second later.
        let young = self.resends_dropped && t.has_fingerprint_outside(&self.fp_saved);
        let plain_due = !self.resends_dropped
            || young
            || self
                .last_written
                .is_none_or(|t| t.elapsed() >= PLAIN_WRITE_INTERVAL);
        // Nothing is written now whatever changed: the positions are not even rendered (with
        // a node's thousands of files, rendering them per batch was most of the source's CPU).
        // A change left unwritten shows at the next render, against the bytes last written.
        if !due && !plain_due {
            return false;
        }
        let bytes = position::render(&t.positions());
        let changed = bytes != self.last;
        if changed {
            self.durable_pending = true;
        }
        let durable = self.durable_pending && due;
        if !(durable || changed && plain_due) {
            return false;
        }
        let fps = if durable || young {
            t.fingerprints()
        } else {
            Vec::new()
        };
        let res = (|| {
            // With the durable writes (and a new file's first) only: an older fingerprint
            // still checks the bytes it covers (see `fingerprint`), and the batches between
            // cost no second file.
            if durable || young {
                let fp_bytes = fingerprint::render(&fps);
                atomic_file::replace(&fingerprint::path_of(&self.path), &fp_bytes, durable)?;
            }
            if durable {
                loss_file::save(&self.path, &t.loss_state())?;
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
                durable
            }
            Err(e) => {
                // The channel already has the events: a position not saved costs duplicates
                // after a crash, never loss. Keep going and try again next time.
                if !self.failing {
                    tracing::error!(position_file = %self.path.display(), error = %e, "cannot write the position file; a crash now would re-send events");
                }
                self.failing = true;
                false
            }
        }
    }
}
