//! Per-directory segment writer with group commit, segment rolling and a free-space gauge.
//!
//! Each data directory has one [`DirWriter`]. A commit appends its whole transaction as one
//! contiguous write under the writer's lock, then calls [`DirWriter::sync_to`] with the
//! logical end of its bytes. The first waiter becomes the leader: it fdatasyncs the active
//! segment once, covering every byte written before it, and wakes everyone whose bytes that
//! covered (group commit, as in raft-engine's writer queue). A failed write or fsync poisons
//! the channel ([`Poison`]): nothing is written again until it is reopened, and a failed fsync
//! is never retried.

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
    file: Arc<dyn FsFile>,
    segment_id: u32,
    offset: u64,
    written: u64,
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

fn create_segment(fs: &dyn Fs, dir: &Path, id: u32) -> Result<Arc<dyn FsFile>, WalError> {
    let path = dir.join(segment_file_name(id));
    let io_err = |op, source| WalError::Io {
        op,
        path: path.clone(),
        source,
    };
    let file = fs
        .open(&path, OpenMode::CreateNew)
        .map_err(|e| io_err("create segment", e))?;
    let header = encode_header(&SegmentHeader {
        segment_id: id,
        created_ms: now_ms(),
    });
    file.write_all_at(&header, 0)
        .map_err(|e| io_err("write segment header", e))?;
    file.sync_data()
        .map_err(|e| io_err("sync segment header", e))?;
    fs.sync_dir(dir).map_err(|e| WalError::Io {
        op: "sync directory",
        path: dir.to_path_buf(),
        source: e,
    })?;
    Ok(file)
}

fn is_enospc(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOSPC) || e.kind() == io::ErrorKind::StorageFull
}

impl DirWriter {
    /// Creates a new segment in `dir` and a writer on it.
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        fs: Arc<dyn Fs>,
        dir: PathBuf,
        index: usize,
        max_file_bytes: u64,
        poison: Arc<Poison>,
        ids: Arc<AtomicU32>,
        table: Arc<SegmentTable>,
    ) -> Result<DirWriter, WalError> {
        let id = ids.fetch_add(1, Ordering::SeqCst);
        let file = create_segment(fs.as_ref(), &dir, id)?;
        table.insert(id, index, dir.join(segment_file_name(id)), file.clone());
        Ok(DirWriter {
            dir,
            index,
            fs,
            max_file_bytes,
            active: Mutex::new(Active {
                file,
                segment_id: id,
                offset: SEGMENT_HEADER_BYTES,
                written: 0,
            }),
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
    pub fn unsynced_bytes(&self) -> u64 {
        let written = self.active.lock().written;
        written.saturating_sub(self.sync.lock().synced)
    }

    fn check_space(&self, min_free: u64, len: usize) -> Result<(), WalError> {
        let required = min_free + len as u64;
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
        if let Some(min) = min_free {
            self.check_space(min, bytes.len())?;
        }
        let len = bytes.len() as u64;
        if a.offset + len > self.max_file_bytes && a.offset > SEGMENT_HEADER_BYTES {
            self.roll(&mut a)?;
        }
        if a.offset + len > u64::from(u32::MAX) {
            return Err(WalError::TooLarge(bytes.len()));
        }
        let offset = a.offset;
        if let Err(e) = a.file.write_all_at(bytes, offset) {
            let path = self.dir.join(segment_file_name(a.segment_id));
            if is_enospc(&e) {
                // Drop the partial record so it can never be replayed; if even that fails,
                // the tail is unknown and the channel must stop writing.
                if let Err(t) = a.file.set_len(offset) {
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

    /// Seals the active segment (fdatasync) and starts a new one.
    fn roll(&self, a: &mut Active) -> Result<(), WalError> {
        let old = self.dir.join(segment_file_name(a.segment_id));
        if let Err(e) = a.file.sync_data() {
            self.poison.set(format!("fsync {}: {e}", old.display()));
            return Err(WalError::Io {
                op: "fsync",
                path: old,
                source: e,
            });
        }
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        {
            let mut s = self.sync.lock();
            s.synced = s.synced.max(a.written);
        }
        self.synced_cv.notify_all();
        let id = self.ids.fetch_add(1, Ordering::SeqCst);
        let file = match create_segment(self.fs.as_ref(), &self.dir, id) {
            Ok(f) => f,
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
        a.file = file;
        a.segment_id = id;
        a.offset = SEGMENT_HEADER_BYTES;
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
            let result = file.sync_data();
            self.fsyncs.fetch_add(1, Ordering::Relaxed);
            s = self.sync.lock();
            s.syncing = false;
            match result {
                Ok(()) => s.synced = s.synced.max(target),
                Err(e) => {
                    let path = self.dir.join(segment_file_name(id));
                    self.poison.set(format!("fsync {}: {e}", path.display()));
                    self.synced_cv.notify_all();
                    return Err(WalError::Io {
                        op: "fsync",
                        path,
                        source: e,
                    });
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
