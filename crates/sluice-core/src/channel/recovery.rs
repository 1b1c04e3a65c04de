//! Opening a channel is recovering it: lock the directories, load the newest valid checkpoint
//! (falling back to the backup, then to a full replay, each step logged with its reason),
//! replay the log written after it, rebuild the queue, check that every queued event's segment
//! exists (and that no segment vanished from a directory), and write a checkpoint of the
//! result. A directory's next segment is started by its first append, not here.
//!
//! Here the state is recovered from disk (shared with `examine` and `verify`, which open
//! nothing); `open.rs` starts the channel on it.

mod open;
mod sequence;

pub(super) use open::open;

use std::collections::BTreeSet;
use std::sync::Arc;

use super::config::{FileChannelConfig, RecoveryPolicy};
use super::cut_back;
use super::error::ChannelError;
use super::inner::RecoverySource;
use super::locks::io_err;
use super::missing::{missing_error, missing_heads, missing_segment_files, starts_from};
use super::state::QueueState;
use crate::checkpoint::journal::{self, Journal};
use crate::checkpoint::store;
use crate::checkpoint::CheckpointImage;
use crate::io::{Fs, OpenMode};
use crate::wal::policy::{Action, Damage, Position, Repair};
use crate::wal::replay::{replay, ReplayOutcome, ReplayProgress, StartPosition};
use crate::wal::seal::Keyring;
use crate::wal::segment::{segment_file_name, SEGMENT_HEADER_BYTES};
use crate::wal::table::SegmentTable;

/// Loads the checkpoint to start from, trying the primary then the backup.
fn choose_checkpoint(
    fs: &dyn Fs,
    config: &FileChannelConfig,
    keyring: Option<&Keyring>,
    fallbacks: &mut Vec<String>,
) -> (Option<CheckpointImage>, RecoverySource) {
    match store::load_with(fs, &config.checkpoint_dir, keyring) {
        Ok(img) => return (Some(img), RecoverySource::Checkpoint),
        Err(e) => {
            let first_start = matches!(e, store::LoadError::Missing(_));
            if !first_start {
                tracing::warn!(reason = %e, "checkpoint unusable; trying the next source");
            }
            fallbacks.push(e.to_string());
        }
    }
    if config.use_dual_checkpoints {
        if let Some(backup) = &config.backup_checkpoint_dir {
            match store::load_with(fs, backup, keyring) {
                Ok(img) => {
                    tracing::warn!(dir = %backup.display(), "recovering from the backup checkpoint");
                    return (Some(img), RecoverySource::BackupCheckpoint);
                }
                Err(e) => {
                    tracing::warn!(reason = %e, "backup checkpoint unusable; replaying the whole log");
                    fallbacks.push(e.to_string());
                }
            }
        }
    }
    (None, RecoverySource::FullReplay)
}

/// Finishes a deletion a crash interrupted (see `gc`). With [`Repair::OnDisk`] the segments
/// listed in the journal are removed and the journal cleared; read-only, their ids are returned
/// so that the caller can ignore them.
fn finish_deletions(
    fs: &dyn Fs,
    config: &FileChannelConfig,
    repair: Repair,
) -> Result<BTreeSet<u32>, ChannelError> {
    let ckpt = &config.checkpoint_dir;
    let listed = match journal::read(fs, ckpt)
        .map_err(io_err("read the deletion journal in", ckpt))?
    {
        Journal::Absent => return Ok(BTreeSet::new()),
        Journal::Listed(listed) => listed,
        Journal::Damaged(e) => {
            // Written atomically, so damage is not a crash; deleting nothing is always safe.
            tracing::warn!(dir = %ckpt.display(), error = %e, "ignoring a damaged deletion journal");
            if repair.on_disk() {
                journal::clear(fs, ckpt).map_err(io_err("remove the deletion journal in", ckpt))?;
            }
            return Ok(BTreeSet::new());
        }
    };
    let ids: BTreeSet<u32> = listed.iter().map(|(_, id)| *id).collect();
    if !repair.on_disk() {
        return Ok(ids);
    }
    let mut dirs = BTreeSet::new();
    for (dir_index, id) in &listed {
        let Some(dir) = config.data_dirs.get(*dir_index as usize) else {
            continue;
        };
        let path = dir.join(segment_file_name(*id));
        match fs.remove_file(&path) {
            Ok(()) => {
                dirs.insert(dir.clone());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("delete segment", &path)(e)),
        }
    }
    for dir in dirs {
        fs.sync_dir(&dir).map_err(io_err("sync directory", &dir))?;
    }
    tracing::info!(
        segments = listed.len(),
        "finished a segment deletion a crash interrupted"
    );
    journal::clear(fs, ckpt).map_err(io_err("remove the deletion journal in", ckpt))?;
    Ok(BTreeSet::new())
}

/// The channel state recovered from disk, before any writer starts.
#[derive(Debug)]
pub(crate) struct RecoveredState {
    pub source: RecoverySource,
    pub fallbacks: Vec<String>,
    pub image: Option<CheckpointImage>,
    pub outcome: ReplayOutcome,
    pub queue: QueueState,
    /// Queued events whose segment is missing: (seq, segment). Empty unless `salvage`
    /// dropped them (other policies refuse to open).
    pub missing: Vec<(u64, u32)>,
    /// Segment files known to be missing (a directory's replay position, or a gap after it),
    /// each with why. Empty unless `salvage` opened without them.
    pub missing_segments: Vec<String>,
    pub seq_next: u64,
    pub txid_next: u64,
    pub segment_next: u32,
    /// The configured encryption keys (`encryption.*`), loaded.
    pub keyring: Option<Arc<Keyring>>,
    /// The channel's id: its tag in every plain segment's header, all of it in every sealed
    /// segment's seal block.
    pub channel_id: [u8; 16],
}

/// Loads the checkpoint, replays the log after it and rebuilds the queue. With
/// [`Repair::OnDisk`], torn tails are truncated on disk; read-only, nothing on disk changes.
/// The replay counts into `progress`.
pub(crate) fn recover_state(
    fs: &dyn Fs,
    config: &FileChannelConfig,
    repair: Repair,
    progress: &ReplayProgress,
) -> Result<RecoveredState, ChannelError> {
    let mut fallbacks = Vec::new();
    let keyring = match &config.encryption {
        Some(e) => Some(Arc::new(e.keyring(fs)?)),
        None => None,
    };
    let channel_id = super::channel_id::channel_id(fs, config, repair)?;
    let (image, source) = choose_checkpoint(fs, config, keyring.as_deref(), &mut fallbacks);
    let mut starts: Vec<StartPosition> = vec![None; config.data_dirs.len()];
    let mut absent_positions = Vec::new();
    if let Some(img) = &image {
        // The image is kept even when a position segment is gone: its entries tell which
        // queued events the missing segments held.
        (starts, absent_positions) = starts_from(fs, config, img)?;
    }
    assert_eq!(
        starts.len(),
        config.data_dirs.len(),
        "one start per data directory"
    );
    let unfinished = finish_deletions(fs, config, repair)?;
    let policy = config.recovery_policy;
    let how = (policy, repair, keyring.as_deref());
    let mut outcome = replay(fs, &config.data_dirs, &starts, how, channel_id, progress)
        .map_err(ChannelError::Recovery)?;
    if !unfinished.is_empty() {
        // Read-only: leave the files, but see the channel as it is once they are gone.
        outcome.segments.retain(|s| !unfinished.contains(&s.id));
        outcome
            .committed
            .retain(|t| !unfinished.contains(&t.segment));
    }
    let (entries, deps) = match &image {
        Some(img) => (img.entries.as_slice(), img.deps.as_slice()),
        None => (&[][..], &[][..]),
    };
    sequence::check(entries, &mut outcome, policy).map_err(ChannelError::Recovery)?;
    let present: BTreeSet<u32> = outcome.segments.iter().map(|s| s.id).collect();
    let (mut queue, missing) = QueueState::rebuild(entries, deps, &outcome.committed, &present);
    let heads = missing_heads(fs, config, &starts, &outcome);
    let missing_segments =
        missing_segment_files(config, &absent_positions, &heads, &outcome, &missing);
    follow_missing(policy, &missing, &missing_segments, &mut outcome)?;
    follow_cut_back(fs, &starts, policy, &mut outcome, &mut queue)?;
    if repair.on_disk() {
        accept_acked_ends(fs, config, &outcome);
    }
    let (seq_next, txid_next, segment_next) = next_ids(image.as_ref(), &outcome);
    Ok(RecoveredState {
        source,
        fallbacks,
        image,
        outcome,
        queue,
        missing,
        missing_segments,
        seq_next,
        txid_next,
        segment_next,
        keyring,
        channel_id,
    })
}

/// Segments or queued events found missing: an error naming them, unless `salvage`, which
/// opens without them and says so in the report.
fn follow_missing(
    policy: RecoveryPolicy,
    missing: &[(u64, u32)],
    missing_segments: &[String],
    outcome: &mut ReplayOutcome,
) -> Result<(), ChannelError> {
    if !missing.is_empty() || !missing_segments.is_empty() {
        if policy != RecoveryPolicy::Salvage {
            return Err(missing_error(missing, missing_segments));
        }
        tracing::error!(
            events = missing.len(),
            segments = ?missing_segments,
            "dropping queued events whose segments are missing (salvage)"
        );
        for m in missing_segments {
            let what = format!("{m} (salvage opened without it)");
            outcome.report.problems.push(what);
        }
    }
    Ok(())
}

/// Segments cut back from outside (`cut_back`): an error naming them unless the policy opens
/// without what they lost (`salvage`), which drops exactly those queued events and counts them.
fn follow_cut_back(
    fs: &dyn Fs,
    starts: &[StartPosition],
    policy: RecoveryPolicy,
    outcome: &mut ReplayOutcome,
    queue: &mut QueueState,
) -> Result<(), ChannelError> {
    let cut = cut_back::queued_cut_off(fs, starts, outcome, queue.ready().iter())?;
    if !outcome.report.cut_back.is_empty() {
        if policy.decide(Damage::CutBack, Position::Inside) == Action::Fail {
            return Err(cut_back::refusal(
                &outcome.report.cut_back,
                cut.len() as u64,
            ));
        }
        let dropped = queue.drop_lost(&cut);
        outcome.report.events_cut_back = dropped;
        tracing::error!(
            events = dropped,
            segments = outcome.report.cut_back.len(),
            "dropping queued events whose records were cut off with their segment's end (salvage)"
        );
        for c in &outcome.report.cut_back {
            let what = format!(
                "{}:{}: {c} (salvage opened without them)",
                c.path.display(),
                c.len
            );
            outcome.report.problems.push(what);
        }
    }
    Ok(())
}

/// After an open accepted its segments (a tail cut, or cut-back segments under `salvage`):
/// lowers each directory's acknowledged-end record to the segments' lengths now, so the loss
/// is reported once and appends go on from there. Best effort (the next open would report the
/// same loss again).
fn accept_acked_ends(fs: &dyn Fs, config: &FileChannelConfig, outcome: &ReplayOutcome) {
    for (i, acked) in &outcome.acked {
        let ends = acked.ends();
        let lowered: Vec<(u32, u64)> = ends
            .iter()
            .map(|(id, end)| {
                let len = outcome.segments.iter().find(|s| s.id == *id).map(|s| s.len);
                (
                    *id,
                    len.map_or(*end, |l| l.clamp(SEGMENT_HEADER_BYTES, *end)),
                )
            })
            .collect();
        if lowered.as_slice() == ends {
            continue;
        }
        let Some(dir) = config.data_dirs.get(*i) else {
            continue;
        };
        if let Err(e) = crate::wal::acked::write(fs, dir, &lowered) {
            tracing::warn!(dir = %dir.display(), error = %e, "could not lower the acknowledged-end record");
        }
    }
}

/// The next record seq, transaction id and segment id: past both the checkpoint's and every
/// one replay met.
fn next_ids(image: Option<&CheckpointImage>, outcome: &ReplayOutcome) -> (u64, u64, u32) {
    let (seq, txid, segment) = image.map_or((1, 1, 1), |img| {
        (img.seq_next, img.txid_next, img.segment_next)
    });
    let seq_next = seq.max(outcome.max_seq + 1);
    let txid_next = txid.max(outcome.max_txid + 1);
    let segment_next = segment.max(outcome.max_segment_id + 1);
    assert!(seq_next > outcome.max_seq && segment_next > outcome.max_segment_id);
    (seq_next, txid_next, segment_next)
}

/// Opens every segment found for reading.
pub(crate) fn segment_table(
    fs: &dyn Fs,
    outcome: &ReplayOutcome,
) -> Result<Arc<SegmentTable>, ChannelError> {
    let table = Arc::new(SegmentTable::default());
    for seg in &outcome.segments {
        let file = fs
            .open(&seg.path, OpenMode::Read)
            .map_err(io_err("open segment", &seg.path))?;
        table.insert(
            seg.id,
            seg.dir_index,
            seg.path.clone(),
            file,
            seg.codec.clone(),
        );
    }
    Ok(table)
}
