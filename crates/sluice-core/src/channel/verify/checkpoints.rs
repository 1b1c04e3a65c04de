//! Checkpoint checks of `verify`: each checkpoint file's state, and a valid image's replay
//! positions and entries against the segments the scan found.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::report::{problem, CheckpointCheck, CheckpointState, Problem};
use super::segments::ScannedSegment;
use crate::channel::position::position_of;
use crate::channel::FileChannelConfig;
use crate::checkpoint::store::{self, checkpoint_path, LoadError};
use crate::checkpoint::CheckpointImage;
use crate::io::Fs;
use crate::wal::seal::Keyring;

/// Loads and checks the checkpoint file in `dir` (read-only).
pub fn check_checkpoint(
    fs: &dyn Fs,
    role: &'static str,
    dir: &Path,
    keyring: Option<&Keyring>,
) -> (CheckpointCheck, Option<CheckpointImage>) {
    let path = checkpoint_path(dir);
    let (state, image) = match store::load_with(fs, dir, keyring) {
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

/// Checks a valid checkpoint against the segments found: a replay position for every data
/// directory, naming a segment of that directory that exists and lying inside it, and every
/// entry pointing into a segment that exists.
pub(super) fn cross_check(
    fs: &dyn Fs,
    config: &FileChannelConfig,
    path: &Path,
    img: &CheckpointImage,
    found: &BTreeMap<u32, ScannedSegment>,
    problems: &mut Vec<Problem>,
) {
    for (i, dir) in config.data_dirs.iter().enumerate() {
        let key = dir.to_string_lossy();
        let Some(pos) = position_of(fs, dir, i, config.data_dirs.len(), &img.positions) else {
            problems.push(problem(
                path,
                0,
                format!("no replay position for data directory {key} (opening replays it whole)"),
            ));
            continue;
        };
        if pos.segment == 0 {
            // The directory had no segment yet when the checkpoint was written.
            continue;
        }
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
                    "replay position of {key} names segment {}, which is not a readable segment of that directory",
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
