//! Replay: rebuilds the committed transactions from the segments of every data directory.
//!
//! Each directory is scanned on its own thread, from the checkpoint's position for that
//! directory (or from the start), collecting each transaction's puts and takes until its
//! commit or rollback record. The committed transactions of all directories are then merged by
//! the sequence number of their commit records: the global commit order. Damaged records are
//! handled by the [`RecoveryPolicy`]; every truncation and skip is logged and reported.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use super::record::{EventPtr, RecordKind};
use super::segment::{
    decode_header, parse_segment_file_name, scan_records, HeaderError, SegmentHeader,
    SEGMENT_HEADER_BYTES,
};
use crate::channel::config::RecoveryPolicy;
use crate::io::{Fs, FsFile, OpenMode};

/// A transaction whose commit record was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedTxn {
    /// Sequence number of the commit record: the transaction's place in the commit order.
    pub commit_seq: u64,
    /// Segment holding the transaction's records (a commit is one write, in one segment).
    pub segment: u32,
    /// Puts as (seq, pointer), in write order.
    pub puts: Vec<(u64, EventPtr)>,
    /// Takes as (seq of the put taken, pointer to it).
    pub takes: Vec<(u64, EventPtr)>,
}

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

#[derive(Default)]
struct PendingTxn {
    puts: Vec<(u64, EventPtr)>,
    takes: Vec<(u64, EventPtr)>,
}

#[derive(Default)]
struct DirResult {
    committed: Vec<CommittedTxn>,
    max_seq: u64,
    max_txid: u64,
    segments: Vec<FoundSegment>,
    report: ReplayReport,
    /// Highest id of a segment ignored for a bad header.
    max_ignored_id: u32,
    chain_gaps: Vec<(usize, u32, PathBuf)>,
}

/// Lists the segment ids and paths of a directory, in id order.
pub fn list_segments(fs: &dyn Fs, dir: &Path) -> Result<Vec<(u32, PathBuf)>, ReplayError> {
    let names = fs.list_dir(dir).map_err(|e| ReplayError::Io {
        op: "list",
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut ids: Vec<(u32, PathBuf)> = names
        .iter()
        .filter_map(|n| parse_segment_file_name(n).map(|id| (id, dir.join(n))))
        .collect();
    ids.sort_by_key(|(id, _)| *id);
    Ok(ids)
}

fn replay_dir(
    fs: &dyn Fs,
    dir: &Path,
    dir_index: usize,
    start: StartPosition,
    policy: RecoveryPolicy,
    repair: bool,
) -> Result<DirResult, ReplayError> {
    let mut out = DirResult::default();
    let segments = list_segments(fs, dir)?;
    let mut pending: HashMap<u64, PendingTxn> = HashMap::new();
    let last_index = segments.len().saturating_sub(1);
    let mut prev_file: Option<u32> = None;
    for (i, (id, path)) in segments.iter().enumerate() {
        let before = prev_file.replace(*id);
        let is_last = i == last_index;
        let mode = if repair {
            OpenMode::ReadWrite
        } else {
            OpenMode::Read
        };
        let file = fs.open(path, mode).map_err(|e| ReplayError::Io {
            op: "open",
            path: path.clone(),
            source: e,
        })?;
        let len = file.len().map_err(|e| ReplayError::Io {
            op: "stat",
            path: path.clone(),
            source: e,
        })?;
        let mut found = FoundSegment {
            id: *id,
            dir_index,
            path: path.clone(),
            len,
            records: 0,
        };
        let header = check_header(file.as_ref(), *id, len);
        if let (Ok(h), Some((sid, _))) = (&header, start) {
            // After the replay position every segment of the directory must be there: each
            // names its predecessor, so one that vanished from the middle is noticed.
            if *id > sid && h.prev_in_dir >= sid && before != Some(h.prev_in_dir) {
                out.chain_gaps
                    .push((dir_index, h.prev_in_dir, path.clone()));
            }
        }
        if let Err(problem) = header {
            let detail = problem.to_string();
            let tolerable = is_last
                && policy != RecoveryPolicy::Strict
                && matches!(problem, HeaderError::Truncated(_));
            if tolerable || policy == RecoveryPolicy::Salvage {
                out.report
                    .problems
                    .push(format!("{}:0: {detail} (segment ignored)", path.display()));
                tracing::warn!(path = %path.display(), %detail, "ignoring a segment with a bad header");
                // Its id stays taken so that no new segment is created under its name. A
                // newest segment whose header was never completely written holds no record:
                // with `repair` it is removed.
                out.max_ignored_id = out.max_ignored_id.max(*id);
                if repair && tolerable {
                    drop(file);
                    fs.remove_file(path)
                        .and_then(|()| fs.sync_dir(dir))
                        .map_err(|e| ReplayError::Io {
                            op: "remove the header-less segment",
                            path: path.clone(),
                            source: e,
                        })?;
                }
                continue;
            }
            return Err(ReplayError::Corrupt {
                path: path.clone(),
                offset: 0,
                detail,
            });
        }
        let from = match start {
            Some((sid, _)) if *id < sid => {
                out.segments.push(found);
                continue;
            }
            Some((sid, off)) if *id == sid => off.max(SEGMENT_HEADER_BYTES),
            _ => SEGMENT_HEADER_BYTES,
        };
        let resync = policy == RecoveryPolicy::Salvage;
        let seg_id = *id;
        let scan = scan_records(file.as_ref(), from, resync, |offset, meta| {
            out.max_seq = out.max_seq.max(meta.seq);
            out.max_txid = out.max_txid.max(meta.txid);
            let ptr = EventPtr {
                segment: seg_id,
                offset: offset as u32,
            };
            match meta.kind {
                RecordKind::Put => pending.entry(meta.txid).or_default().puts.push((meta.seq, ptr)),
                RecordKind::Take => {
                    if let Some((put_seq, taken)) = meta.take {
                        pending.entry(meta.txid).or_default().takes.push((put_seq, taken));
                    }
                }
                RecordKind::Commit => {
                    let txn = pending.remove(&meta.txid).unwrap_or_default();
                    let (want_puts, want_takes) = meta.commit.unwrap_or((0, 0));
                    let missing_puts = (want_puts as usize).saturating_sub(txn.puts.len());
                    let missing_takes = (want_takes as usize).saturating_sub(txn.takes.len());
                    if missing_puts + missing_takes > 0 {
                        out.report.events_lost += missing_puts as u64;
                        out.report.problems.push(format!(
                            "{}:{offset}: commit of transaction {} counts {want_puts} puts and {want_takes} takes, {} and {} were readable",
                            path.display(),
                            meta.txid,
                            txn.puts.len(),
                            txn.takes.len()
                        ));
                    }
                    out.committed.push(CommittedTxn {
                        commit_seq: meta.seq,
                        segment: seg_id,
                        puts: txn.puts,
                        takes: txn.takes,
                    });
                }
                RecordKind::Rollback => {
                    pending.remove(&meta.txid);
                }
            }
        })
        .map_err(|e| ReplayError::Io {
            op: "read",
            path: path.clone(),
            source: e,
        })?;
        found.records = scan.records;
        out.report.records += scan.records;
        out.report.bytes += scan.file_len.saturating_sub(from);
        if let Some(problem) = &scan.problem {
            let detail = problem.error.to_string();
            // In the newest segment everything from the first damage on may be the unsynced
            // region of a crash, where writes persist torn, dropped or out of order: readable
            // records after the damage are cut too (and said so). Elsewhere it is an error.
            let tail_to_eof = scan
                .skipped
                .last()
                .is_none_or(|(o, n)| o + n >= scan.file_len);
            let torn_tail = is_last && policy != RecoveryPolicy::Strict && tail_to_eof;
            if !torn_tail && policy != RecoveryPolicy::Salvage {
                let detail = match scan.readable_after {
                    Some(next) => format!(
                        "{detail}; readable records follow at offset {next} (damage inside \
                         the segment: recoveryPolicy=salvage or `sluice channel salvage` keeps them)"
                    ),
                    None => detail,
                };
                return Err(ReplayError::Corrupt {
                    path: path.clone(),
                    offset: problem.offset,
                    detail,
                });
            }
            for (o, n) in &scan.skipped {
                if torn_tail && o + n >= scan.file_len {
                    continue;
                }
                out.report.skipped.push((path.clone(), *o, *n));
                out.report
                    .problems
                    .push(format!("{}:{o}: {n} damaged bytes skipped", path.display()));
                tracing::warn!(path = %path.display(), offset = o, bytes = n, "skipped damaged records");
            }
            if torn_tail {
                let cut = match scan.skipped.last() {
                    Some((o, _)) => *o,
                    None => scan.valid_end,
                };
                let dropped = scan.file_len - cut;
                out.report.truncated.push((path.clone(), cut, dropped));
                let also = match scan.readable_after {
                    Some(next) => {
                        let cost = committed_events_from(file.as_ref(), path, next)?;
                        out.report.events_cut += cost;
                        if cost > 0 {
                            tracing::error!(path = %path.display(), offset = next, events = cost, "the cut tail holds committed events");
                        }
                        format!(
                            "; readable records from offset {next} cut with it, holding {cost} \
                             committed events"
                        )
                    }
                    None => String::new(),
                };
                out.report.problems.push(format!(
                    "{}:{cut}: torn tail of {dropped} bytes ({detail}{also})",
                    path.display()
                ));
                tracing::warn!(path = %path.display(), offset = cut, bytes = dropped, %detail, "truncating a torn tail");
                if repair {
                    truncate(file.as_ref(), path, cut)?;
                }
                found.len = cut;
            }
        } else if scan.valid_end < scan.file_len && is_last && repair {
            // Zeroed space after the last record: trim it so the segment ends cleanly.
            truncate(file.as_ref(), path, scan.valid_end)?;
            found.len = scan.valid_end;
        }
        out.segments.push(found);
    }
    for txn in pending.values() {
        out.report.uncommitted_txns += 1;
        out.report.uncommitted_puts += txn.puts.len() as u64;
    }
    Ok(out)
}

fn truncate(file: &dyn FsFile, path: &Path, len: u64) -> Result<(), ReplayError> {
    file.set_len(len)
        .and_then(|()| file.sync_data())
        .map_err(|e| ReplayError::Io {
            op: "truncate",
            path: path.to_path_buf(),
            source: e,
        })
}

/// The events counted by the commit records readable from `from` on (resynchronising past
/// damage): what cutting the segment at or before `from` costs.
fn committed_events_from(file: &dyn FsFile, path: &Path, from: u64) -> Result<u64, ReplayError> {
    let mut events = 0u64;
    scan_records(file, from, true, |_, meta| {
        if let (RecordKind::Commit, Some((puts, _))) = (meta.kind, meta.commit) {
            events += u64::from(puts);
        }
    })
    .map_err(|e| ReplayError::Io {
        op: "read",
        path: path.to_path_buf(),
        source: e,
    })?;
    Ok(events)
}

fn check_header(file: &dyn FsFile, id: u32, len: u64) -> Result<SegmentHeader, HeaderError> {
    let mut buf = [0u8; SEGMENT_HEADER_BYTES as usize];
    let n = (len.min(SEGMENT_HEADER_BYTES)) as usize;
    if file.read_exact_at(&mut buf[..n], 0).is_err() {
        return Err(HeaderError::Truncated(0));
    }
    match decode_header(&buf[..n]) {
        Ok(h) if h.segment_id == id => Ok(h),
        Ok(_) => Err(HeaderError::BadMagic),
        Err(e) => Err(e),
    }
}

/// Replays every directory (in parallel), from `starts[i]` for directory `i`.
/// With `repair`, torn tails are truncated on disk; without, nothing is changed.
pub fn replay(
    fs: &dyn Fs,
    dirs: &[PathBuf],
    starts: &[StartPosition],
    policy: RecoveryPolicy,
    repair: bool,
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
        let r = r?;
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
    }
    out.segments.sort_by_key(|s| s.id);
    out.committed.sort_by_key(|t| t.commit_seq);
    Ok(out)
}
