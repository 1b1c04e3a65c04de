//! Full, read-only verification of a channel on disk, for `sluice channel verify`.
//!
//! Unlike recovery, which reads only what a checkpoint does not cover and stops (or skips) at
//! the first damage its policy cares about, verification reads **every record of every
//! segment** with the same scanner replay uses (resynchronising after damage, so every bad
//! region is found), decodes every put record in full, checks every commit's counts, checks
//! the checkpoint and its backup (and that they point at segments that exist), runs recovery
//! exactly as `open` would (without repairing anything) and reads every event it would queue
//! back. Each finding is a [`Problem`] printed as `file:offset: what`. It holds the channel's
//! directory locks throughout, so it refuses a channel an agent has open.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::ChannelError;
use super::recovery::{lock_all, recover_state, segment_table};
use super::{FileChannelConfig, RecoveryPolicy};
use crate::checkpoint::store::{self, checkpoint_path, LoadError};
use crate::checkpoint::CheckpointImage;
use crate::io::{DirLock, Fs, FsFile, OpenMode};
use crate::wal::record::{decode_meta, frame_len, RECORD_BYTES_MAX};
use crate::wal::replay::list_segments;
use crate::wal::segment::{decode_header, scan_records, SEGMENT_HEADER_BYTES};
use crate::wal::table::{ReadError, SegmentTable};
use crate::wal::{EventPtr, RecordKind};

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

fn problem(file: &Path, offset: u64, what: impl Into<String>) -> Problem {
    Problem {
        file: file.to_path_buf(),
        offset,
        what: what.into(),
    }
}

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

/// Loads and checks the checkpoint file in `dir` (read-only).
pub fn check_checkpoint(
    fs: &dyn Fs,
    role: &'static str,
    dir: &Path,
) -> (CheckpointCheck, Option<CheckpointImage>) {
    let path = checkpoint_path(dir);
    let (state, image) = match store::load(fs, dir) {
        Ok(img) => (
            CheckpointState::Valid {
                created_ms: img.created_ms,
                entries: img.entries.len() as u64,
            },
            Some(img),
        ),
        Err(LoadError::Missing(_)) => (CheckpointState::Missing, None),
        Err(LoadError::Io { source, .. }) => (
            CheckpointState::Invalid(format!("cannot read: {source}")),
            None,
        ),
        Err(LoadError::Invalid { source, .. }) => {
            (CheckpointState::Invalid(source.to_string()), None)
        }
    };
    (CheckpointCheck { role, path, state }, image)
}

/// The checkpoint files a configuration names: the primary, then the backup if enabled.
pub fn checkpoint_dirs(config: &FileChannelConfig) -> Vec<(&'static str, PathBuf)> {
    let mut dirs = vec![("checkpoint", config.checkpoint_dir.clone())];
    if config.use_dual_checkpoints {
        if let Some(b) = &config.backup_checkpoint_dir {
            dirs.push(("backup", b.clone()));
        }
    }
    dirs
}

/// Checks that every directory of the channel exists, then takes their locks: a tool never
/// creates a channel, and refuses one an agent holds open ([`ChannelError::Locked`]).
pub fn lock_existing(
    fs: &dyn Fs,
    config: &FileChannelConfig,
) -> Result<Vec<Box<dyn DirLock>>, ChannelError> {
    config.validate()?;
    let ckpts = checkpoint_dirs(config);
    for dir in ckpts.iter().map(|(_, d)| d).chain(&config.data_dirs) {
        if !fs.exists(dir) {
            return Err(ChannelError::Io {
                op: "find",
                path: dir.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
            });
        }
    }
    lock_all(fs, config)
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
}

impl Verification {
    /// Whether nothing at all is wrong.
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A segment found by the scan.
struct ScannedSegment {
    dir_index: usize,
    len: u64,
}

#[derive(Default)]
struct Pending {
    puts: u64,
    takes: u64,
}

/// Verifies the channel described by `config` without changing it (see the module docs).
/// Fails only if the channel cannot be examined at all: a missing or locked directory, an
/// invalid configuration, or an I/O error listing a directory.
pub fn verify(fs: Arc<dyn Fs>, config: &FileChannelConfig) -> Result<Verification, ChannelError> {
    let _locks = lock_existing(fs.as_ref(), config)?;
    let mut v = Verification::default();
    let mut images = Vec::new();
    for (role, dir) in checkpoint_dirs(config) {
        let (check, image) = check_checkpoint(fs.as_ref(), role, &dir);
        match &check.state {
            CheckpointState::Valid { .. } => {}
            CheckpointState::Missing => v.problems.push(problem(
                &check.path,
                0,
                format!("{role} missing (opening falls back to the next source)"),
            )),
            CheckpointState::Invalid(why) => v.problems.push(problem(&check.path, 0, why.clone())),
        }
        if let Some(img) = image {
            images.push((check.path.clone(), img));
        }
        v.checkpoints.push(check);
    }

    let table = SegmentTable::default();
    let mut found: BTreeMap<u32, ScannedSegment> = BTreeMap::new();
    let mut first_path: HashMap<u32, PathBuf> = HashMap::new();
    for (dir_index, dir) in config.data_dirs.iter().enumerate() {
        let segments = list_segments(fs.as_ref(), dir).map_err(ChannelError::Recovery)?;
        let mut pending: HashMap<u64, Pending> = HashMap::new();
        for (id, path) in segments {
            v.segments += 1;
            if let Some(first) = first_path.insert(id, path.clone()) {
                v.problems.push(problem(
                    &path,
                    0,
                    format!("segment id {id} also exists as {}", first.display()),
                ));
                continue;
            }
            let io = |op: &'static str| {
                let path = path.clone();
                move |source| ChannelError::Io { op, path, source }
            };
            let file = fs.open(&path, OpenMode::Read).map_err(io("open"))?;
            let len = file.len().map_err(io("stat"))?;
            v.bytes += len;
            if let Some(what) = header_problem(file.as_ref(), id, len) {
                v.problems.push(problem(&path, 0, what));
                continue;
            }
            found.insert(id, ScannedSegment { dir_index, len });
            table.insert(id, dir_index, path.clone(), file.clone());
            let mut puts = Vec::new();
            let mut commit_problems = Vec::new();
            let scan = scan_records(file.as_ref(), SEGMENT_HEADER_BYTES, true, |offset, meta| {
                match meta.kind {
                    RecordKind::Put => {
                        pending.entry(meta.txid).or_default().puts += 1;
                        puts.push((meta.seq, offset));
                    }
                    RecordKind::Take => pending.entry(meta.txid).or_default().takes += 1,
                    RecordKind::Commit => {
                        let got = pending.remove(&meta.txid).unwrap_or_default();
                        let (want_puts, want_takes) = meta.commit.unwrap_or((0, 0));
                        if u64::from(want_puts) != got.puts || u64::from(want_takes) != got.takes {
                            commit_problems.push(problem(
                                &path,
                                offset,
                                format!(
                                    "commit of transaction {} counts {want_puts} puts and {want_takes} takes, {} and {} were readable",
                                    meta.txid, got.puts, got.takes
                                ),
                            ));
                        }
                    }
                    RecordKind::Rollback => {
                        pending.remove(&meta.txid);
                    }
                }
            })
            .map_err(io("read"))?;
            v.records += scan.records;
            let mut seg_problems = commit_problems;
            for (offset, bytes) in &scan.skipped {
                let what = damage_at(file.as_ref(), *offset, scan.file_len);
                let extent = if offset + bytes >= scan.file_len {
                    format!("{bytes} bytes to the end of the file are unreadable")
                } else {
                    format!("{bytes} bytes are unreadable before the next good record")
                };
                seg_problems.push(problem(&path, *offset, format!("{what}; {extent}")));
            }
            for (seq, offset) in puts {
                let ptr = EventPtr {
                    segment: id,
                    offset: offset as u32,
                };
                if let Err(e) = table.read_event(ptr, seq) {
                    seg_problems.push(read_problem(&path, offset, e));
                }
            }
            seg_problems.sort_by_key(|p| p.offset);
            v.problems.extend(seg_problems);
        }
        v.unfinished_txns += pending.len() as u64;
    }

    for (path, img) in &images {
        cross_check(config, path, img, &found, &mut v.problems);
    }
    recovered_events(fs.as_ref(), config, &mut v)?;
    Ok(v)
}

/// Why a segment's header is bad, if it is.
fn header_problem(file: &dyn FsFile, id: u32, len: u64) -> Option<String> {
    let mut buf = [0u8; SEGMENT_HEADER_BYTES as usize];
    let n = len.min(SEGMENT_HEADER_BYTES) as usize;
    if let Err(e) = file.read_exact_at(&mut buf[..n], 0) {
        return Some(format!("cannot read the segment header: {e}"));
    }
    match decode_header(&buf[..n]) {
        Ok(h) if h.segment_id == id => None,
        Ok(h) => Some(format!(
            "segment header names segment {}, the file name says {id}",
            h.segment_id
        )),
        Err(e) => Some(e.to_string()),
    }
}

/// What is wrong with the frame at `offset` (which the scanner could not decode).
fn damage_at(file: &dyn FsFile, offset: u64, file_len: u64) -> String {
    let avail = file_len.saturating_sub(offset);
    let mut head = vec![0u8; avail.min(8) as usize];
    if let Err(e) = file.read_exact_at(&mut head, offset) {
        return format!("cannot read: {e}");
    }
    let total = match frame_len(&head) {
        Ok(t) => t,
        Err(e) => return e.to_string(),
    };
    let want = (total.min(RECORD_BYTES_MAX) as u64).min(avail) as usize;
    let mut frame = vec![0u8; want];
    if let Err(e) = file.read_exact_at(&mut frame, offset) {
        return format!("cannot read: {e}");
    }
    match decode_meta(&frame) {
        Ok(_) => "record unreadable".to_owned(),
        Err(e) => e.to_string(),
    }
}

fn read_problem(file: &Path, offset: u64, e: ReadError) -> Problem {
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

/// Checks a valid checkpoint against the segments found: a replay position for every data
/// directory, naming a segment of that directory that exists and lying inside it, and every
/// entry pointing into a segment that exists.
fn cross_check(
    config: &FileChannelConfig,
    path: &Path,
    img: &CheckpointImage,
    found: &BTreeMap<u32, ScannedSegment>,
    problems: &mut Vec<Problem>,
) {
    for (i, dir) in config.data_dirs.iter().enumerate() {
        let key = dir.to_string_lossy();
        let Some(pos) = img.positions.iter().find(|p| p.dir == key) else {
            problems.push(problem(
                path,
                0,
                format!("no replay position for data directory {key} (opening replays it whole)"),
            ));
            continue;
        };
        match found.get(&pos.segment) {
            Some(seg) if seg.dir_index == i => {
                if pos.offset > seg.len {
                    problems.push(problem(
                        path,
                        0,
                        format!(
                            "replay position {}:{} of {key} lies past the segment's end ({} bytes)",
                            pos.segment, pos.offset, seg.len
                        ),
                    ));
                }
            }
            _ => problems.push(problem(
                path,
                0,
                format!(
                    "replay position of {key} names segment {}, which is not a readable segment of that directory (opening replays the whole log)",
                    pos.segment
                ),
            )),
        }
    }
    let mut missing: BTreeMap<u32, (u64, u64, u64)> = BTreeMap::new();
    for (seq, ptr) in &img.entries {
        if !found.contains_key(&ptr.segment) {
            let e = missing.entry(ptr.segment).or_insert((0, *seq, *seq));
            e.0 += 1;
            e.1 = e.1.min(*seq);
            e.2 = e.2.max(*seq);
        }
    }
    for (segment, (n, lo, hi)) in missing {
        problems.push(problem(
            path,
            0,
            format!("{n} queued events (seq {lo}..={hi}) point into segment {segment}, which is missing or unreadable"),
        ));
    }
}

/// Runs recovery as `open` would (without repairing) and reads every event it would queue.
/// Recovery under the configured policy tells whether `open` would succeed; the events are
/// then read from what the `salvage` policy recovers, so damage does not hide later events.
fn recovered_events(
    fs: &dyn Fs,
    config: &FileChannelConfig,
    v: &mut Verification,
) -> Result<(), ChannelError> {
    if let Err(e) = recover_state(fs, config, false) {
        v.open_refusal = Some(e.to_string());
    }
    let mut salvage = config.clone();
    salvage.recovery_policy = RecoveryPolicy::Salvage;
    let rec = match recover_state(fs, &salvage, false) {
        Ok(rec) => rec,
        Err(e) => {
            v.open_refusal.get_or_insert_with(|| e.to_string());
            return Ok(());
        }
    };
    let table = segment_table(fs, &rec.outcome)?;
    v.queued = rec.queue.ready.len() as u64;
    for (seq, ptr) in rec.queue.ready.iter() {
        if let Err(e) = table.read_event(*ptr, *seq) {
            let file = table.get(ptr.segment).map(|s| s.path).unwrap_or_default();
            let mut p = read_problem(&file, u64::from(ptr.offset), e);
            p.what = format!("queued event seq {seq} is unreadable: {}", p.what);
            v.problems.push(p);
        }
    }
    Ok(())
}
