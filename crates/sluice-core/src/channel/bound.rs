//! The byte bound (`capacityBytes`): what the channel's files take under its directories, as
//! last measured plus what was appended since, and the room puts have reserved.
//!
//! A put reserves its record's bytes and the take record its event will need later (so that
//! takes, which are never refused, always have room); the commit that writes the put turns
//! the record's share into bytes written and keeps the take's share until the event's take
//! commits. A put is admitted while `measured + written + reserved + checkpoint reserve +
//! slack + its cost` stays within the bound ([`DiskBound::try_reserve`]); the sum only ever
//! over-counts (bytes appended inside a file's allocation count twice until the next
//! measurement), so the files never take more than the bound but for a checkpoint's new
//! copy, which the checkpoint reserve covers. Without a bound (0) nothing is refused and the
//! counters stay untouched (`FileChannel::size_bytes` measures instead).
//!
//! The measurement lists each directory through the [`Fs`] seam and adds up the length of
//! every regular file directly in it (a segment's length includes what it allocated ahead).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::config::FileChannelConfig;
use crate::io::{FileKind, Fs, OpenMode};
use crate::wal::record::{SEALED_FRAME_EXTRA, TAKE_RECORD_BYTES};

/// Bytes reserved per queued event for its take record (a sealed frame's extra included).
pub const TAKE_RESERVE_BYTES: u64 = (TAKE_RECORD_BYTES + SEALED_FRAME_EXTRA) as u64;
/// Bytes reserved per put besides its record (a sealed frame's extra).
pub const PUT_EXTRA_BYTES: u64 = SEALED_FRAME_EXTRA as u64;

/// The byte bound of one channel and its accounting.
#[derive(Debug)]
pub struct DiskBound {
    /// `capacityBytes` (0: no bound).
    limit: u64,
    /// Kept out of the room whatever the channel holds (allocation ahead).
    slack: u64,
    /// Bytes of the files under the directories at the last measurement.
    measured: AtomicU64,
    /// Bytes appended since the last measurement began.
    written: AtomicU64,
    /// Bytes reserved by puts not yet written and by queued events' future takes.
    reserved: AtomicU64,
    /// One reclaimer at a time, and when it last ran a checkpoint.
    pub(super) reclaim: Mutex<Option<Instant>>,
    /// Takes committed since the last reclaim (a reclaim without any frees nothing new).
    pub(super) takes_since_reclaim: AtomicU64,
    /// Wakes puts waiting for room when takes commit.
    pub(super) room: (Mutex<()>, Condvar),
    /// One measurement at a time: an older listing stored after a newer one would forget
    /// what was appended between them.
    measuring: Mutex<()>,
    /// The last put was refused at the bound and no put or take committed since (full, as
    /// the event capacity is full at 100 %).
    full: AtomicBool,
}

impl DiskBound {
    /// The bound of `config`, with `queued` events (queued and in flight) recovered, whose
    /// takes are reserved.
    pub fn new(config: &FileChannelConfig, queued: u64) -> DiskBound {
        DiskBound {
            limit: config.capacity_bytes,
            slack: config.bound_slack_bytes(),
            measured: AtomicU64::new(0),
            written: AtomicU64::new(0),
            reserved: AtomicU64::new(queued.saturating_mul(TAKE_RESERVE_BYTES)),
            reclaim: Mutex::new(None),
            takes_since_reclaim: AtomicU64::new(0),
            room: (Mutex::new(()), Condvar::new()),
            measuring: Mutex::new(()),
            full: AtomicBool::new(false),
        }
    }

    /// `capacityBytes` (0: none).
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The files' bytes as far as the channel knows: last measured plus appended since.
    pub fn size_bytes(&self) -> u64 {
        self.measured
            .load(Ordering::Acquire)
            .saturating_add(self.written.load(Ordering::Acquire))
    }

    /// What counts against the bound now, with `checkpoint_reserve` for the next checkpoint.
    pub fn used_bytes(&self, checkpoint_reserve: u64) -> u64 {
        self.size_bytes()
            .saturating_add(self.reserved.load(Ordering::Acquire))
            .saturating_add(checkpoint_reserve)
            .saturating_add(self.slack)
    }

    /// Reserves `cost` bytes if they fit under the bound (always, without one).
    pub fn try_reserve(&self, cost: u64, checkpoint_reserve: u64) -> bool {
        if self.limit == 0 {
            // No bound: nothing to count, and no shared counter for every put to touch.
            return true;
        }
        let mut cur = self.reserved.load(Ordering::Acquire);
        loop {
            let fixed = self
                .size_bytes()
                .saturating_add(checkpoint_reserve)
                .saturating_add(self.slack);
            if fixed.saturating_add(cur).saturating_add(cost) > self.limit {
                return false;
            }
            match self.reserved.compare_exchange_weak(
                cur,
                cur + cost,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    self.clear_full();
                    return true;
                }
                Err(now) => cur = now,
            }
        }
    }

    /// A put was refused at the bound: the channel is full until a put fits or a take
    /// commits ([`DiskBound::is_full`]).
    pub fn note_refused(&self) {
        self.full.store(true, Ordering::Release);
    }

    /// Clears the full mark, writing only when it is set: puts and takes call this on every
    /// commit, and a store each time would bounce the cache line between committers.
    fn clear_full(&self) {
        if self.full.load(Ordering::Relaxed) {
            self.full.store(false, Ordering::Release);
        }
    }

    /// Whether the last put was refused at the bound and no put fitted nor take committed
    /// since.
    pub fn is_full(&self) -> bool {
        self.full.load(Ordering::Acquire)
    }

    /// Returns `n` reserved bytes (a put written or rolled back, a take committed).
    pub fn release(&self, n: u64) {
        if n == 0 || self.limit == 0 {
            return;
        }
        let mut cur = self.reserved.load(Ordering::Acquire);
        loop {
            // More back than reserved is an accounting slip: never wrap below zero.
            let next = cur.saturating_sub(n);
            match self.reserved.compare_exchange_weak(
                cur,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(now) => cur = now,
            }
        }
    }

    /// Counts `n` bytes appended to a segment.
    pub fn note_written(&self, n: u64) {
        if self.limit == 0 {
            return;
        }
        self.written.fetch_add(n, Ordering::AcqRel);
    }

    /// Counts `n` takes committed and wakes the puts waiting for room.
    pub fn note_taken(&self, n: u64) {
        if n == 0 || self.limit == 0 {
            return;
        }
        self.release(n.saturating_mul(TAKE_RESERVE_BYTES));
        self.clear_full();
        self.takes_since_reclaim.fetch_add(n, Ordering::AcqRel);
        if self.limit > 0 {
            let _g = self.room.0.lock();
            self.room.1.notify_all();
        }
    }

    /// Measures the files under `config`'s directories anew. What is appended while the
    /// listing runs counts in `written` as well (an over-count until the next measurement).
    pub fn measure(&self, fs: &dyn Fs, config: &FileChannelConfig) {
        let _one = self.measuring.lock();
        let before = self.written.swap(0, Ordering::AcqRel);
        match dir_bytes(fs, config) {
            Ok(total) => self.measured.store(total, Ordering::Release),
            Err((dir, e)) => {
                // Keep counting on the old figure: nothing is forgotten.
                self.written.fetch_add(before, Ordering::AcqRel);
                tracing::warn!(dir = %dir.display(), error = %e, "could not measure the channel's files for capacityBytes; keeping the last figure");
            }
        }
    }
}

/// The channel's directories, each once: the data directories, the checkpoint directory and
/// the backup checkpoint directory.
pub fn channel_dirs(config: &FileChannelConfig) -> Vec<PathBuf> {
    let mut seen = BTreeSet::new();
    config
        .data_dirs
        .iter()
        .chain(std::iter::once(&config.checkpoint_dir))
        .chain(config.backup_checkpoint_dir.iter())
        .filter(|d| seen.insert((*d).clone()))
        .cloned()
        .collect()
}

/// Bytes of the regular files directly under the channel's directories (a file gone while
/// listed counts 0; a directory not there yet counts 0).
pub fn dir_bytes(
    fs: &dyn Fs,
    config: &FileChannelConfig,
) -> Result<u64, (PathBuf, std::io::Error)> {
    let mut total = 0u64;
    for dir in channel_dirs(config) {
        let names = match fs.list_dir(&dir) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err((dir, e)),
        };
        for name in names {
            total = total.saturating_add(file_bytes(fs, &dir.join(name)));
        }
    }
    Ok(total)
}

/// The length of the regular file at `path`, 0 if it is something else or gone.
fn file_bytes(fs: &dyn Fs, path: &Path) -> u64 {
    match fs.file_info(path) {
        Ok(info) if info.kind != FileKind::File => return 0,
        // A file system without file kinds: whatever opens as a file counts.
        Ok(_) | Err(_) => {}
    }
    fs.open(path, OpenMode::Read)
        .and_then(|f| f.len())
        .unwrap_or(0)
}
