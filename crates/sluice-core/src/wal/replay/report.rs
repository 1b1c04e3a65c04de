//! What replay finds and reports: the segments, the committed transactions, the damage met,
//! and why it refused to go on.

use std::io;
use std::path::{Path, PathBuf};

use super::CommittedTxn;
use crate::wal::acked::AckedEnds;
use crate::wal::seal::{FrameCodec, SealError};

/// A segment found on disk.
#[derive(Clone, Debug)]
pub struct FoundSegment {
    /// Segment id.
    pub id: u32,
    /// Index of its data directory.
    pub dir_index: usize,
    /// Path.
    pub path: PathBuf,
    /// Length in bytes after any truncation.
    pub len: u64,
    /// Records read from it in this replay.
    pub records: u64,
    /// How its records read: the salt of their CRCs (0 for a version-1 segment, else its id)
    /// and a sealed segment's data key.
    pub codec: FrameCodec,
    /// Its format version (the header's).
    pub version: u32,
}

/// A segment shorter than something durable says it was: cut back by an outside actor (no
/// crash shortens fdatasynced bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CutBack {
    /// The file.
    pub path: PathBuf,
    /// Its segment id.
    pub segment: u32,
    /// Index of its data directory.
    pub dir_index: usize,
    /// Its length now.
    pub len: u64,
    /// The length it had at least.
    pub held: u64,
    /// What says so.
    pub evidence: &'static str,
    /// Queued events whose records lay in the missing bytes (counted by recovery).
    pub events: u64,
    /// Events committed to it after the checkpoint may have been in the missing bytes too
    /// (their records are gone, so they cannot be counted).
    pub after_checkpoint: bool,
}

/// Evidence: the directory's acknowledged-end record.
pub const BY_ACKED_END: &str = "its directory's acknowledged-end record (acked-end)";
/// Evidence: the checkpoint's replay position.
pub const BY_POSITION: &str = "the checkpoint's replay position";
/// Evidence: the checkpoint's queued events.
pub const BY_QUEUED_EVENTS: &str = "the queued events pointing into it";

impl CutBack {
    /// Bytes missing at least.
    pub fn missing(&self) -> u64 {
        self.held.saturating_sub(self.len)
    }
}

impl std::fmt::Display for CutBack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "segment {} is cut back: it is {} bytes long, but {} says at least {} bytes of it \
             were durable ({} bytes missing, which no crash loses); {} queued events were in them",
            self.path.display(),
            self.len,
            self.evidence,
            self.held,
            self.missing(),
            self.events
        )?;
        if self.after_checkpoint {
            write!(
                f,
                ", and any events committed to it after the checkpoint (their records are gone, \
                 so they cannot be counted)"
            )?;
        }
        Ok(())
    }
}

/// What replay met on the way, for logs, tools and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Records read.
    pub records: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Torn tails truncated: (file, offset, bytes dropped).
    pub truncated: Vec<(PathBuf, u64, u64)>,
    /// Damaged regions skipped under `salvage`: (file, offset, bytes).
    pub skipped: Vec<(PathBuf, u64, u64)>,
    /// Where a version-2 segment's records end before bytes that are not its own (zeroes,
    /// then nothing that passes its salted CRC: a recycled file's earlier use, expected and
    /// not damage): (file, offset, bytes after it). In a directory's newest segment these
    /// bytes are trimmed like zeroed space.
    pub stale_tails: Vec<(PathBuf, u64, u64)>,
    /// Every problem as `file:offset: what`.
    pub problems: Vec<String>,
    /// Committed events known lost (a commit counted more puts than were readable).
    pub events_lost: u64,
    /// Puts whose transaction end was not found (never committed, or its end was damaged).
    pub uncommitted_puts: u64,
    /// Transactions without an end record.
    pub uncommitted_txns: u64,
    /// Events of committed transactions whose commit record lay in a cut tail (readable
    /// records after damage in a directory's newest segment, cut under `tolerate-tail`):
    /// acknowledged, unless a crash left them unsynced and out of order.
    pub events_cut: u64,
    /// Segments cut back (shorter than a durable record says), each with what it cost.
    pub cut_back: Vec<CutBack>,
    /// Queued events whose records lay in the missing bytes of a cut-back segment, dropped
    /// under `salvage` (other policies refuse to open).
    pub events_cut_back: u64,
    /// Segments set aside under `salvage` as not the channel's own (a plain segment past the
    /// first sealed one), never read into the channel: (file, committed events in it).
    pub set_aside: Vec<(PathBuf, u64)>,
    /// The committed events of the set-aside segments (not delivered).
    pub events_set_aside: u64,
}

/// The result of a replay.
#[derive(Clone, Debug, Default)]
pub struct ReplayOutcome {
    /// Committed transactions in commit order.
    pub committed: Vec<CommittedTxn>,
    /// Highest record sequence number seen (0 if none).
    pub max_seq: u64,
    /// Highest transaction id seen.
    pub max_txid: u64,
    /// Highest segment id found.
    pub max_segment_id: u32,
    /// Every segment found, in id order.
    pub segments: Vec<FoundSegment>,
    /// Segments known to be missing from the middle of a directory after its replay position:
    /// a later segment's header names it as its predecessor. (dir index, id, named by).
    pub chain_gaps: Vec<(usize, u32, PathBuf)>,
    /// What was met.
    pub report: ReplayReport,
    /// Each data directory's acknowledged-end record as found: (dir index, record).
    pub acked: Vec<(usize, AckedEnds)>,
}

/// Why replay refused to go on.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A damaged record or header the policy does not tolerate.
    #[error("{}:{offset}: {detail}", path.display())]
    Corrupt {
        /// File.
        path: PathBuf,
        /// Offset of the damage.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// I/O failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// Which path.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A sealed segment whose data key cannot be had: no encryption configured, its key's
    /// alias not listed, or a different key under that alias.
    #[error("{}: {source}", path.display())]
    Seal {
        /// The segment.
        path: PathBuf,
        /// Why.
        source: SealError,
    },
    /// The same segment id in two places.
    #[error("segment id {id} exists twice: {} and {}", first.display(), second.display())]
    DuplicateSegment {
        /// The id.
        id: u32,
        /// One copy.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
}

/// Where to start reading one directory: a segment id and offset (from a checkpoint).
pub type StartPosition = Option<(u32, u64)>;

/// The error of an I/O operation `op` on `path`.
pub(super) fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> ReplayError + 'a {
    move |source| ReplayError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}
