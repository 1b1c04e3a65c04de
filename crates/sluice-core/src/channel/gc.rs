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
use super::inner::Inner;
use crate::checkpoint::journal;

/// Deletes every segment the checkpoint with replay positions `positions` (segment id per
/// data directory) has made unnecessary.
pub(super) fn delete_unneeded_segments(
    inner: &Inner,
    positions: &[u32],
) -> Result<(), ChannelError> {
    assert_eq!(
        positions.len(),
        inner.writers.len(),
        "one position per data directory"
    );
    let backup = if inner.config.use_dual_checkpoints {
        match inner.backup_positions.lock().clone() {
            Some(b) => b,
            None => return Ok(()),
        }
    } else {
        positions.to_vec()
    };
    let doomed = doomed_segments(inner, positions, &backup);
    if doomed.is_empty() {
        return Ok(());
    }
    delete_journaled(inner, &doomed)
}

/// The segments that may go, as (id, data-dir index): before both replay positions of their
/// directory, holding no live event, and not holding takes of a segment that stays.
fn doomed_segments(inner: &Inner, positions: &[u32], backup: &[u32]) -> Vec<(u32, usize)> {
    let all = inner.table.all();
    let existing: BTreeSet<u32> = all.iter().map(|(id, _)| *id).collect();
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
    // Keep dropping segments that depend on a segment that stays, until none does. Each
    // pass removes at least one member or ends, so at most `set.len() + 1` passes run.
    let passes_max = set.len() + 1;
    for pass in 0.. {
        assert!(pass < passes_max, "dependency pruning did not converge");
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
    let doomed: Vec<(u32, usize)> = all
        .iter()
        .filter(|(id, _)| set.contains(id))
        .map(|(id, e)| (*id, e.dir_index))
        .collect();
    for (id, dir_index) in &doomed {
        assert!(
            positions.get(*dir_index).is_some_and(|p| id < p),
            "segment {id} at or after its directory's replay position"
        );
        assert!(st.live_in(*id) == 0, "segment {id} still holds live events");
    }
    doomed
}

/// Journals `doomed`, deletes each segment, fsyncs the directories touched, clears the
/// journal.
fn delete_journaled(inner: &Inner, doomed: &[(u32, usize)]) -> Result<(), ChannelError> {
    let ckpt_dir = &inner.config.checkpoint_dir;
    let listed = doomed
        .iter()
        .map(|(id, d)| {
            // A data-dir index is below DIRS_MAX (checked with the configuration).
            let d = u32::try_from(*d).map_err(|_| ChannelError::Io {
                op: "journal a segment of data directory",
                path: ckpt_dir.clone(),
                source: std::io::Error::other(format!("index {d} out of range")),
            })?;
            Ok((d, *id))
        })
        .collect::<Result<Vec<(u32, u32)>, ChannelError>>()?;
    journal::write(inner.fs.as_ref(), ckpt_dir, &listed).map_err(|e| ChannelError::Io {
        op: "write the deletion journal in",
        path: ckpt_dir.clone(),
        source: e,
    })?;
    let mut dirs_touched = BTreeSet::new();
    for (id, dir_index) in doomed {
        if delete_segment(inner, *id)? {
            dirs_touched.insert(*dir_index);
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

/// Forgets segment `id` and retires its file (its directory's writer renames it to a spare
/// for recycling, with direct I/O and room for one, or unlinks it); whether a file was
/// retired. The table and the queue lock are held only for their map updates: the unlink
/// (20–30 ms for a large segment on ext4) and the close of the table's handle, where the file
/// system frees the blocks, happen after both are released, so no commit or take ever waits
/// for them.
fn delete_segment(inner: &Inner, id: u32) -> Result<bool, ChannelError> {
    let Some(entry) = inner.table.remove(id) else {
        return Ok(false);
    };
    inner.state.lock().forget_segment(id);
    let retired = match inner.writers.get(entry.dir_index) {
        Some(w) => w.retire(&entry.path, id).map(|_| ()),
        None => inner.fs.remove_file(&entry.path),
    };
    match retired {
        Ok(()) => {
            inner
                .counters
                .segments_deleted
                .fetch_add(1, Ordering::Relaxed);
            tracing::debug!(path = %entry.path.display(), "retired a segment no longer needed");
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(ChannelError::Io {
            op: "delete segment",
            path: entry.path,
            source: e,
        }),
    }
}
