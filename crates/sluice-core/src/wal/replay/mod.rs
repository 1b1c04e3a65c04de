//! Replay: rebuilds the committed transactions from the segments of every data directory.
//!
//! Each directory is scanned on its own thread, from the checkpoint's position for that
//! directory (or from the start), feeding every record to an [`Assembler`](crate::wal::assemble::Assembler) that yields the
//! committed transactions. The committed transactions of all directories are then merged by
//! the sequence number of their commit records: the global commit order. Damage is classified
//! ([`Damage`](crate::wal::policy::Damage) at a [`Position`](crate::wal::policy::Position)) and
//! handed to [`RecoveryPolicy::decide`]; every truncation and
//! skip is logged and reported.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;

mod dir;
mod files;
mod lineage;
mod progress;
mod report;

pub use super::assemble::CommittedTxn;
use super::policy::{RecoveryPolicy, Repair};
use crate::io::Fs;
use crate::wal::seal::Keyring;
use dir::{replay_dir, DirResult};
#[cfg(feature = "internals")]
pub use files::HeaderProblem;
pub use files::{list_segments, read_header, segment_codec};
pub use lineage::Lineage;
pub use progress::{ProgressSnapshot, ReplayProgress};
pub use report::{
    CutBack, FoundSegment, ReplayError, ReplayOutcome, ReplayReport, StartPosition, BY_ACKED_END,
    BY_POSITION, BY_QUEUED_EVENTS,
};

/// Replays every directory (in parallel), from `starts[i]` for directory `i`, as channel
/// `channel` (a segment naming another, or breaking its [`Lineage`], is not read).
/// Sealed segments open with `keyring`'s keys. With [`Repair::OnDisk`], torn tails are truncated on disk; otherwise nothing is changed.
/// `progress` counts the bytes and events read as the directories' threads go.
pub fn replay(
    fs: &dyn Fs,
    dirs: &[PathBuf],
    starts: &[StartPosition],
    (policy, repair, keyring): (RecoveryPolicy, Repair, Option<&Keyring>),
    channel: [u8; 16],
    progress: &ReplayProgress,
) -> Result<ReplayOutcome, ReplayError> {
    progress.start(0);
    let how = (policy, repair, keyring);
    let outcome = replay_all(fs, dirs, starts, how, channel, progress);
    progress.finish();
    outcome
}

fn replay_all(
    fs: &dyn Fs,
    dirs: &[PathBuf],
    starts: &[StartPosition],
    how: (RecoveryPolicy, Repair, Option<&Keyring>),
    channel: [u8; 16],
    progress: &ReplayProgress,
) -> Result<ReplayOutcome, ReplayError> {
    let lineage = Lineage::of(fs, dirs, channel)?;
    let results: Vec<Result<DirResult, ReplayError>> = std::thread::scope(|s| {
        let handles: Vec<_> = dirs
            .iter()
            .enumerate()
            .map(|(i, dir)| {
                let start = starts.get(i).copied().flatten();
                s.spawn(move || replay_dir(fs, dir, (i, start, lineage), how, progress))
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
    assert_eq!(results.len(), dirs.len(), "one replay result per directory");
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
    out.report.stale_tails.extend(rep.stale_tails);
    out.report.problems.extend(rep.problems);
    out.report.events_lost += rep.events_lost;
    out.report.uncommitted_puts += rep.uncommitted_puts;
    out.report.uncommitted_txns += rep.uncommitted_txns;
    out.report.events_cut += rep.events_cut;
    out.report.cut_back.extend(rep.cut_back);
    out.report.events_cut_back += rep.events_cut_back;
    out.report.set_aside.extend(rep.set_aside);
    out.report.events_set_aside += rep.events_set_aside;
    out.acked.push((r.dir_index, r.acked));
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
