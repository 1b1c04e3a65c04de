//! The channel's shared state and its public report types, in a file of their own so the
//! channel's parts (`checkpointer`, `recovery`, `transaction`, `gc`, `compact`, `ledger`) import them
//! from here and never from `channel/mod.rs`, which imports those parts.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use super::bound::DiskBound;
use super::config::FileChannelConfig;
use super::dedup::Dedup;
use super::event_cache::EventCache;
use super::ledger::DirLedger;
use super::state::{Capacity, QueueState};
use crate::io::{DirLock, Fs};
use crate::wal::replay::ReplayReport;
use crate::wal::seal::Keyring;
use crate::wal::table::SegmentTable;
use crate::wal::writer::{DirWriter, GroupCommitStats, Poison};

/// Where an open found the channel's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoverySource {
    /// The checkpoint in `checkpointDir`, plus the log after it.
    Checkpoint,
    /// The backup checkpoint, plus the log after it.
    BackupCheckpoint,
    /// The whole log (no usable checkpoint).
    FullReplay,
}

/// What the last open did.
#[derive(Clone, Debug)]
pub struct RecoveryInfo {
    /// Where the state came from.
    pub source: RecoverySource,
    /// Why a checkpoint was not used, for each one tried and refused.
    pub fallbacks: Vec<String>,
    /// What replay met.
    pub report: ReplayReport,
    /// Queued events after recovery.
    pub recovered_events: u64,
    /// Events known to be lost: in missing segments or damaged records (salvage), and in
    /// tails cut under `tolerate-tail` (`report.events_cut`).
    pub events_lost: u64,
    /// Missing segment files `salvage` opened without, one line each.
    pub missing_segments: Vec<String>,
    /// Wall time of the open.
    pub elapsed: std::time::Duration,
}

/// Counters and gauges of a channel (Flume's FileChannelCounter and more).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelStats {
    /// Events queued and not taken (Flume's ChannelSize).
    pub queued: u64,
    /// Events taken by open transactions.
    pub in_flight_takes: u64,
    /// `capacity`.
    pub capacity: u64,
    /// `capacityBytes` (0: no byte bound).
    pub capacity_bytes: u64,
    /// With `capacityBytes`: the bytes of the channel's files as the channel counts them
    /// (measured at each checkpoint, plus what was appended since); 0 without one
    /// ([`FileChannel::size_bytes`] measures).
    pub size_bytes: u64,
    /// Puts refused at `capacityBytes` (after reclaiming and waiting `keep-alive`).
    pub puts_refused_bytes: u64,
    /// Full at `capacityBytes`: the last put was refused there and no put fitted nor take
    /// committed since.
    pub full_bytes: bool,
    /// Puts that failed (EventPutErrorCount).
    pub put_errors: u64,
    /// Takes that failed (EventTakeErrorCount).
    pub take_errors: u64,
    /// Failed checkpoint writes (CheckpointWriteErrorCount).
    pub checkpoint_write_errors: u64,
    /// Failed backup checkpoint writes (CheckpointBackupWriteErrorCount).
    pub checkpoint_backup_write_errors: u64,
    /// Checkpoints written.
    pub checkpoints: u64,
    /// fdatasync calls on data segments.
    pub fsyncs: u64,
    /// Committed transactions.
    pub commits: u64,
    /// Segments on disk.
    pub segments: u64,
    /// Segments deleted since open (unlinked, or renamed to a spare for recycling).
    pub segments_deleted: u64,
    /// Segments started in a recycled spare file since open (`recycleSegments`).
    pub segments_recycled: u64,
    /// Whether the channel is open.
    pub open: bool,
    /// Whether the channel is poisoned (refuses writes until reopened).
    pub unhealthy: bool,
    /// Committed events the last open could not recover (cut tails, missing segments,
    /// damaged records), as `RecoveryInfo::events_lost` (EventsLostOnOpen).
    pub events_lost_on_open: u64,
    /// Takes served from the event cache (`tailCacheSize`) instead of the segment files.
    pub tail_cache_hits: u64,
    /// Takes the event cache did not hold, read from the segment files (counted once it has
    /// kept an event).
    pub tail_cache_misses: u64,
    /// Where group commit's time goes, summed over the data directories.
    pub group_commit: GroupCommitStats,
    /// Puts dropped because the channel had committed their event id before
    /// (EventDuplicateCount).
    pub duplicates: u64,
    /// Puts whose event id the channel refused (malformed, past `ID_MAX`, wider than one
    /// event, or one of its own ids not given yet) and numbered afresh (EventIdRefusedCount).
    pub ids_refused: u64,
    /// Origins the deduplication table holds.
    pub dedup_origins: u64,
    /// New origins the full deduplication table did not remember since open: every origin
    /// it held was committed within `recent_ms` (DedupOriginTurnedAwayCount).
    pub dedup_origins_turned_away: u64,
    /// Puts dropped as duplicates whose body differs from the event committed under their
    /// id, within the last ids committed (EventDuplicateConflictCount).
    pub duplicate_conflicts: u64,
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) put_errors: AtomicU64,
    pub(super) take_errors: AtomicU64,
    pub(super) checkpoint_write_errors: AtomicU64,
    pub(super) checkpoint_backup_write_errors: AtomicU64,
    pub(super) checkpoints: AtomicU64,
    pub(super) commits: AtomicU64,
    pub(super) segments_deleted: AtomicU64,
    pub(super) puts_refused_bytes: AtomicU64,
}

#[derive(Debug, Default)]
pub(crate) struct Shutdown {
    pub(super) stop: Mutex<bool>,
    pub(super) cv: Condvar,
}

#[derive(Debug)]
pub(super) struct Inner {
    pub(super) config: FileChannelConfig,
    /// The configured encryption keys, loaded: they seal segments and checkpoints.
    pub(super) keyring: Option<Arc<Keyring>>,
    pub(super) fs: Arc<dyn Fs>,
    pub(super) writers: Vec<DirWriter>,
    pub(super) table: Arc<SegmentTable>,
    /// The newest committed events, for takers that keep up (`tailCacheSize`).
    pub(super) events: Arc<EventCache>,
    pub(super) poison: Arc<Poison>,
    pub(super) seq_next: AtomicU64,
    pub(super) txid_next: AtomicU64,
    pub(super) segment_ids: Arc<AtomicU32>,
    /// One per data directory: appended transactions not yet applied and the replay position
    /// a checkpoint may use (no commit gate: see `ledger`).
    pub(super) ledgers: Vec<DirLedger>,
    pub(super) state: Mutex<QueueState>,
    pub(super) capacity: Capacity,
    /// The byte bound (`capacityBytes`) and the bytes counted against it.
    pub(super) bound: DiskBound,
    pub(super) rr: AtomicUsize,
    pub(super) locks: Mutex<Vec<Box<dyn DirLock>>>,
    pub(super) closed: AtomicBool,
    pub(super) counters: Counters,
    pub(super) checkpoint_lock: Mutex<()>,
    /// Segment id of each directory's position in the last good backup checkpoint.
    pub(super) backup_positions: Mutex<Option<Vec<u32>>>,
    pub(super) shutdown: Arc<Shutdown>,
    pub(super) threads: Mutex<Vec<JoinHandle<()>>>,
    pub(super) recovery: RecoveryInfo,
    /// Event ids and the committed-id table (`eventIds`).
    pub(super) dedup: Dedup,
    /// The last committed value of each cursor key (`Transaction::set_cursor`).
    pub(super) cursors: Mutex<super::apply::Cursors>,
}

/// A durable, transactional event queue over one or more data directories.
#[derive(Clone, Debug)]
pub struct FileChannel {
    pub(super) inner: Arc<Inner>,
}
