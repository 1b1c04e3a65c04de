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

mod error;
mod group_commit;
mod poison;
mod space;
mod start;

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

pub use self::error::WalError;
pub use self::poison::Poison;
#[cfg(feature = "internals")]
pub use self::poison::PoisonCause;
use self::space::SpaceGauge;
use self::start::{check_linked, create_segment, is_enospc};
use super::segment::{segment_file_name, SEGMENT_HEADER_BYTES};
use super::table::SegmentTable;
use crate::io::{Fs, FsFile};

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
        assert!(
            max_file_bytes > SEGMENT_HEADER_BYTES,
            "maxFileSize {max_file_bytes} leaves no room after a segment header"
        );
        let mut active = Active {
            file: None,
            segment_id: 0,
            offset: 0,
            written: 0,
            reserved_id: None,
            must_roll: false,
        };
        if let Some(last) = last {
            assert!(last.id > 0, "segment id 0 is never written");
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
            space: SpaceGauge::new(),
            fsyncs: AtomicU64::new(0),
        })
    }

    /// The directory written.
    #[cfg(feature = "internals")]
    pub fn dir(&self) -> &std::path::Path {
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
        // Read under two locks one after the other: a sync finishing in between may cover
        // bytes written after `written` was read, so this saturates (a gauge, not a bound).
        written.saturating_sub(self.sync.lock().synced)
    }

    /// Lowers the free-space estimate by `bytes` written elsewhere on what may be the same
    /// file system (another data directory, a checkpoint); the next refresh corrects it.
    pub fn note_written_elsewhere(&self, bytes: u64) {
        self.space.note_written(bytes);
    }

    /// The file of segment `id` in this directory.
    fn segment_path(&self, id: u32) -> PathBuf {
        self.dir.join(segment_file_name(id))
    }

    /// Appends `bytes` as one write. With `min_free`, refuses (without writing) when the
    /// directory would keep fewer free bytes than that. ENOSPC in the middle of the write
    /// truncates the partial bytes away and fails only this append; any other failure poisons.
    pub fn append(&self, bytes: &[u8], min_free: Option<u64>) -> Result<Appended, WalError> {
        assert!(!bytes.is_empty(), "an empty append");
        self.poison.check()?;
        let mut a = self.active.lock();
        let len = bytes.len() as u64;
        let needs_roll = a.file.is_none()
            || a.must_roll
            || (a.offset + len > self.max_file_bytes && a.offset > SEGMENT_HEADER_BYTES);
        if let Some(min) = min_free {
            let header = if needs_roll { SEGMENT_HEADER_BYTES } else { 0 };
            self.space
                .check(self.fs.as_ref(), &self.dir, min, len + header)?;
        }
        if needs_roll {
            self.roll(&mut a)?;
        }
        // Offsets are 32-bit in event pointers: a segment never grows past `u32::MAX`.
        if a.offset + len > u64::from(u32::MAX) {
            return Err(WalError::TooLarge(bytes.len()));
        }
        let offset = a.offset;
        assert!(
            offset >= SEGMENT_HEADER_BYTES,
            "append at {offset}, inside the header"
        );
        let Some(file) = a.file.clone() else {
            let path = self.segment_path(a.segment_id);
            let lost = io::Error::other("no active segment after a roll");
            return Err(self.poison.refuse("append to", path, lost));
        };
        if let Err(e) = file.write_all_at(bytes, offset) {
            return Err(self.write_failed(file.as_ref(), a.segment_id, offset, len, e));
        }
        a.offset += len;
        a.written += len;
        self.space.note_written(len);
        Ok(Appended {
            segment_id: a.segment_id,
            offset,
            end: a.written,
        })
    }

    /// Handles a failed append of `len` bytes at `offset`: ENOSPC cuts the partial bytes away
    /// and fails only this append (poisoning if even the cut fails); anything else poisons.
    fn write_failed(
        &self,
        file: &dyn FsFile,
        segment_id: u32,
        offset: u64,
        len: u64,
        e: io::Error,
    ) -> WalError {
        let path = self.segment_path(segment_id);
        if !is_enospc(&e) {
            self.poison.set("write", path.clone(), &e);
            return WalError::Io {
                op: "write",
                path,
                source: e,
            };
        }
        // Drop the partial record so it can never be replayed; if even that fails, the tail
        // is unknown and the channel must stop writing.
        if let Err(t) = file.set_len(offset) {
            self.poison.set("truncate after ENOSPC", path, &t);
        }
        self.space.note_full();
        WalError::DiskFull {
            dir: self.dir.clone(),
            available: 0,
            required: len,
        }
    }

    /// Seals the active segment (fdatasync) and starts a new one. A failure to start the new
    /// one leaves the channel usable (the id is kept for the next try); a failed fsync of the
    /// old one, or finding it unlinked, poisons.
    fn roll(&self, a: &mut Active) -> Result<(), WalError> {
        if let Some(file) = a.file.clone() {
            self.seal(a, file.as_ref())?;
        }
        let retry = a.reserved_id.is_some();
        let id = match a.reserved_id {
            Some(id) => id,
            None => self.ids.fetch_add(1, Ordering::SeqCst),
        };
        assert!(id > a.segment_id, "new segment {id} after {}", a.segment_id);
        let file = match create_segment(self.fs.as_ref(), &self.dir, id, a.segment_id, retry) {
            Ok(f) => f,
            Err(e @ WalError::Roll { .. }) => {
                tracing::warn!(dir = %self.dir.display(), segment = id, error = %e, "could not start a segment; the next commit retries");
                a.reserved_id = Some(id);
                a.must_roll = true;
                return Err(e);
            }
            Err(e) => {
                if let WalError::Io { op, path, source } = &e {
                    self.poison.set(op, path.clone(), source);
                }
                return Err(e);
            }
        };
        self.table
            .insert(id, self.index, self.segment_path(id), file.clone());
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

    /// Makes the active segment `file` durable before the roll leaves it, and checks that it
    /// still has a name; either failure poisons.
    fn seal(&self, a: &Active, file: &dyn FsFile) -> Result<(), WalError> {
        let old = self.segment_path(a.segment_id);
        if let Err(e) = file.sync_data() {
            self.poison.set("fsync", old.clone(), &e);
            return Err(WalError::Io {
                op: "fsync",
                path: old,
                source: e,
            });
        }
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = check_linked(file) {
            return Err(self.poison.refuse("stat", old, e));
        }
        {
            let mut s = self.sync.lock();
            s.synced = s.synced.max(a.written);
        }
        self.synced_cv.notify_all();
        Ok(())
    }

    /// Rolls to a new segment now (used after recovery and by tests).
    pub fn roll_now(&self) -> Result<(), WalError> {
        self.poison.check()?;
        let mut a = self.active.lock();
        self.roll(&mut a)
    }
}
