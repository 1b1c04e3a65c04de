//! The [`RollingWriter`]'s side of the shared sync ([`super::super::group_sync`]): with
//! [`RollingWriter::share_syncs`] a batch's files are written without a sync and handed to the
//! sync group, each batch's snapshot is kept until a sync covers it, and after a failed sync
//! the output is cut back to the snapshot of the last synced batch before anything else is
//! written.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use super::super::error::io_err;
use super::super::group_sync::SyncGroup;
use super::super::resume::Snapshot;
use super::{RollingWriter, WriteError};

/// A writer's shared-sync state.
#[derive(Debug)]
pub(in super::super) struct Shared {
    group: Arc<SyncGroup>,
    /// The output after the last batch a sync covered (or at the start).
    durable: Snapshot,
    /// Each later batch: its generation, the output after it, the files it opened.
    batches: VecDeque<(u64, Snapshot, Vec<PathBuf>)>,
    /// The generation of the last batch written, until the sink asks for it.
    last: Option<u64>,
}

impl Shared {
    /// A sync failed and the writer has not cut back yet.
    pub(super) fn failing(&self) -> bool {
        self.group.failing()
    }

    /// Fails the group as a failed sync does (a staged write failed).
    pub(super) fn fail(&self) {
        self.group.fail();
    }
}

impl RollingWriter {
    /// Syncs are shared from now on, when they can be (`hdfs.fsyncPerBatch`, a store whose
    /// files hand out sync handles: a local path, and an output that can be cut back: call
    /// after [`RollingWriter::recover`]); whether they are.
    pub fn share_syncs(&mut self) -> bool {
        if self.shared.is_some() {
            return true;
        }
        let Some(durable) = self.delivered.clone() else {
            return false;
        };
        if !self.cfg.fsync_per_batch || !self.store.shares_syncs() {
            return false;
        }
        self.shared = Some(Shared {
            group: Arc::default(),
            durable,
            batches: VecDeque::new(),
            last: None,
        });
        true
    }

    /// Whether a batch's files are synced before [`RollingWriter::write_batch`] returns.
    pub(super) fn syncs_each_batch(&self) -> bool {
        self.cfg.fsync_per_batch && self.shared.is_none()
    }

    /// The sync group and the generation of the batch just written, once (`None` when
    /// syncs are not shared: the batch is already durable).
    pub fn take_pending_sync(&mut self) -> Option<(Arc<SyncGroup>, u64)> {
        let s = self.shared.as_mut()?;
        Some((s.group.clone(), s.last.take()?))
    }

    /// Hands the files `touched` wrote to the sync group (a file without a sync handle is
    /// synced now).
    pub(super) fn stage_sync(&mut self, touched: &[String]) -> Result<(), WriteError> {
        let Some(shared) = self.shared.as_mut() else {
            return Ok(());
        };
        let mut files = Vec::new();
        for key in touched {
            let Some(o) = self.open.get_mut(key) else {
                // Closed (rolled) within the batch: synced when it was closed.
                continue;
            };
            match o.writer.syncer() {
                Some(f) => files.push(f),
                None => {
                    let p = o.writer.in_use_path().to_owned();
                    o.writer.sync().map_err(io_err("syncing", &p))?;
                }
            }
        }
        shared.last = Some(shared.group.batch(files));
        Ok(())
    }

    /// Keeps the snapshot of the batch just written (after `delivered` was taken) until a
    /// sync covers it.
    pub(super) fn note_batch(&mut self) {
        let (Some(shared), Some(snap)) = (self.shared.as_mut(), self.delivered.as_ref()) else {
            return;
        };
        let Some(generation) = shared.last else {
            return;
        };
        shared
            .batches
            .push_back((generation, snap.clone(), self.created.clone()));
        let synced = shared.group.synced();
        while shared.batches.front().is_some_and(|b| b.0 <= synced) {
            if let Some((_, snap, _)) = shared.batches.pop_front() {
                shared.durable = snap;
            }
        }
    }

    /// After a failed sync: the output is to be cut back to the last synced batch (every
    /// later one fails its acknowledgement and comes again), before anything else is
    /// written ([`RollingWriter::rewind`]).
    pub(super) fn cut_back_unsynced(&mut self) {
        let Some(shared) = self.shared.as_mut() else {
            return;
        };
        let Some(synced) = shared.group.take_failure() else {
            return;
        };
        let mut target = shared.durable.clone();
        let mut created = Vec::new();
        for (generation, snap, opened) in shared.batches.drain(..) {
            if generation <= synced {
                target = snap;
            } else {
                created.extend(opened);
            }
        }
        shared.durable = target.clone();
        shared.last = None;
        created.append(&mut self.created);
        tracing::warn!(
            synced_batch = synced,
            "a shared sync failed: the output is cut back to the last synced batch"
        );
        self.delivered = Some(target);
        self.created = created;
        self.rewind_due = true;
    }

    /// After a cut back ([`RollingWriter::rewind`]): every file was closed through recovery,
    /// which syncs what it keeps, so the output now is durable.
    pub(super) fn rewound(&mut self) {
        let (Some(shared), Some(snap)) = (self.shared.as_mut(), self.delivered.as_ref()) else {
            return;
        };
        shared.durable = snap.clone();
        shared.batches.clear();
    }
}

#[cfg(test)]
mod tests;
