//! What `verify` reports: each [`Problem`] as `file:offset: what`, and the [`Verification`].

use std::fmt;
use std::path::{Path, PathBuf};

use crate::wal::table::ReadError;

/// The state of one checkpoint file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointState {
    /// It decodes and its checksum holds.
    Valid {
        /// When it was written (ms since the epoch).
        created_ms: u64,
        /// Queue entries it holds.
        entries: u64,
    },
    /// There is no such file.
    Missing,
    /// It cannot be used: why.
    Invalid(String),
}

/// A checkpoint file and its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointCheck {
    /// `"checkpoint"` or `"backup"`.
    pub role: &'static str,
    /// The file.
    pub path: PathBuf,
    /// What was found.
    pub state: CheckpointState,
}

/// One thing wrong with a channel: where, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// Byte offset in it (0 for a problem with the whole file).
    pub offset: u64,
    /// What is wrong.
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.offset, self.what)
    }
}

pub(super) fn problem(file: &Path, offset: u64, what: impl Into<String>) -> Problem {
    Problem {
        file: file.to_path_buf(),
        offset,
        what: what.into(),
    }
}

/// Everything a verification found.
#[derive(Debug, Default)]
pub struct Verification {
    /// Every problem, in the order: checkpoints, segments (by directory, id, offset),
    /// checkpoint cross-checks, recovered events.
    pub problems: Vec<Problem>,
    /// The checkpoint and, with dual checkpoints, the backup.
    pub checkpoints: Vec<CheckpointCheck>,
    /// Segment files found.
    pub segments: u64,
    /// Records read and found good.
    pub records: u64,
    /// Bytes of all segments.
    pub bytes: u64,
    /// Transactions whose records end without a commit or rollback (a torn last write).
    pub unfinished_txns: u64,
    /// Events the channel would hold after opening it.
    pub queued: u64,
    /// Why `open` would refuse the channel under its configured recovery policy, if it would.
    pub open_refusal: Option<String>,
    /// Sealed segments by the alias of the key that wraps their data key (every tag of their
    /// records checked).
    pub sealed_by: std::collections::BTreeMap<String, u64>,
}

impl Verification {
    /// Whether nothing at all is wrong: no problem found, and `open` would take the channel
    /// as configured (a channel the agent refuses is never sound, whatever the scan found).
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty() && self.open_refusal.is_none()
    }
}

/// A problem reading an event back, at `offset` of `file` unless the error names its own place.
pub(super) fn read_problem(file: &Path, offset: u64, e: ReadError) -> Problem {
    match e {
        ReadError::Corrupt {
            path,
            offset,
            detail,
        } => problem(&path, offset, detail),
        ReadError::Io { path, source } => problem(&path, offset, format!("cannot read: {source}")),
        ReadError::MissingSegment(s) => problem(file, offset, format!("segment {s} is missing")),
    }
}
