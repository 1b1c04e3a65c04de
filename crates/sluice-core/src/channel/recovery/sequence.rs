//! The sequence rule, checked on what replay found before the queue is rebuilt
//! (docs/format.md, "Sequence numbers"). A commit reserves its seqs in one step (puts, takes,
//! then the commit's own), so of the transactions the channel writes:
//! - no two commit at one seq;
//! - a put that is not a copy forward's finds its seq free: not queued in the checkpoint, and
//!   not put by an earlier transaction (in commit order) without being taken since;
//! - a copy forward (its commit flagged `COMMIT_FLAG_COPY`, `channel/compact.rs`) takes nothing
//!   and puts only seqs below its commit's: the live events it moves, whose records it replaces.
//!   Segments of format versions 1-3 may hold copies written before the flag: in them any
//!   transaction that takes nothing may put at a queued seq.
//!
//! A segment breaking the rule holds transactions the channel did not write there: a copy of
//! one of its own segments under a new number, or a segment of another channel's making. The
//! open is refused naming both segments; under `salvage` the newer of the two is set aside
//! whole (as `wal/replay/dir/foreign.rs` does), its committed events counted, and the check
//! runs again.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::wal::policy::{Action, Damage, Position, RecoveryPolicy};
use crate::wal::replay::{CommittedTxn, ReplayError, ReplayOutcome};
use crate::wal::segment::SEGMENT_VERSION;
use crate::wal::EventPtr;

/// Two segments whose transactions use one seq where the rule allows one.
#[derive(Debug, PartialEq, Eq)]
struct Reuse {
    seq: u64,
    /// The segment that used it first (in commit order; the checkpoint's queue first).
    first: u32,
    /// The segment that used it again.
    second: u32,
    what: &'static str,
}

/// Checks the rule on `outcome` replayed after the checkpoint's queued `entries`: refuses the
/// first reuse (unless `policy` salvages), or sets aside the newer segment of each.
pub(super) fn check(
    entries: &[(u64, EventPtr)],
    outcome: &mut ReplayOutcome,
    policy: RecoveryPolicy,
) -> Result<(), ReplayError> {
    let legacy: HashSet<u32> = outcome
        .segments
        .iter()
        .filter(|s| s.version != SEGMENT_VERSION)
        .map(|s| s.id)
        .collect();
    // Each round sets one segment aside, so it ends.
    while let Some(r) = first_reuse(entries, &outcome.committed, &legacy) {
        let path = |id: u32| -> PathBuf {
            outcome.segments.iter().find(|s| s.id == id).map_or_else(
                || PathBuf::from(format!("segment {id}")),
                |s| s.path.clone(),
            )
        };
        let (first, second) = (path(r.first), path(r.second));
        let detail = format!(
            "sequence number {} {} here and in {} (segment {}): the channel never uses a \
             sequence number twice this way, so one of the two was copied in from elsewhere",
            r.seq,
            r.what,
            first.display(),
            r.first
        );
        if policy.decide(Damage::Foreign, Position::Inside) == Action::Fail {
            return Err(ReplayError::Corrupt {
                path: second,
                offset: 0,
                detail: format!(
                    "{detail} (remove the copy, or open with recoveryPolicy=salvage to set the \
                     newer segment aside)"
                ),
            });
        }
        let (newer, newer_path) = if r.first > r.second && r.first != 0 {
            (r.first, first)
        } else {
            (r.second, second)
        };
        set_aside(outcome, newer, &newer_path, &detail);
    }
    Ok(())
}

/// The first reuse of a seq in `committed` (in commit order) after the queued `entries`;
/// `legacy` holds the segments written before copies were flagged (format versions 1-3).
fn first_reuse(
    entries: &[(u64, EventPtr)],
    committed: &[CommittedTxn],
    legacy: &HashSet<u32>,
) -> Option<Reuse> {
    let mut live: HashSet<u64> = entries.iter().map(|(seq, _)| *seq).collect();
    let mut last: Option<&CommittedTxn> = None;
    for (i, txn) in committed.iter().enumerate() {
        if let Some(prev) = last.filter(|p| p.commit_seq == txn.commit_seq) {
            return Some(Reuse {
                seq: txn.commit_seq,
                first: prev.segment,
                second: txn.segment,
                what: "commits a transaction",
            });
        }
        last = Some(txn);
        if txn.copy && (!txn.takes.is_empty() || txn.puts.iter().any(|p| p.0 >= txn.commit_seq)) {
            return Some(Reuse {
                seq: txn.commit_seq,
                first: txn.segment,
                second: txn.segment,
                what: "commits a copy forward that takes events or puts new ones",
            });
        }
        // Before version 4 a copy's commit carried no flag: there, any transaction that takes
        // nothing may be one.
        let copy = txn.copy || (txn.takes.is_empty() && legacy.contains(&txn.segment));
        for (seq, _) in &txn.puts {
            if !live.insert(*seq) && !copy {
                return Some(Reuse {
                    seq: *seq,
                    first: put_by(entries, &committed[..i], *seq),
                    second: txn.segment,
                    what: "is put while an event is queued at it",
                });
            }
        }
        for (seq, _) in &txn.takes {
            live.remove(seq);
        }
    }
    None
}

/// The segment of the newest put of `seq` in `earlier` (else in the checkpoint's `entries`).
fn put_by(entries: &[(u64, EventPtr)], earlier: &[CommittedTxn], seq: u64) -> u32 {
    let put = |t: &&CommittedTxn| t.puts.iter().any(|(s, _)| *s == seq);
    match earlier.iter().rev().find(put) {
        Some(t) => t.segment,
        None => entries
            .iter()
            .find(|(s, _)| *s == seq)
            .map_or(0, |(_, p)| p.segment),
    }
}

/// Sets segment `id` aside: none of its transactions is applied, its file stays (its id
/// stays taken), its committed events are counted and reported.
fn set_aside(outcome: &mut ReplayOutcome, id: u32, path: &Path, why: &str) {
    let mut events = 0u64;
    outcome.committed.retain(|t| {
        let keep = t.segment != id;
        if !keep {
            events += t.puts.len() as u64;
        }
        keep
    });
    outcome.segments.retain(|s| s.id != id);
    tracing::error!(path = %path.display(), events, why, "set aside a segment that reuses the channel's sequence numbers: its events are not delivered");
    outcome.report.set_aside.push((path.to_path_buf(), events));
    outcome.report.events_set_aside += events;
    outcome.report.problems.push(format!(
        "{}:0: {why} (set aside: {events} committed events in it not delivered)",
        path.display()
    ));
}

#[cfg(test)]
#[path = "sequence_tests.rs"]
mod tests;
