//! Replay: rebuilds the committed transactions from the segments of every data directory.
//!
//! Each directory is scanned on its own thread, from the checkpoint's position for that
//! directory (or from the start), feeding every record to an [`Assembler`] that yields the
//! committed transactions. The committed transactions of all directories are then merged by
//! the sequence number of their commit records: the global commit order. Damage is classified
//! ([`Damage`] at a [`Position`]) and handed to [`RecoveryPolicy::decide`]; every truncation and
//! skip is logged and reported.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

mod dir;

pub use super::assemble::CommittedTxn;
use super::policy::{Damage, RecoveryPolicy, Repair};
use super::segment::{
    decode_header, parse_segment_file_name, HeaderError, SegmentHeader, SEGMENT_HEADER_BYTES,
};
use crate::io::{Fs, FsFile};
use dir::{replay_dir, DirResult};

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

/// Lists the segment ids and paths of a directory, in id order.
pub fn list_segments(fs: &dyn Fs, dir: &Path) -> Result<Vec<(u32, PathBuf)>, ReplayError> {
    let names = fs.list_dir(dir).map_err(io_err("list", dir))?;
    let mut ids: Vec<(u32, PathBuf)> = names
        .iter()
        .filter_map(|n| parse_segment_file_name(n).map(|id| (id, dir.join(n))))
        .collect();
    ids.sort_by_key(|(id, _)| *id);
    Ok(ids)
}

/// What is wrong with a segment header: the one report replay and `channel verify` share.
#[derive(Debug, thiserror::Error)]
pub enum HeaderProblem {
    /// The header bytes could not be read.
    #[error("cannot read the segment header: {0}")]
    Unreadable(io::Error),
    /// The header does not decode.
    #[error(transparent)]
    Decode(#[from] HeaderError),
    /// A good header naming another segment than the file name does.
    #[error("segment header names segment {named}, the file name says {file}")]
    WrongId {
        /// The id in the header.
        named: u32,
        /// The id in the file name.
        file: u32,
    },
}

impl HeaderProblem {
    /// The kind of damage, for the recovery policy: a header cut short (or unreadable) is
    /// a segment whose start was torn by a crash; anything else is a bad header.
    pub fn damage(&self) -> Damage {
        match self {
            HeaderProblem::Unreadable(_) | HeaderProblem::Decode(HeaderError::Truncated(_)) => {
                Damage::TornHeader
            }
            HeaderProblem::Decode(_) | HeaderProblem::WrongId { .. } => Damage::BadHeader,
        }
    }
}

/// Reads and checks the header of segment `id` (its file `len` bytes long).
pub fn read_header(file: &dyn FsFile, id: u32, len: u64) -> Result<SegmentHeader, HeaderProblem> {
    let mut buf = [0u8; SEGMENT_HEADER_BYTES as usize];
    let n = len.min(SEGMENT_HEADER_BYTES) as usize;
    file.read_exact_at(&mut buf[..n], 0)
        .map_err(HeaderProblem::Unreadable)?;
    let h = decode_header(&buf[..n])?;
    if h.segment_id != id {
        return Err(HeaderProblem::WrongId {
            named: h.segment_id,
            file: id,
        });
    }
    Ok(h)
}

/// Replays every directory (in parallel), from `starts[i]` for directory `i`.
/// With [`Repair::OnDisk`], torn tails are truncated on disk; otherwise nothing is changed.
pub fn replay(
    fs: &dyn Fs,
    dirs: &[PathBuf],
    starts: &[StartPosition],
    policy: RecoveryPolicy,
    repair: Repair,
) -> Result<ReplayOutcome, ReplayError> {
    let results: Vec<Result<DirResult, ReplayError>> = std::thread::scope(|s| {
        let handles: Vec<_> = dirs
            .iter()
            .enumerate()
            .map(|(i, dir)| {
                let start = starts.get(i).copied().flatten();
                s.spawn(move || replay_dir(fs, dir, i, start, policy, repair))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(ReplayError::Io {
                        op: "replay thread panicked on",
                        path: PathBuf::new(),
                        source: io::Error::other("panic"),
                    })
                })
            })
            .collect()
    });
    let mut out = ReplayOutcome::default();
    let mut seen: HashMap<u32, PathBuf> = HashMap::new();
    for r in results {
        merge(&mut out, &mut seen, r?)?;
    }
    out.segments.sort_by_key(|s| s.id);
    out.committed.sort_by_key(|t| t.commit_seq);
    Ok(out)
}

/// Adds one directory's result to the outcome; a segment id seen twice is an error.
fn merge(
    out: &mut ReplayOutcome,
    seen: &mut HashMap<u32, PathBuf>,
    r: DirResult,
) -> Result<(), ReplayError> {
    out.chain_gaps.extend(r.chain_gaps);
    out.committed.extend(r.committed);
    out.max_seq = out.max_seq.max(r.max_seq);
    out.max_txid = out.max_txid.max(r.max_txid);
    out.max_segment_id = out.max_segment_id.max(r.max_ignored_id);
    let rep = r.report;
    out.report.records += rep.records;
    out.report.bytes += rep.bytes;
    out.report.truncated.extend(rep.truncated);
    out.report.skipped.extend(rep.skipped);
    out.report.problems.extend(rep.problems);
    out.report.events_lost += rep.events_lost;
    out.report.uncommitted_puts += rep.uncommitted_puts;
    out.report.uncommitted_txns += rep.uncommitted_txns;
    out.report.events_cut += rep.events_cut;
    for seg in r.segments {
        if let Some(first) = seen.insert(seg.id, seg.path.clone()) {
            return Err(ReplayError::DuplicateSegment {
                id: seg.id,
                first,
                second: seg.path,
            });
        }
        out.max_segment_id = out.max_segment_id.max(seg.id);
        out.segments.push(seg);
    }
    Ok(())
}
