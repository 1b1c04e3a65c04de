//! Taking checkpoints, deleting segments no longer needed, and the background threads
//! (periodic checkpoint; periodic fsync when `fsyncPerTransaction` is false).
//!
//! A checkpoint stops no commit: it holds the queue lock only while it clones the queue (O(1),
//! a persistent map) and reads each directory's write ledger (the replay position and the
//! transactions appended there but not yet applied, whose effects the image includes; see
//! `ledger`). It waits for no commit's write or fsync. Encoding, fsyncing the data
//! directories, writing the image, deleting segments (unlinks outside every lock a commit
//! takes) and copying forward (in small transactions) all happen with traffic flowing.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::error::ChannelError;
use super::inner::{Inner, Shutdown};
use super::ledger::Pending;
use super::state::{QueueState, ReadyQueue};
use crate::checkpoint::format::{encode, CheckpointImage, DirPosition, SavedCursor};
use crate::checkpoint::{sealed, store};
use crate::wal::EventPtr;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Writes a checkpoint of `inner` and deletes the segments it makes unnecessary.
pub(super) fn checkpoint(inner: &Inner) -> Result<(), ChannelError> {
    let _one_at_a_time = inner.checkpoint_lock.lock();
    inner.poison.check()?;
    let (image, position_segments) = snapshot(inner)?;
    let mut bytes = encode(&image);
    if let Some(keyring) = &inner.keyring {
        bytes = sealed::seal(keyring, &bytes).map_err(|e| ChannelError::Io {
            op: "seal checkpoint in",
            path: inner.config.checkpoint_dir.clone(),
            source: std::io::Error::other(e),
        })?;
    }
    if let Err(e) = store::write(inner.fs.as_ref(), &inner.config.checkpoint_dir, &bytes) {
        inner
            .counters
            .checkpoint_write_errors
            .fetch_add(1, Ordering::Relaxed);
        return Err(ChannelError::Io {
            op: "write checkpoint in",
            path: inner.config.checkpoint_dir.clone(),
            source: e,
        });
    }
    inner.counters.checkpoints.fetch_add(1, Ordering::Relaxed);
    inner.note_written(bytes.len() as u64, None);
    if inner.config.use_dual_checkpoints {
        if let Some(backup) = &inner.config.backup_checkpoint_dir {
            match store::write(inner.fs.as_ref(), backup, &bytes) {
                Ok(()) => *inner.backup_positions.lock() = Some(position_segments.clone()),
                Err(e) => {
                    inner
                        .counters
                        .checkpoint_backup_write_errors
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(dir = %backup.display(), error = %e, "backup checkpoint failed");
                }
            }
        }
    }
    super::gc::delete_unneeded_segments(inner, &position_segments)?;
    // Free what a few live events still pin; the next checkpoint deletes it.
    super::compact::compact(inner, &position_segments)?;
    if inner.bound.limit() > 0 {
        inner.bound.measure(inner.fs.as_ref(), &inner.config);
    }
    Ok(())
}

/// The image to write: the queue and the write positions, read together under the queue
/// lock, then (with traffic flowing again) made durable up to those positions. Also returns
/// each directory's position segment.
/// What a checkpoint is made of, read at one instant under the queue lock.
struct Captured {
    view: QueueView,
    positions: Vec<(u32, u64)>,
    dedup: crate::checkpoint::format::DedupImage,
    cursors: Vec<SavedCursor>,
    pending: Vec<Pending>,
    seq_next: u64,
    txid_next: u64,
}

fn capture(inner: &Inner) -> Captured {
    // Nothing applies while the queue lock is held; each ledger is read atomically.
    let st = inner.state.lock();
    let mut positions: Vec<(u32, u64)> = Vec::with_capacity(inner.ledgers.len());
    let mut pending = Vec::new();
    for l in &inner.ledgers {
        let (position, before) = l.snapshot();
        positions.push(position);
        pending.extend(before);
    }
    Captured {
        view: QueueView {
            ready: st.ready().clone(),
            inflight: st.inflight_entries(),
            deps: st.dep_pairs(),
        },
        positions,
        dedup: inner
            .dedup
            .image(pending.iter().flat_map(|p: &Pending| p.ids.iter())),
        cursors: cursors_with(inner, &pending),
        pending,
        // After the ledgers: every seq and txid they hold was reserved before this.
        seq_next: inner.seq_next.load(Ordering::SeqCst),
        txid_next: inner.txid_next.load(Ordering::SeqCst),
    }
}

fn snapshot(inner: &Inner) -> Result<(CheckpointImage, Vec<u32>), ChannelError> {
    let Captured {
        view,
        positions,
        dedup,
        cursors,
        pending,
        seq_next,
        txid_next,
    } = capture(inner);
    let QueueView {
        ready,
        inflight,
        deps,
    } = with_pending(view, pending);
    assert_eq!(positions.len(), inner.config.data_dirs.len());
    // Everything before the positions must be durable before a checkpoint points past it
    // (it may not be yet when fsyncPerTransaction is false).
    for w in &inner.writers {
        w.sync_all()?;
        // Bounds what an outside truncation can hide to what is written after this.
        w.refresh_acked_end();
    }
    let image = CheckpointImage {
        created_ms: now_ms(),
        seq_next,
        txid_next,
        segment_next: inner.segment_ids.load(Ordering::SeqCst),
        positions: inner
            .config
            .data_dirs
            .iter()
            .zip(&positions)
            .map(|(d, (segment, offset))| DirPosition {
                dir: d.to_string_lossy().into_owned(),
                segment: *segment,
                offset: *offset,
            })
            .collect(),
        deps,
        dedup,
        cursors,
        entries: QueueState::snapshot_entries(&ready, &inflight),
    };
    // Every position names a segment older than the next id (0: none yet).
    for (segment, _) in &positions {
        assert!(
            *segment < image.segment_next,
            "position segment {segment} not below segment_next {}",
            image.segment_next
        );
    }
    Ok((image, positions.iter().map(|(s, _)| *s).collect()))
}

/// The cursors as of the positions: the applied ones, then those of the transactions pending
/// before the positions, each key at its latest commit (the ledgers are read directory by
/// directory, not in commit order). Call under the queue lock.
fn cursors_with(inner: &Inner, pending: &[Pending]) -> Vec<SavedCursor> {
    let mut map = inner.cursors.lock().clone();
    for p in pending {
        for c in &p.cursors {
            super::apply::set_if_later(&mut map, &c.key, p.commit_seq, &c.value);
        }
    }
    map.into_iter()
        .map(|(key, (commit_seq, value))| SavedCursor {
            key,
            value,
            commit_seq,
        })
        .collect()
}

/// What a checkpoint stores of the queue: the queued and the in-flight entries, and the
/// segment dependencies.
struct QueueView {
    ready: ReadyQueue,
    inflight: Vec<(u64, EventPtr)>,
    deps: Vec<(u32, u32)>,
}

/// The queue as it is once the `pending` transactions (appended before the positions, not
/// yet applied) are applied: their finished in-flight entries go, their added entries come,
/// their dependencies join.
fn with_pending(view: QueueView, pending: Vec<Pending>) -> QueueView {
    if pending.is_empty() {
        return view;
    }
    let QueueView {
        mut ready,
        mut inflight,
        mut deps,
    } = view;
    let finished: HashSet<u64> = pending
        .iter()
        .flat_map(|p| p.finished.iter().copied())
        .collect();
    let before = inflight.len();
    inflight.retain(|(seq, _)| !finished.contains(seq));
    // A pending transaction's taken (or held) events stay in flight until it is applied.
    assert_eq!(
        before - inflight.len(),
        finished.len(),
        "a pending transaction finishes an event not in flight"
    );
    for p in pending {
        for (seq, ptr) in p.added {
            let old = ready.insert(seq, ptr);
            assert!(old.is_none(), "pending seq {seq} already queued");
        }
        deps.extend(p.deps);
    }
    deps.sort_unstable();
    deps.dedup();
    QueueView {
        ready,
        inflight,
        deps,
    }
}

/// Waits `period` or until shutdown; returns false on shutdown.
fn wait(shutdown: &Shutdown, period: Duration) -> bool {
    let mut stop = shutdown.stop.lock();
    if *stop {
        return false;
    }
    let _ = shutdown.cv.wait_for(&mut stop, period);
    !*stop
}

/// Starts the background threads of a freshly opened channel.
pub(super) fn start_background(inner: &Arc<Inner>) -> Result<(), ChannelError> {
    let mut threads = inner.threads.lock();
    let weak: Weak<Inner> = Arc::downgrade(inner);
    let period = Duration::from_millis(inner.config.checkpoint_interval_ms);
    let shutdown = inner.shutdown.clone();
    let spawn_err = |e| ChannelError::Io {
        op: "start thread for",
        path: inner.config.checkpoint_dir.clone(),
        source: e,
    };
    threads.push(
        std::thread::Builder::new()
            .name("sluice-checkpoint".into())
            .spawn(move || loop {
                if !wait(&shutdown, period) {
                    return;
                }
                let Some(inner) = weak.upgrade() else { return };
                if let Err(e) = checkpoint(&inner) {
                    tracing::warn!(error = %e, "periodic checkpoint failed");
                }
            })
            .map_err(spawn_err)?,
    );
    if !inner.config.fsync_per_transaction {
        let weak: Weak<Inner> = Arc::downgrade(inner);
        let period = inner.config.fsync_interval;
        let shutdown = inner.shutdown.clone();
        threads.push(
            std::thread::Builder::new()
                .name("sluice-fsync".into())
                .spawn(move || loop {
                    if !wait(&shutdown, period) {
                        return;
                    }
                    let Some(inner) = weak.upgrade() else { return };
                    for w in &inner.writers {
                        if let Err(e) = w.sync_all() {
                            tracing::error!(error = %e, "background fsync failed");
                        }
                    }
                })
                .map_err(spawn_err)?,
        );
    }
    Ok(())
}
