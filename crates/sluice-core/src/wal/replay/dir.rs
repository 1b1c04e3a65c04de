//! The replay of one data directory: its segments in id order through one [`Assembler`], each
//! piece of damage classified and decided by the [`RecoveryPolicy`] (in `damage.rs`).

mod damage;
mod foreign;

use std::path::{Path, PathBuf};

use super::files::{list_segments, read_header, segment_codec};
use super::lineage::Lineage;
use super::progress::{ProgressTally, ReplayProgress};
use super::report::{io_err, CutBack, FoundSegment, ReplayError, ReplayReport, StartPosition};
use crate::io::{Fs, FsFile, OpenMode};
use crate::wal::acked::AckedEnds;
use crate::wal::assemble::{AssembleError, Assembler, CommittedTxn, Fed};
use crate::wal::policy::{Action, Damage, Position, RecoveryPolicy, Repair};
use crate::wal::record::RecordKind;
use crate::wal::seal::Keyring;
use crate::wal::segment::{scan_records, SegmentHeader, SEGMENT_HEADER_BYTES};
use damage::truncate;

/// What the replay of one directory found.
#[derive(Default)]
pub(super) struct DirResult {
    pub committed: Vec<CommittedTxn>,
    pub max_seq: u64,
    pub max_txid: u64,
    pub segments: Vec<FoundSegment>,
    pub report: ReplayReport,
    /// Highest id of a segment ignored for a bad header.
    pub max_ignored_id: u32,
    pub chain_gaps: Vec<(usize, u32, PathBuf)>,
    /// The directory's index and its acknowledged-end record.
    pub dir_index: usize,
    pub acked: AckedEnds,
}

/// The replay of one data directory: its segments in id order, one assembler.
struct DirReplay<'a> {
    fs: &'a dyn Fs,
    dir: &'a Path,
    dir_index: usize,
    start: StartPosition,
    policy: RecoveryPolicy,
    repair: Repair,
    keyring: Option<&'a Keyring>,
    /// The channel's id and the turns of its history.
    lineage: Lineage,
    asm: Assembler,
    out: DirResult,
    tally: ProgressTally<'a>,
}

/// What a segment must hold at least, and what says so.
#[derive(Clone, Copy)]
struct Held {
    /// The end its directory's acknowledged-end record names, if any.
    acked: Option<u64>,
    /// The least length it had, and the evidence (the larger of the record's end and the
    /// checkpoint's replay position in it).
    least: Option<(u64, &'static str)>,
}

/// The bytes replay will read in `segments` from `start` on (an estimate for progress:
/// a segment that cannot be opened counts nothing).
fn bytes_to_read(fs: &dyn Fs, segments: &[(u32, PathBuf)], start: StartPosition) -> u64 {
    segments
        .iter()
        .filter_map(|(id, path)| {
            let from = match start {
                Some((sid, _)) if *id < sid => return None,
                Some((sid, off)) if *id == sid => off.max(SEGMENT_HEADER_BYTES),
                _ => SEGMENT_HEADER_BYTES,
            };
            let len = fs.open(path, OpenMode::Read).and_then(|f| f.len()).ok()?;
            Some(len.saturating_sub(from))
        })
        .sum()
}

/// Replays data directory `dir` (index `dir_index`) from `start`, counting into `progress`;
/// `lineage` tells the channel's own segments.
pub(super) fn replay_dir(
    fs: &dyn Fs,
    dir: &Path,
    (dir_index, start, lineage): (usize, StartPosition, Lineage),
    (policy, repair, keyring): (RecoveryPolicy, Repair, Option<&Keyring>),
    progress: &ReplayProgress,
) -> Result<DirResult, ReplayError> {
    let segments = list_segments(fs, dir)?;
    // Two spellings of one id (`log-7`, `log-07`) would feed the assembler out of order.
    for pair in segments.windows(2) {
        if let [(a, first), (b, second)] = pair {
            if a == b {
                return Err(ReplayError::DuplicateSegment {
                    id: *a,
                    first: first.clone(),
                    second: second.clone(),
                });
            }
        }
    }
    progress.add_total(bytes_to_read(fs, &segments, start));
    let acked = crate::wal::acked::read(fs, dir);
    let mut r = DirReplay {
        fs,
        dir,
        dir_index,
        start,
        policy,
        repair,
        keyring,
        lineage,
        asm: Assembler::default(),
        out: DirResult {
            dir_index,
            ..DirResult::default()
        },
        tally: ProgressTally::new(progress),
    };
    if let AckedEnds::Damaged(why) = &acked {
        let path = dir.join(crate::wal::acked::ACKED_FILE_NAME);
        tracing::warn!(path = %path.display(), %why, "ignoring a damaged acknowledged-end record");
        r.out.report.problems.push(format!(
            "{}:0: {why} (ignored: cut-back segments of this directory are seen only by the \
             checkpoint)",
            path.display()
        ));
    }
    r.out.acked = acked;
    let mut before = None;
    for (i, (id, path)) in segments.iter().enumerate() {
        let newest = i + 1 == segments.len();
        r.segment(*id, path, newest, before.replace(*id))?;
    }
    debug_assert!(r.out.segments.windows(2).all(|w| w[0].id < w[1].id));
    let unfinished = r.asm.unfinished();
    r.out.report.uncommitted_txns = unfinished.txns;
    r.out.report.uncommitted_puts = unfinished.puts;
    r.out.max_seq = r.asm.max_seq();
    r.out.max_txid = r.asm.max_txid();
    Ok(r.out)
}

impl DirReplay<'_> {
    /// Replays segment `id`; `before` is the id of the directory's previous segment.
    fn segment(
        &mut self,
        id: u32,
        path: &Path,
        newest: bool,
        before: Option<u32>,
    ) -> Result<(), ReplayError> {
        debug_assert!(before.is_none_or(|b| b < id), "segments out of id order");
        let mode = if self.repair.on_disk() {
            OpenMode::ReadWrite
        } else {
            OpenMode::Read
        };
        let file = self.fs.open(path, mode).map_err(io_err("open", path))?;
        let len = file.len().map_err(io_err("stat", path))?;
        let held = self.held(id);
        let short = self.note_cut_back(id, path, len, held);
        let header = match read_header(file.as_ref(), id, len) {
            Ok(h) => h,
            Err(problem) => {
                // A segment the acknowledged-end record names had a durable header.
                let newest = newest && held.acked.is_none();
                return self.header_damage(file, path, id, newest, problem);
            }
        };
        if let Some(why) = self.not_own(file.as_ref(), id, &header) {
            return self.foreign(file.as_ref(), path, (id, &header), &why);
        }
        let codec = match segment_codec(file.as_ref(), &header, self.keyring) {
            Ok(Ok(codec)) => codec,
            Ok(Err(source)) => {
                return Err(ReplayError::Seal {
                    path: path.to_path_buf(),
                    source,
                })
            }
            Err(problem) => {
                let newest = newest && held.acked.is_none();
                return self.header_damage(file, path, id, newest, problem);
            }
        };
        self.note_chain_gap(id, path, &header, before);
        let mut found = FoundSegment {
            id,
            dir_index: self.dir_index,
            path: path.to_path_buf(),
            len,
            records: 0,
            codec,
            version: header.version,
        };
        let records_start = header.records_start();
        let from = match self.start {
            Some((sid, _)) if id < sid => None,
            // A position past the end (a cut-back segment, noted above) reads nothing.
            Some((sid, off)) if id == sid => Some(off.max(records_start).min(len)),
            _ => Some(records_start.min(len)),
        };
        if let Some(from) = from {
            let refuse =
                short && self.policy.decide(Damage::CutBack, Position::Inside) == Action::Fail;
            self.scan(file.as_ref(), &mut found, from, newest, refuse)?;
        }
        self.out.segments.push(found);
        Ok(())
    }

    /// What segment `id` held at least: its acknowledged end, and the checkpoint's replay
    /// position in it.
    fn held(&self, id: u32) -> Held {
        let acked = self.out.acked.end_of(id);
        let position = match self.start {
            Some((sid, off)) if sid == id => Some(off),
            _ => None,
        };
        let least = match (acked, position) {
            (Some(a), Some(p)) if p > a => Some((p, super::BY_POSITION)),
            (Some(a), _) => Some((a, super::BY_ACKED_END)),
            (None, Some(p)) => Some((p, super::BY_POSITION)),
            (None, None) => None,
        };
        Held { acked, least }
    }

    /// Notes segment `id` as cut back when it is shorter than it held; returns whether it is.
    fn note_cut_back(&mut self, id: u32, path: &Path, len: u64, held: Held) -> bool {
        let Some((least, evidence)) = held.least.filter(|(least, _)| len < *least) else {
            return false;
        };
        let after_checkpoint = self.start.is_none_or(|(sid, _)| id >= sid);
        let cut = CutBack {
            path: path.to_path_buf(),
            segment: id,
            dir_index: self.dir_index,
            len,
            held: least,
            evidence,
            events: 0,
            after_checkpoint,
        };
        tracing::error!(path = %path.display(), len, held = least, evidence, "a segment is shorter than it was acknowledged: cut back from outside");
        self.out.report.cut_back.push(cut);
        true
    }

    /// After the replay position every segment of the directory must be there: each names
    /// its predecessor, so one that vanished from the middle is noticed.
    fn note_chain_gap(&mut self, id: u32, path: &Path, h: &SegmentHeader, before: Option<u32>) {
        if let Some((sid, _)) = self.start {
            if id > sid && h.prev_in_dir >= sid && before != Some(h.prev_in_dir) {
                self.out
                    .chain_gaps
                    .push((self.dir_index, h.prev_in_dir, path.to_path_buf()));
            }
        }
    }

    /// Feeds the records of `found` from `from` on to the assembler, then deals with damage.
    fn scan(
        &mut self,
        file: &dyn FsFile,
        found: &mut FoundSegment,
        from: u64,
        newest: bool,
        refuse: bool,
    ) -> Result<(), ReplayError> {
        let (seg_id, path, codec) = (found.id, found.path.clone(), found.codec.clone());
        let (asm, out, tally) = (&mut self.asm, &mut self.out, &mut self.tally);
        let mut bad: Option<AssembleError> = None;
        let resync = self.policy.resyncs();
        let mut last = from;
        let scan = scan_records(file, from, &codec, resync, |offset, meta| {
            tally.record(offset.saturating_sub(last), meta.kind == RecordKind::Put);
            last = offset;
            match asm.feed(seg_id, offset, meta) {
                Ok(Fed::Pending) => {}
                Ok(Fed::Committed { txn, mismatch }) => {
                    if let Some(m) = mismatch {
                        out.report.events_lost += m.events_lost();
                        let at = format!("{}:{}", path.display(), m.offset);
                        out.report.problems.push(format!("{at}: {m}"));
                    }
                    out.committed.push(txn);
                }
                Err(e) => {
                    bad.get_or_insert(e);
                }
            }
        })
        .map_err(io_err("read", &path))?;
        self.tally.skip(scan.file_len.saturating_sub(last));
        refuse_offset_too_large(bad, seg_id, &path)?;
        assert!(
            scan.valid_end <= scan.file_len,
            "scan ended past the end of the file"
        );
        found.records = scan.records;
        if scan.stale_bytes > 0 {
            tracing::debug!(path = %path.display(), offset = scan.valid_end, bytes = scan.stale_bytes, "the segment's records end before bytes of an earlier use of its file");
            let stale = (path.clone(), scan.valid_end, scan.stale_bytes);
            self.out.report.stale_tails.push(stale);
        }
        self.out.report.records += scan.records;
        self.out.report.bytes += scan.file_len.saturating_sub(from);
        match &scan.problem {
            // A cut-back segment the policy refuses: its torn end is not a crash's tail, and
            // nothing is changed (recovery refuses the open, naming the loss).
            _ if refuse => Ok(()),
            Some(problem) => self.record_damage(file, found, &scan, problem, newest),
            None if scan.valid_end < scan.file_len && newest && self.repair.on_disk() => {
                // Zeroed space (or a recycled file's earlier use) after the last record: trim
                // it so the segment ends cleanly.
                truncate(file, &found.path, scan.valid_end)?;
                found.len = scan.valid_end;
                Ok(())
            }
            None => Ok(()),
        }
    }
}

/// A record at an offset a queue pointer cannot hold fails the replay (every other assembly
/// error is counted where it is found).
fn refuse_offset_too_large(
    bad: Option<AssembleError>,
    segment: u32,
    path: &std::path::Path,
) -> Result<(), ReplayError> {
    match bad {
        Some(AssembleError::OffsetTooLarge { offset, .. }) => Err(ReplayError::Corrupt {
            path: path.to_owned(),
            offset,
            detail: AssembleError::OffsetTooLarge { segment, offset }.to_string(),
        }),
        _ => Ok(()),
    }
}
