//! Deleting segments a checkpoint has made unnecessary.
//!
//! A segment may go once (1) no queued or in-flight event lives in it, (2) it lies wholly
//! before its directory's replay position in the checkpoint just written (and in the backup),
//! and (3) every segment it holds committed takes from is gone or goes with it: otherwise a
//! full replay (both checkpoints lost) would find those puts without their takes and deliver
//! the events again. The set is written to the deletion journal first, so a crash half-way
//! through is finished on the next open (see docs/recovery.md).

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use super::error::ChannelError;
use super::Inner;
use crate::checkpoint::journal;

/// Deletes every segment the checkpoint with replay positions `positions` (segment id per
/// data directory) has made unnecessary.
pub(super) fn delete_unneeded_segments(
    inner: &Inner,
    positions: &[u32],
) -> Result<(), ChannelError> {
    let backup = if inner.config.use_dual_checkpoints {
        match inner.backup_positions.lock().clone() {
            Some(b) => b,
            None => return Ok(()),
        }
    } else {
        positions.to_vec()
    };
    let all = inner.table.all();
    let existing: BTreeSet<u32> = all.iter().map(|(id, _)| *id).collect();
    let doomed: Vec<(u32, usize)> = {
        let st = inner.state.lock();
        let mut set: BTreeSet<u32> = all
            .iter()
            .filter(|(id, e)| {
                let limit = match (positions.get(e.dir_index), backup.get(e.dir_index)) {
                    (Some(p), Some(b)) => (*p).min(*b),
                    _ => return false,
                };
                *id < limit && st.live_in(*id) == 0
            })
            .map(|(id, _)| *id)
            .collect();
        // Keep dropping segments that depend on a segment that stays, until none does.
        loop {
            let keep: Vec<u32> = set
                .iter()
                .filter(|id| {
                    st.deps_of(**id).is_some_and(|targets| {
                        targets
                            .iter()
                            .any(|t| existing.contains(t) && !set.contains(t))
                    })
                })
                .copied()
                .collect();
            if keep.is_empty() {
                break;
            }
            for id in keep {
                set.remove(&id);
            }
        }
        all.iter()
            .filter(|(id, _)| set.contains(id))
            .map(|(id, e)| (*id, e.dir_index))
            .collect()
    };
    if doomed.is_empty() {
        return Ok(());
    }
    let ckpt_dir = &inner.config.checkpoint_dir;
    let listed: Vec<(u32, u32)> = doomed.iter().map(|(id, d)| (*d as u32, *id)).collect();
    journal::write(inner.fs.as_ref(), ckpt_dir, &listed).map_err(|e| ChannelError::Io {
        op: "write the deletion journal in",
        path: ckpt_dir.clone(),
        source: e,
    })?;
    let mut dirs_touched = BTreeSet::new();
    for (id, dir_index) in &doomed {
        let Some(entry) = inner.table.remove(*id) else {
            continue;
        };
        inner.state.lock().forget_segment(*id);
        match inner.fs.remove_file(&entry.path) {
            Ok(()) => {
                inner
                    .counters
                    .segments_deleted
                    .fetch_add(1, Ordering::Relaxed);
                tracing::debug!(path = %entry.path.display(), "deleted a segment no longer needed");
                dirs_touched.insert(*dir_index);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(ChannelError::Io {
                    op: "delete segment",
                    path: entry.path,
                    source: e,
                })
            }
        }
    }
    for i in dirs_touched {
        if let Some(dir) = inner.config.data_dirs.get(i) {
            inner.fs.sync_dir(dir).map_err(|e| ChannelError::Io {
                op: "sync directory",
                path: dir.clone(),
                source: e,
            })?;
        }
    }
    journal::clear(inner.fs.as_ref(), ckpt_dir).map_err(|e| ChannelError::Io {
        op: "remove the deletion journal in",
        path: ckpt_dir.clone(),
        source: e,
    })
}
