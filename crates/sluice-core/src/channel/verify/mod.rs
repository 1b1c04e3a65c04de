//! Full, read-only verification of a channel on disk, for `sluice channel verify`.
//!
//! Unlike recovery, which reads only what a checkpoint does not cover and stops (or skips) at
//! the first damage its policy cares about, verification reads **every record of every
//! segment** with the same scanner replay uses (resynchronising after damage, so every bad
//! region is found), decodes every put record in full, checks every commit's counts, checks
//! the checkpoint and its backup (and that they point at segments that exist), runs recovery
//! exactly as `open` would (without repairing anything) and reads every event it would queue
//! back, and checks their event ids against the deduplication state ([`ids`]). Each finding
//! is a [`Problem`] printed as `file:offset: what`. It holds the channel's
//! directory locks throughout, so it refuses a channel an agent has open.

mod checkpoints;
mod ids;
mod report;
mod segments;

use std::sync::Arc;

pub use checkpoints::{check_checkpoint, checkpoint_dirs};
pub use report::{CheckpointCheck, CheckpointState, Problem, Verification};

use report::{problem, read_problem};

use super::config::{FileChannelConfig, RecoveryPolicy};
use super::dedup::recovered_table;
use super::error::ChannelError;
use super::locks::lock_all;
use super::recovery::{recover_state, segment_table};
use crate::io::{DirLock, Fs};
use crate::wal::acked::AckedEnds;
use crate::wal::policy::Repair;
use crate::wal::replay::ReplayProgress;

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
    lock_all(fs, config, false)
}

/// Verifies the channel described by `config` without changing it (see the module docs).
/// Fails only if the channel cannot be examined at all: a missing or locked directory, an
/// invalid configuration, or an I/O error listing or reading a directory or segment.
pub fn verify(fs: Arc<dyn Fs>, config: &FileChannelConfig) -> Result<Verification, ChannelError> {
    let _locks = lock_existing(fs.as_ref(), config)?;
    let mut v = Verification::default();
    let mut images = Vec::new();
    let keyring = match &config.encryption {
        Some(e) => Some(e.keyring(fs.as_ref())?),
        None => None,
    };
    for (role, dir) in checkpoint_dirs(config) {
        let (check, image) = check_checkpoint(fs.as_ref(), role, &dir, keyring.as_ref());
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
    let scan = segments::scan_all(fs.as_ref(), config, keyring.as_ref(), &mut v)?;
    for (path, img) in &images {
        checkpoints::cross_check(fs.as_ref(), config, path, img, &scan.found, &mut v.problems);
        ids::check_image(path, img, &mut v.problems);
    }
    recovered_events(fs.as_ref(), config, &scan.good_puts, &mut v)?;
    Ok(v)
}

/// Runs recovery as `open` would (without repairing) and reads every event it would queue.
/// Recovery under the configured policy tells whether `open` would succeed; the events are
/// then read from what the `salvage` policy recovers, so damage does not hide later events
/// (except those the scan already decoded at the same place with the same seq: `good_puts`).
fn recovered_events(
    fs: &dyn Fs,
    config: &FileChannelConfig,
    good_puts: &[(u64, u64)],
    v: &mut Verification,
) -> Result<(), ChannelError> {
    if config.recovery_policy != RecoveryPolicy::Salvage {
        if let Err(e) = recover_state(fs, config, Repair::ReadOnly, &ReplayProgress::default()) {
            v.open_refusal = Some(e.to_string());
        }
    }
    let mut salvage = config.clone();
    salvage.recovery_policy = RecoveryPolicy::Salvage;
    let rec = match recover_state(fs, &salvage, Repair::ReadOnly, &ReplayProgress::default()) {
        Ok(rec) => rec,
        Err(e) => {
            v.open_refusal.get_or_insert_with(|| e.to_string());
            return Ok(());
        }
    };
    let ckpt = crate::checkpoint::store::checkpoint_path(&config.checkpoint_dir);
    for m in &rec.missing_segments {
        v.problems.push(problem(&ckpt, 0, m.clone()));
    }
    for c in &rec.outcome.report.cut_back {
        v.problems.push(problem(&c.path, c.len, c.to_string()));
    }
    for (i, dir) in config.data_dirs.iter().enumerate() {
        if let Some((_, AckedEnds::Damaged(why))) = rec.outcome.acked.iter().find(|(d, _)| *d == i)
        {
            let path = dir.join(crate::wal::acked::ACKED_FILE_NAME);
            v.problems.push(problem(&path, 0, why.clone()));
        }
    }
    let table = segment_table(fs, &rec.outcome)?;
    v.queued = rec.queue.ready().len() as u64;
    let mut queued_ids = Vec::new();
    for (seq, ptr) in rec.queue.ready().iter() {
        let file = table.get(ptr.segment).map(|s| s.path).unwrap_or_default();
        match table.read_event(*ptr, *seq) {
            Ok(e) => queued_ids.extend(ids::queued_id(&e, *seq, &file, u64::from(ptr.offset))),
            // The scan reported this record already.
            Err(_) if good_puts.binary_search(&(ptr.to_u64(), *seq)).is_ok() => {}
            Err(e) => {
                let mut p = read_problem(&file, u64::from(ptr.offset), e);
                p.what = format!("queued event seq {seq} is unreadable: {}", p.what);
                v.problems.push(p);
            }
        }
    }
    let dedup = recovered_table(config, rec.image.as_ref(), &rec.outcome.committed);
    ids::check_queued(&dedup, queued_ids, &mut v.problems);
    Ok(())
}
