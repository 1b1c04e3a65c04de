//! The file channel: Flume's FileChannel contract over Sluice's write-ahead log.
//!
//! A [`FileChannel`] is a cheap, cloneable handle. [`FileChannel::transaction`] starts a
//! [`Transaction`] holding a put list and a take list; nothing of it reaches the disk until
//! `commit`, which writes all its records and a commit record as one append to one data
//! directory and returns once they are durable (group commit). Opening a channel recovers it:
//! load the newest valid checkpoint, replay what was written after it, roll every directory to
//! a fresh segment. See `DESIGN.md` for the invariants.

mod apply;
mod backlog;
mod bound;
mod channel_id;
mod checkpointer;
mod compact;
pub mod config;
mod cut_back;
mod dedup;
mod error;
mod event_cache;
pub mod examine;
pub(crate) mod flume_dirs;
mod gc;
mod home;
mod inner;
mod ledger;
mod locks;
mod missing;
mod position;
mod reclaim;
mod recovery;
mod state;
mod transaction;
pub mod verify;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

pub use crate::wal::writer::GroupCommitStats;
pub use backlog::Backlog;
#[cfg(feature = "internals")]
pub use config::RecoveryPolicy;
pub use config::{ConfigError, ConfigWarning, FileChannelConfig};
pub use error::ChannelError;
pub use event_cache::CacheBudget;
pub use inner::{ChannelStats, FileChannel, RecoveryInfo, RecoverySource};
pub use transaction::{Cached, NotCommitted, Transaction};

use inner::Inner;

use crate::io::{Fs, StdFs};
use crate::wal::replay::ReplayProgress;
use crate::wal::writer::{Appended, DirWriter, Records, WalError};

/// Room kept for a checkpoint's fixed fields and segment dependencies (8 bytes each).
const CHECKPOINT_MARGIN_BYTES: u64 = 2048;

impl FileChannel {
    /// Opens (and recovers) a channel on the real file system.
    pub fn open(config: FileChannelConfig) -> Result<FileChannel, ChannelError> {
        Self::open_with_fs(config, Arc::new(StdFs))
    }

    /// Opens (and recovers) a channel on the given file system.
    pub fn open_with_fs(
        config: FileChannelConfig,
        fs: Arc<dyn Fs>,
    ) -> Result<FileChannel, ChannelError> {
        recovery::open(config, fs, &ReplayProgress::default())
    }

    /// Opens (and recovers) a channel on the real file system, counting the replay's bytes
    /// and events into `progress` meanwhile (another thread may read it while this runs).
    pub fn open_with_progress(
        config: FileChannelConfig,
        progress: &ReplayProgress,
    ) -> Result<FileChannel, ChannelError> {
        recovery::open(config, Arc::new(StdFs), progress)
    }

    /// Starts a transaction.
    pub fn transaction(&self) -> Transaction {
        Transaction::new(self.inner.clone())
    }

    /// Writes a checkpoint now (and deletes segments no longer needed).
    pub fn checkpoint(&self) -> Result<(), ChannelError> {
        checkpointer::checkpoint(&self.inner)
    }

    /// What the last open found.
    pub fn recovery_info(&self) -> &RecoveryInfo {
        &self.inner.recovery
    }

    /// The segments the channel holds, by the alias of the key that seals them (`""` for
    /// plain segments), oldest key first: which keys are still needed.
    pub fn sealed_by(&self) -> Vec<(String, u64)> {
        let mut by: Vec<(String, u64, u32)> = Vec::new();
        for (id, entry) in self.inner.table.all() {
            let alias = entry.codec.key.as_ref().map_or("", |k| k.alias());
            match by.iter_mut().find(|(a, _, _)| a == alias) {
                Some((_, n, _)) => *n += 1,
                None => by.push((alias.to_owned(), 1, id)),
            }
        }
        by.sort_by_key(|(_, _, first)| *first);
        by.into_iter().map(|(a, n, _)| (a, n)).collect()
    }

    /// The configuration in force.
    pub fn config(&self) -> &FileChannelConfig {
        &self.inner.config
    }

    /// The last committed value of cursor `key` ([`Transaction::set_cursor`]), if any: an
    /// empty value is a cursor forgotten ([`Transaction::forget_cursor`]).
    pub fn cursor(&self, key: &str) -> Option<Vec<u8>> {
        let map = self.inner.cursors.lock();
        map.get(key)
            .filter(|(_, v)| !v.is_empty())
            .map(|(_, v)| v.clone())
    }

    /// The keys that hold a cursor (not forgotten).
    pub fn cursor_keys(&self) -> Vec<String> {
        let map = self.inner.cursors.lock();
        map.iter()
            .filter(|(_, (_, v))| !v.is_empty())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The origin the channel numbers its new events under (`eventIds`).
    pub fn event_origin(&self) -> u64 {
        self.inner.dedup.own_origin()
    }

    /// Whether the channel's deduplication table holds ids of `origin`.
    pub fn holds_event_origin(&self, origin: u64) -> bool {
        self.inner.dedup.holds_origin(origin)
    }

    /// Counters and gauges.
    pub fn stats(&self) -> ChannelStats {
        let inner = &self.inner;
        let (queued, in_flight) = {
            let st = inner.state.lock();
            (st.ready().len() as u64, st.inflight_len())
        };
        let c = &inner.counters;
        let (tail_cache_hits, tail_cache_misses) = inner.events.hits_misses();
        let (duplicates, ids_refused, dedup_origins, dedup_origins_turned_away) =
            inner.dedup.stats();
        ChannelStats {
            queued,
            in_flight_takes: in_flight,
            capacity: inner.config.capacity,
            capacity_bytes: inner.bound.limit(),
            size_bytes: if inner.bound.limit() > 0 {
                inner.bound.size_bytes()
            } else {
                0
            },
            puts_refused_bytes: c.puts_refused_bytes.load(Ordering::Relaxed),
            full_bytes: inner.bound.is_full(),
            put_errors: c.put_errors.load(Ordering::Relaxed),
            take_errors: c.take_errors.load(Ordering::Relaxed),
            checkpoint_write_errors: c.checkpoint_write_errors.load(Ordering::Relaxed),
            checkpoint_backup_write_errors: c
                .checkpoint_backup_write_errors
                .load(Ordering::Relaxed),
            checkpoints: c.checkpoints.load(Ordering::Relaxed),
            fsyncs: inner.writers.iter().map(DirWriter::fsync_count).sum(),
            segments_recycled: inner.writers.iter().map(DirWriter::recycled_count).sum(),
            commits: c.commits.load(Ordering::Relaxed),
            segments: inner.table.all().len() as u64,
            segments_deleted: c.segments_deleted.load(Ordering::Relaxed),
            open: !inner.closed.load(Ordering::SeqCst),
            unhealthy: inner.poison.cause().is_some(),
            events_lost_on_open: inner.recovery.events_lost,
            tail_cache_hits,
            tail_cache_misses,
            duplicates,
            ids_refused,
            dedup_origins,
            dedup_origins_turned_away,
            duplicate_conflicts: inner.dedup.conflicts(),
            group_commit: inner.writers.iter().fold(
                GroupCommitStats {
                    fresh_buffers: inner.table.pool().fresh_buffers(),
                    ..Default::default()
                },
                |mut sum, w| {
                    sum.add(&w.commit_stats());
                    sum
                },
            ),
        }
    }

    /// Bytes of the channel's files under its directories: with `capacityBytes` the channel's
    /// running count (what the bound is checked against, never below the truth); without,
    /// measured now by listing the directories.
    pub fn size_bytes(&self) -> u64 {
        let inner = &self.inner;
        if inner.bound.limit() > 0 {
            return inner.bound.size_bytes();
        }
        bound::dir_bytes(inner.fs.as_ref(), &inner.config).unwrap_or_else(|(dir, e)| {
            tracing::debug!(dir = %dir.display(), error = %e, "could not measure the channel's files");
            0
        })
    }

    /// Segment files on disk with their live-event counts: (id, path, live events).
    pub fn segments(&self) -> Vec<(u32, PathBuf, u64)> {
        let live = self.inner.state.lock().live_counts().clone();
        self.inner
            .table
            .all()
            .into_iter()
            .map(|(id, e)| (id, e.path, live.get(&id).copied().unwrap_or(0)))
            .collect()
    }

    /// Closes the channel: stops background work, makes everything durable, writes a
    /// checkpoint if `checkpointOnClose`, and releases the directory locks. Idempotent.
    pub fn close(&self) -> Result<(), ChannelError> {
        self.inner.capacity.shut();
        self.inner.stop_background();
        let handles: Vec<JoinHandle<()>> = std::mem::take(&mut *self.inner.threads.lock());
        for h in handles {
            let name = h.thread().name().unwrap_or("background").to_owned();
            if h.join().is_err() {
                tracing::error!(thread = %name, "a channel background thread panicked");
            }
        }
        self.inner.close_inner()
    }

    /// Rolls every data directory to a new segment (tests and tools).
    pub fn roll_segments(&self) -> Result<(), ChannelError> {
        for w in &self.inner.writers {
            w.roll_now()?;
        }
        Ok(())
    }
}

impl Inner {
    fn check_open(&self) -> Result<(), ChannelError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(ChannelError::Closed);
        }
        self.poison.check()?;
        Ok(())
    }

    /// Bytes the next checkpoint (and its backup) will need: 16 per event the channel holds
    /// or has reserved, and a margin for the positions and segment dependencies. Puts keep
    /// this much free on top of `minimumRequiredSpace`, so that a checkpoint still fits.
    fn checkpoint_reserve_bytes(&self) -> u64 {
        let events = self.capacity.used().saturating_add(1);
        let copies = if self.config.use_dual_checkpoints {
            2
        } else {
            1
        };
        let positions: u64 = self
            .config
            .data_dirs
            .iter()
            .map(|d| 16 + d.as_os_str().len() as u64)
            .sum();
        events
            .saturating_mul(crate::checkpoint::format::ENTRY_BYTES as u64)
            .saturating_add(positions + CHECKPOINT_MARGIN_BYTES)
            .saturating_mul(copies)
    }

    /// Lowers every directory's free-space estimate by `bytes` written (they may share one
    /// file system); the next refresh, at most a second later, reads the truth again.
    fn note_written(&self, bytes: u64, except: Option<usize>) {
        for w in &self.writers {
            if Some(w.index()) != except {
                w.note_written_elsewhere(bytes);
            }
        }
    }

    /// Appends a transaction's bytes to the directory that can take them soonest. Puts
    /// (`min_free` set) move on to another directory when one is short of space; they also
    /// keep room for the next checkpoint.
    ///
    /// The writer encodes the records for the segment they land in (see
    /// `wal::writer::Records`).
    fn append(
        &self,
        records: &mut dyn Records,
        min_free: Option<u64>,
    ) -> Result<(&DirWriter, Appended), WalError> {
        let min_free = min_free.map(|m| m.saturating_add(self.checkpoint_reserve_bytes()));
        let n = self.writers.len();
        assert!(n > 0, "a channel without data directories");
        let start = self.rr.fetch_add(1, Ordering::Relaxed) % n.max(1);
        let mut order: Vec<usize> = (0..n).map(|i| (start + i) % n).collect();
        if let Some(pos) = order.iter().position(|&i| self.writers[i].is_idle()) {
            order.swap(0, pos);
        }
        let mut first_err = None;
        for i in order {
            let w = &self.writers[i];
            match w.append(records, min_free) {
                Ok(a) => {
                    self.note_written(records.len(), Some(w.index()));
                    self.bound.note_written(records.len());
                    return Ok((w, a));
                }
                Err(e @ WalError::DiskFull { .. }) => {
                    if first_err.is_none() {
                        first_err = Some(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        // A configuration has at least one data directory, so every way out of the loop that
        // gets here has set `first_err`.
        Err(first_err.unwrap_or_else(|| WalError::Io {
            op: "append to",
            path: self.config.checkpoint_dir.clone(),
            source: std::io::Error::other("the channel has no data directory"),
        }))
    }

    /// The CRC salt a transaction encoded now should use: that of the active segment of the
    /// directory the next append most likely goes to (the only one, with one data
    /// directory). A wrong guess costs one more CRC pass in the writer, never correctness.
    pub(super) fn salt_hint(&self) -> u32 {
        let n = self.writers.len().max(1);
        let next = self.rr.load(Ordering::Relaxed) % n;
        self.writers.get(next).map_or(0, DirWriter::active_salt)
    }

    /// Whether the channel seals its segments (encryption configured).
    pub(super) fn seals(&self) -> bool {
        self.writers.first().is_some_and(DirWriter::seals)
    }

    fn stop_background(&self) {
        *self.shutdown.stop.lock() = true;
        self.shutdown.cv.notify_all();
    }

    fn close_inner(&self) -> Result<(), ChannelError> {
        if self.closed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut result = Ok(());
        if self.poison.cause().is_none() {
            for w in &self.writers {
                match w.sync_all() {
                    Ok(()) => w.refresh_acked_end(),
                    Err(e) => result = Err(e.into()),
                }
            }
            if result.is_ok() && self.config.checkpoint_on_close {
                result = checkpointer::checkpoint(self);
            }
        }
        self.closed.store(true, Ordering::SeqCst);
        self.locks.lock().clear();
        result
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop_background();
        if let Err(e) = self.close_inner() {
            tracing::warn!(error = %e, "closing the channel on drop failed");
        }
    }
}
