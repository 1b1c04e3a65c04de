//! Per-directory segment writer with group commit, segment rolling and a free-space gauge.
//!
//! Each data directory has one [`DirWriter`]. A commit appends its whole transaction as one
//! contiguous write under the writer's lock, then calls [`DirWriter::sync_to`] with the
//! logical end of its bytes. The first waiter becomes the leader: it fdatasyncs the active
//! segment once, covering every byte written before it, and wakes everyone whose bytes that
//! covered (group commit, as in raft-engine's writer queue). A failed write or fsync poisons
//! the channel ([`Poison`]): nothing is written again until it is reopened, and a failed fsync
//! is never retried. Failing to *start* a segment (open/create: EMFILE, ENFILE, EACCES, or
//! ENOSPC on its header) is not a failure of acknowledged data: the commit fails with
//! [`WalError::Roll`], the channel stays usable and the next append retries the same id.
//! A segment unlinked under the writer (its directory removed) poisons at the next fsync or
//! roll, so no commit is acknowledged into a file that no longer has a name.
//!
//! A writer opened on a recovered directory starts its segment only when the first append
//! needs one: opening a channel writes no segment header, so a restart on a full disk opens
//! (and does not use up a segment id per try).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::segment::{encode_header, segment_file_name, SegmentHeader, SEGMENT_HEADER_BYTES};
use super::table::SegmentTable;
use crate::io::{Fs, FsFile, OpenMode};

/// Errors of the write path.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// The channel is poisoned by an earlier write or fsync failure.
    #[error("channel refuses writes after an earlier I/O failure ({0}); reopen it to recover")]
    Poisoned(String),
    /// Not enough free space in a data directory.
    #[error("data directory {} has {available} bytes free; a put needs {required} (minimumRequiredSpace plus the transaction)", dir.display())]
    DiskFull {
        /// The directory.
        dir: PathBuf,
        /// Bytes free.
        available: u64,
        /// Bytes needed.
        required: u64,
    },
    /// The transaction does not fit in one segment.
    #[error("transaction of {0} bytes does not fit in one segment")]
    TooLarge(usize),
    /// A new segment could not be started (open, create or header write failed). Nothing
    /// acknowledged is at stake: the channel stays usable and the next append retries.
    #[error("start segment {}: {op}: {source} (the commit failed; the channel retries the segment at the next commit)", path.display())]
    Roll {
        /// What was being done.
        op: &'static str,
        /// The new segment's file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// An I/O error (the channel is poisoned when this comes from a write or fsync).
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

/// The latch that refuses writes after the first failed write or fsync.
#[derive(Debug, Default)]
pub struct Poison {
    cause: OnceLock<String>,
}

impl Poison {
    /// Fails if poisoned.
    pub fn check(&self) -> Result<(), WalError> {
        match self.cause.get() {
            Some(c) => Err(WalError::Poisoned(c.clone())),
            None => Ok(()),
        }
    }

    /// Latches the first cause.
    pub fn set(&self, cause: String) {
        tracing::error!(%cause, "channel poisoned: no further writes until it is reopened");
        let _ = self.cause.set(cause);
    }

    /// The cause, if poisoned.
    pub fn cause(&self) -> Option<&str> {
        self.cause.get().map(String::as_str)
    }
}

/// Where an append landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// Segment written.
    pub segment_id: u32,
    /// Offset of the first byte in that segment.
    pub offset: u64,
    /// Logical end of the bytes (for [`DirWriter::sync_to`]).
    pub end: u64,
}

#[derive(Debug)]
struct Active {
    /// The segment appended to; `None` until the first append needs one.
    file: Option<Arc<dyn FsFile>>,
    /// Its id; without a file, the directory's newest segment (0: none).
    segment_id: u32,
    /// Next append offset; without a file, the end of segment `segment_id`.
    offset: u64,
    written: u64,
    /// An id reserved by a roll that failed, retried by the next one.
    reserved_id: Option<u32>,
    /// A roll failed: nothing more goes to the old segment (the half-made new one is newer).
    must_roll: bool,
}

/// The newest segment of a directory, as recovery left it.
#[derive(Clone, Copy, Debug)]
pub struct LastSegment {
    /// Segment id.
    pub id: u32,
    /// Its clean length (after any cut).
    pub len: u64,
}

#[derive(Debug, Default)]
struct SyncState {
    synced: u64,
    syncing: bool,
}

/// Cached free space of a directory, refreshed at most every second (immediately after a
/// refusal, so puts resume as soon as space returns) and decremented by every write.
#[derive(Debug)]
struct SpaceGauge {
    available: AtomicU64,
    refreshed: Mutex<Option<Instant>>,
}

const SPACE_REFRESH: Duration = Duration::from_secs(1);

/// The writer of one data directory.
#[derive(Debug)]
pub struct DirWriter {
    dir: PathBuf,
    index: usize,
    fs: Arc<dyn Fs>,
    max_file_bytes: u64,
    active: Mutex<Active>,
    sync: Mutex<SyncState>,
    synced_cv: Condvar,
    poison: Arc<Poison>,
    ids: Arc<AtomicU32>,
    table: Arc<SegmentTable>,
    space: SpaceGauge,
    fsyncs: AtomicU64,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Creates segment `id` with its header, durably. `retry`: the id was reserved by an earlier
/// attempt that may have left a partial file, which is overwritten. Failures before the
/// directory fsync are [`WalError::Roll`] (nothing acknowledged is at stake); a failed
/// directory fsync is [`WalError::Io`] (the caller poisons: it is never retried).
fn create_segment(
    fs: &dyn Fs,
    dir: &Path,
    id: u32,
    prev_in_dir: u32,
    retry: bool,
) -> Result<Arc<dyn FsFile>, WalError> {
    let path = dir.join(segment_file_name(id));
    let roll_err = |op, source| WalError::Roll {
        op,
        path: path.clone(),
        source,
    };
    let mode = if retry {
        OpenMode::CreateTruncate
    } else {
        OpenMode::CreateNew
    };
    let file = fs.open(&path, mode).map_err(|e| roll_err("create", e))?;
    let header = encode_header(&SegmentHeader {
        segment_id: id,
        created_ms: now_ms(),
        prev_in_dir,
    });
    file.write_all_at(&header, 0)
        .map_err(|e| roll_err("write header", e))?;
    file.sync_data().map_err(|e| roll_err("sync header", e))?;
    fs.sync_dir(dir).map_err(|e| WalError::Io {
        op: "sync directory",
        path: dir.to_path_buf(),
        source: e,
    })?;
    Ok(file)
}

/// Fails if `file` (the segment `path`) no longer has a directory entry: its directory was
/// removed or the file unlinked under the channel.
fn check_linked(file: &dyn FsFile, path: &Path) -> Result<(), String> {
    match file.is_unlinked() {
        Ok(false) => Ok(()),
        Ok(true) => Err(format!(
            "segment {} was removed while the channel had it open (its data directory deleted or \
             replaced?); events committed to it are lost and reopening will refuse and name it",
            path.display()
        )),
        Err(e) => Err(format!("stat {}: {e}", path.display())),
    }
}

fn is_enospc(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOSPC) || e.kind() == io::ErrorKind::StorageFull
}

impl DirWriter {
    /// A writer on `dir`, whose newest segment recovery left as `last` (its position until
    /// the first append, which starts a new segment: old segments are never appended to).
    /// Nothing is written here.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        fs: Arc<dyn Fs>,
        dir: PathBuf,
        index: usize,
        max_file_bytes: u64,
        poison: Arc<Poison>,
        ids: Arc<AtomicU32>,
        table: Arc<SegmentTable>,
        last: Option<LastSegment>,
    ) -> Result<DirWriter, WalError> {
        let mut active = Active {
            file: None,
            segment_id: 0,
            offset: 0,
            written: 0,
            reserved_id: None,
            must_roll: false,
        };
        if let Some(last) = last {
            active.segment_id = last.id;
            active.offset = last.len;
        }
        Ok(DirWriter {
            dir,
            index,
            fs,
            max_file_bytes,
            active: Mutex::new(active),
            sync: Mutex::new(SyncState::default()),
            synced_cv: Condvar::new(),
            poison,
            ids,
            table,
            space: SpaceGauge {
                available: AtomicU64::new(0),
                refreshed: Mutex::new(None),
            },
            fsyncs: AtomicU64::new(0),
        })
    }

    /// The directory written.
    #[cfg(feature = "internals")]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory's index in `dataDirs`.
    pub fn index(&self) -> usize {
        self.index
    }

    /// fdatasync calls issued so far.
    pub fn fsync_count(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }

    /// The active segment and the offset the next append goes to.
    pub fn position(&self) -> (u32, u64) {
        let a = self.active.lock();
        (a.segment_id, a.offset)
    }

    /// Whether the writer's lock is free right now (used to place transactions).
    pub fn is_idle(&self) -> bool {
        !self.active.is_locked()
    }

    /// Bytes written but not yet covered by an fsync.
    #[cfg(feature = "internals")]
    pub fn unsynced_bytes(&self) -> u64 {
        let written = self.active.lock().written;
        written.saturating_sub(self.sync.lock().synced)
    }

    /// Lowers the free-space estimate by `bytes` written elsewhere on what may be the same
    /// file system (another data directory, a checkpoint); the next refresh corrects it.
    pub fn note_written_elsewhere(&self, bytes: u64) {
        let avail = self.space.available.load(Ordering::Relaxed);
        self.space
            .available
            .store(avail.saturating_sub(bytes), Ordering::Relaxed);
    }

    fn check_space(&self, min_free: u64, len: u64) -> Result<(), WalError> {
        let required = min_free.saturating_add(len);
        let mut refreshed = self.space.refreshed.lock();
        let stale = refreshed.is_none_or(|t| t.elapsed() >= SPACE_REFRESH);
        let mut available = self.space.available.load(Ordering::Relaxed);
        if stale || available < required {
            let fresh = self
                .fs
                .available_space(&self.dir)
                .map_err(|e| WalError::Io {
                    op: "read free space of",
                    path: self.dir.clone(),
                    source: e,
                })?;
            self.space.available.store(fresh, Ordering::Relaxed);
            *refreshed = Some(Instant::now());
            available = fresh;
        }
        if available < required {
            return Err(WalError::DiskFull {
                dir: self.dir.clone(),
                available,
                required,
            });
        }
        Ok(())
    }

    /// Appends `bytes` as one write. With `min_free`, refuses (without writing) when the
    /// directory would keep fewer free bytes than that. ENOSPC in the middle of the write
    /// truncates the partial bytes away and fails only this append; any other failure poisons.
    pub fn append(&self, bytes: &[u8], min_free: Option<u64>) -> Result<Appended, WalError> {
        self.poison.check()?;
        let mut a = self.active.lock();
        let len = bytes.len() as u64;
        let needs_roll = a.file.is_none()
            || a.must_roll
            || (a.offset + len > self.max_file_bytes && a.offset > SEGMENT_HEADER_BYTES);
        if let Some(min) = min_free {
            let header = if needs_roll { SEGMENT_HEADER_BYTES } else { 0 };
            self.check_space(min, len + header)?;
        }
        if needs_roll {
            self.roll(&mut a)?;
        }
        if a.offset + len > u64::from(u32::MAX) {
            return Err(WalError::TooLarge(bytes.len()));
        }
        let offset = a.offset;
        let Some(file) = a.file.clone() else {
            return Err(WalError::Poisoned("no active segment after a roll".into()));
        };
        if let Err(e) = file.write_all_at(bytes, offset) {
            let path = self.dir.join(segment_file_name(a.segment_id));
            if is_enospc(&e) {
                // Drop the partial record so it can never be replayed; if even that fails,
                // the tail is unknown and the channel must stop writing.
                if let Err(t) = file.set_len(offset) {
                    self.poison
                        .set(format!("truncate {} after ENOSPC: {t}", path.display()));
                }
                self.space.available.store(0, Ordering::Relaxed);
                return Err(WalError::DiskFull {
                    dir: self.dir.clone(),
                    available: 0,
                    required: len,
                });
            }
            self.poison.set(format!("write {}: {e}", path.display()));
            return Err(WalError::Io {
                op: "write",
                path,
                source: e,
            });
        }
        a.offset += len;
        a.written += len;
        let avail = self.space.available.load(Ordering::Relaxed);
        self.space
            .available
            .store(avail.saturating_sub(len), Ordering::Relaxed);
        Ok(Appended {
            segment_id: a.segment_id,
            offset,
            end: a.written,
        })
    }

    /// Seals the active segment (fdatasync) and starts a new one. A failure to start the new
    /// one leaves the channel usable (the id is kept for the next try); a failed fsync of the
    /// old one, or finding it unlinked, poisons.
    fn roll(&self, a: &mut Active) -> Result<(), WalError> {
        let old = self.dir.join(segment_file_name(a.segment_id));
        if let Some(file) = &a.file {
            if let Err(e) = file.sync_data() {
                self.poison.set(format!("fsync {}: {e}", old.display()));
                return Err(WalError::Io {
                    op: "fsync",
                    path: old,
                    source: e,
                });
            }
            self.fsyncs.fetch_add(1, Ordering::Relaxed);
            if let Err(cause) = check_linked(file.as_ref(), &old) {
                self.poison.set(cause.clone());
                return Err(WalError::Poisoned(cause));
            }
            {
                let mut s = self.sync.lock();
                s.synced = s.synced.max(a.written);
            }
            self.synced_cv.notify_all();
        }
        let retry = a.reserved_id.is_some();
        let id = match a.reserved_id {
            Some(id) => id,
            None => self.ids.fetch_add(1, Ordering::SeqCst),
        };
        let file = match create_segment(self.fs.as_ref(), &self.dir, id, a.segment_id, retry) {
            Ok(f) => f,
            Err(e @ WalError::Roll { .. }) => {
                tracing::warn!(dir = %self.dir.display(), segment = id, error = %e, "could not start a segment; the next commit retries");
                a.reserved_id = Some(id);
                a.must_roll = true;
                return Err(e);
            }
            Err(e) => {
                self.poison.set(format!("start segment {id}: {e}"));
                return Err(e);
            }
        };
        self.table.insert(
            id,
            self.index,
            self.dir.join(segment_file_name(id)),
            file.clone(),
        );
        tracing::debug!(dir = %self.dir.display(), segment = id, "rolled to a new segment");
        // Best effort: a head record that lags only narrows what recovery can see missing.
        if let Err(e) = super::head::write(self.fs.as_ref(), &self.dir, id) {
            tracing::warn!(dir = %self.dir.display(), segment = id, error = %e, "could not update the head record");
        }
        a.file = Some(file);
        a.segment_id = id;
        a.offset = SEGMENT_HEADER_BYTES;
        a.reserved_id = None;
        a.must_roll = false;
        Ok(())
    }

    /// Rolls to a new segment now (used after recovery and by tests).
    pub fn roll_now(&self) -> Result<(), WalError> {
        self.poison.check()?;
        let mut a = self.active.lock();
        self.roll(&mut a)
    }

    /// Returns once every byte up to logical position `end` is durable. Concurrent callers
    /// share fsyncs: one leader syncs for all.
    pub fn sync_to(&self, end: u64) -> Result<(), WalError> {
        let mut s = self.sync.lock();
        loop {
            self.poison.check()?;
            if s.synced >= end {
                return Ok(());
            }
            if s.syncing {
                self.synced_cv.wait(&mut s);
                continue;
            }
            s.syncing = true;
            drop(s);
            let (file, target, id) = {
                let a = self.active.lock();
                (a.file.clone(), a.written, a.segment_id)
            };
            let path = self.dir.join(segment_file_name(id));
            // The leader also checks (one fstat per fsync) that the segment still has a name:
            // bytes synced into an unlinked file are lost all the same.
            let result = match &file {
                Some(f) => {
                    self.fsyncs.fetch_add(1, Ordering::Relaxed);
                    match f.sync_data() {
                        Ok(()) => check_linked(f.as_ref(), &path)
                            .map_err(|cause| (cause.clone(), WalError::Poisoned(cause))),
                        Err(e) => Err((
                            format!("fsync {}: {e}", path.display()),
                            WalError::Io {
                                op: "fsync",
                                path: path.clone(),
                                source: e,
                            },
                        )),
                    }
                }
                None => Ok(()),
            };
            s = self.sync.lock();
            s.syncing = false;
            match result {
                Ok(()) => s.synced = s.synced.max(target),
                Err((cause, err)) => {
                    self.poison.set(cause);
                    self.synced_cv.notify_all();
                    return Err(err);
                }
            }
            self.synced_cv.notify_all();
        }
    }

    /// Makes everything written so far durable.
    pub fn sync_all(&self) -> Result<(), WalError> {
        let end = self.active.lock().written;
        self.sync_to(end)
    }
}
