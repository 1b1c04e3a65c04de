//! Per-directory segment writer with group commit, segment rolling and a free-space gauge.
//!
//! Each data directory has one [`DirWriter`]. A commit appends its whole transaction as one
//! contiguous write under the writer's lock, then calls [`DirWriter::sync_to`] with the
//! logical end of its bytes. A waiter no running leader covers becomes a leader: it
//! fdatasyncs the active segment once, covering every byte written before it, and wakes
//! everyone whose bytes that covered (group commit, as in raft-engine's writer queue; up to
//! `groupCommitLeaders` leaders overlap, see [`group_commit`](self::group_commit)). A failed write or fsync poisons
//! the channel ([`Poison`]): nothing is written again until it is reopened, and a failed fsync
//! is never retried. Failing to *start* a segment (open/create: EMFILE, ENFILE, EACCES, or
//! ENOSPC on its header) is not a failure of acknowledged data: the commit fails with
//! [`WalError::Roll`], the channel stays usable and the next append retries the same id.
//! A segment unlinked under the writer (its directory removed) poisons at the next fsync or
//! roll, so no commit is acknowledged into a file that no longer has a name.
//!
//! With direct I/O (`directIo = auto | true`, where the file system takes it) an append only
//! copies its bytes into the segment's aligned tail buffer ([`direct`]); the leader writes
//! everything pending as whole blocks with `O_DIRECT` and one fdatasync, then gives the buffer
//! back to the channel's pool. Device writes and rolls are serialized by the `io` lock (taken
//! before `active`), so the partial block rewritten by each write is never raced by another;
//! a leader's fdatasync runs after it has released `io`.
//!
//! Every segment a writer starts is format version 2: its records' CRCs are salted with its id
//! ([`DirWriter::active_salt`]; bytes encoded for another segment are re-salted in `place`).
//! With direct I/O, a retired segment's file waits as a spare and a roll writes the next
//! segment into it instead of a fresh file ([`recycle`]); in a fresh file, leaders of small
//! groups write zeros ahead of their data ([`zero_ahead`]), so that either way steady-state
//! writes overwrite written blocks and an fdatasync commits no extent conversion.
//!
//! A writer opened on a recovered directory starts its segment only when the first append
//! needs one: opening a channel writes no segment header, so a restart on a full disk opens
//! (and does not use up a segment id per try).

mod acked_end;
mod append;
mod commit_stats;
mod direct;
mod direct_probe;
mod direct_writes;
mod error;
mod full_disk;
mod group_commit;
mod poison;
mod records;
mod recycle;
mod roll;
mod space;
mod start;
mod sync_state;
mod zero_ahead;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use self::acked_end::AckedEnd;
use self::commit_stats::CommitTimers;
pub use self::commit_stats::GroupCommitStats;
pub use self::direct::DirectIo;
use self::direct::DirectTail;
pub use self::error::WalError;
pub use self::poison::Poison;
#[cfg(feature = "internals")]
pub use self::poison::PoisonCause;
#[cfg(test)]
pub use self::records::Encoded;
pub use self::records::{copy_salted, Records};
use self::space::SpaceGauge;
use self::sync_state::SyncState;
pub use self::sync_state::{LEADERS_DEFAULT, LEADERS_MAX};
use self::zero_ahead::IoScratch;
use super::seal::{Keyring, SegmentKey, SEALED_RECORDS_START};
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
    /// The bytes wait in the direct-I/O buffer: [`DirWriter::flush_to`] (or `sync_to`) must
    /// write them before anyone reads them from the file.
    pub pending_write: bool,
}

#[derive(Debug)]
struct Active {
    /// The segment appended to (buffered handle); `None` until the first append needs one.
    file: Option<Arc<dyn FsFile>>,
    /// Its direct-I/O tail, when it is written with `O_DIRECT`.
    direct: Option<DirectTail>,
    /// It is a recycled file written through the page cache: every append carries zeros to a
    /// page boundary past its end ([`recycle::page_pad`]).
    padded: bool,
    /// Its id; without a file, the directory's newest segment (0: none).
    segment_id: u32,
    /// Next append offset; without a file, the end of segment `segment_id`.
    offset: u64,
    written: u64,
    /// An id reserved by a roll that failed, retried by the next one.
    reserved_id: Option<u32>,
    /// A roll failed: nothing more goes to the old segment (the half-made new one is newer).
    must_roll: bool,
    /// Its data key, when the segment is sealed.
    key: Option<Arc<SegmentKey>>,
}

/// The newest segment of a directory, as recovery left it.
#[derive(Clone, Copy, Debug)]
pub struct LastSegment {
    /// Segment id.
    pub id: u32,
    /// Its clean length (after any cut).
    pub len: u64,
}

/// The writer of one data directory.
#[derive(Debug)]
pub struct DirWriter {
    dir: PathBuf,
    index: usize,
    fs: Arc<dyn Fs>,
    max_file_bytes: u64,
    direct_mode: DirectIo,
    /// The directory refused direct I/O once (with `Auto`: its probe, or an open): buffered
    /// from then on.
    direct_refused: AtomicBool,
    /// With `Auto`: the probe found that the directory takes direct I/O (`direct_probe`).
    direct_probed: AtomicBool,
    /// Serializes device writes and rolls; always taken before `active`. Holds the zeros
    /// leaders write ahead (`zero_ahead`).
    io: Mutex<IoScratch>,
    active: Mutex<Active>,
    sync: Mutex<SyncState>,
    synced_cv: Condvar,
    /// Wakes a gathering leader when its group has arrived (`group_commit`).
    gather_cv: Condvar,
    poison: Arc<Poison>,
    ids: Arc<AtomicU32>,
    table: Arc<SegmentTable>,
    space: SpaceGauge,
    fsyncs: AtomicU64,
    /// Group-commit leaders in flight at most (`groupCommitLeaders`).
    max_leaders: usize,
    timers: CommitTimers,
    /// The CRC salt of the active segment (its id: every segment written is version 2), read
    /// without a lock by encoders ([`DirWriter::active_salt`]).
    active_salt: AtomicU32,
    /// Spare files of retired segments kept for recycling, at most `recycle_max`.
    spares: Mutex<Vec<PathBuf>>,
    /// `recycleSegments`: spares kept at most (0: segments are unlinked).
    recycle_max: usize,
    /// Segments started in a recycled spare.
    recycled: AtomicU64,
    /// The `minimumRequiredSpace` of the last put checked (spares are kept only above it).
    min_free_seen: AtomicU64,
    /// The directory's acknowledged-end record, kept fresh by leaders (`acked_end`).
    acked: AckedEnd,
    /// With encryption on: the keys that seal every segment this writer starts.
    keyring: Option<Arc<Keyring>>,
    /// The channel's id: its tag in every plain segment's header, all of it in every sealed
    /// segment's seal block.
    channel: [u8; 16],
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
        (direct_mode, max_leaders, recycle_max, acked_refresh_ns): (DirectIo, usize, usize, u64),
    ) -> Result<DirWriter, WalError> {
        assert!(
            max_file_bytes > SEGMENT_HEADER_BYTES,
            "maxFileSize {max_file_bytes} leaves no room after a segment header"
        );
        let acked_ends = crate::wal::acked::read(fs.as_ref(), &dir).ends().to_vec();
        let mut active = Active {
            file: None,
            direct: None,
            padded: false,
            segment_id: 0,
            offset: 0,
            written: 0,
            reserved_id: None,
            must_roll: false,
            key: None,
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
            direct_mode,
            direct_refused: AtomicBool::new(false),
            direct_probed: AtomicBool::new(false),
            io: Mutex::new(IoScratch::default()),
            active: Mutex::new(active),
            sync: Mutex::new(SyncState::default()),
            synced_cv: Condvar::new(),
            gather_cv: Condvar::new(),
            poison,
            ids,
            table,
            space: SpaceGauge::new(),
            fsyncs: AtomicU64::new(0),
            max_leaders: max_leaders.clamp(1, LEADERS_MAX),
            timers: CommitTimers::new(),
            active_salt: AtomicU32::new(0),
            spares: Mutex::new(Vec::new()),
            recycle_max,
            recycled: AtomicU64::new(0),
            min_free_seen: AtomicU64::new(0),
            acked: AckedEnd::loaded(acked_ends, acked_refresh_ns),
            keyring: None,
            channel: [0; 16],
        }
        .with_spares_found())
    }

    /// Seals every segment this writer starts with `keyring`'s active key (none: plain), and
    /// names channel `channel` in each.
    pub fn with_keyring(mut self, keyring: Option<Arc<Keyring>>, channel: [u8; 16]) -> Self {
        self.keyring = keyring;
        self.channel = channel;
        self
    }

    /// Whether the segments this writer starts are sealed.
    pub fn seals(&self) -> bool {
        self.keyring.is_some()
    }

    /// Where records start in the segments this writer starts.
    fn records_start(&self) -> u64 {
        if self.keyring.is_some() {
            SEALED_RECORDS_START
        } else {
            SEGMENT_HEADER_BYTES
        }
    }

    /// The data key of the active segment, when it is sealed.
    #[cfg(feature = "internals")]
    pub fn active_key(&self) -> Option<Arc<SegmentKey>> {
        self.active.lock().key.clone()
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

    /// Segments started in a recycled spare file so far.
    pub fn recycled_count(&self) -> u64 {
        self.recycled.load(Ordering::Relaxed)
    }

    /// The CRC salt of the active segment: what a transaction encoded now should be salted
    /// with (a roll before its append costs one re-salt in [`DirWriter::append`]).
    pub fn active_salt(&self) -> u32 {
        self.active_salt.load(Ordering::Relaxed)
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

    /// Rolls to a new segment now (used after recovery and by tests).
    pub fn roll_now(&self) -> Result<(), WalError> {
        self.poison.check()?;
        let _io = self.io.lock();
        let mut a = self.active.lock();
        self.roll(&mut a)
    }
}
