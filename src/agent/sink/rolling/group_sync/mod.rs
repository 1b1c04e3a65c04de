//! The hdfs sink's shared sync on a local `hdfs.path` (with `hdfs.fsyncPerBatch`): a batch is
//! written to its files without a sync, or staged in their memory (`writer::stage`; the
//! file's sync writes it first), and its acknowledgement ([`crate::agent::sink::Acks`],
//! [`SyncGroup::sync_async`]) syncs every file written since the last sync, so one fdatasync per file covers the
//! batches written meanwhile, as file_roll's does. Each batch gets a generation; a sync
//! covers every generation handed out when it began. A failed sync fails its batch's
//! acknowledgement and every one not yet synced until the writer has cut back: the runner
//! rolls those takes back, and before the writer writes again it cuts its output back to the
//! snapshot of the last synced batch ([`super::writer`]), so no batch is kept twice or half.
//!
//! `flat::staged` is the other way to the same contract, for the flat writer (`super::flat`,
//! `file_roll`): a batch is rendered at `deliver` and written by the trip that syncs it (one
//! write and one fdatasync per group).
//!
//! Why two and not one `SyncGroup` with two modes: they share the rule (a take commits after a
//! sync that covers it; after a failure nothing more is called durable until the writer cut
//! back) but little state or code. This one counts batches (generations) over any number of
//! files behind [`FileSync`] handles of any store and syncs on the caller's blocking thread;
//! the writer learns of a failure through [`SyncGroup::take_failure`] and cuts back to its
//! snapshot. The staged one holds one file's unwritten bytes and their end offset, writes them
//! itself (one `pwrite` per group, so the writer does no I/O at `deliver`), runs its own trip
//! to the blocking pool from an async acknowledgement, and hands the sink the synced length to
//! cut to. A merged type would carry both sets of fields and branch in each method, and the
//! staged trip's write cannot go through a `FileSync` without giving it a buffer and an offset
//! only the local store has.

use std::sync::Arc;

use parking_lot::Mutex;

use super::store::FileSync;

/// Take transactions a runner keeps open while their batches wait for a shared fsync (the
/// runner's [`crate::agent::sink::Sink::pipeline_depth`]), for the flat writer and for this
/// engine on a local path with `hdfs.fsyncPerBatch`. 8, not 4: W2's collector (Flume's
/// 100-event batches) then kept up with its avro source, at 0.85 of the CPU per event; 16
/// once the edge sends 16 calls at once and TAILDIR commits 8 batches a group: W2 by hand
/// 452-497k events/s at 2.23-2.48 µs against 343-369k at 2.98-3.19 (both agents), the disk's
/// fdatasyncs the bound (docs/performance-findings.md).
pub const GROUP_SYNC_DEPTH: usize = 16;

/// The sync state shared by a writer and its batches' acknowledgements.
#[derive(Debug, Default)]
pub struct SyncGroup {
    state: Mutex<State>,
    /// One sync at a time, so a waiter finds whether the one before covered it.
    turn: Mutex<()>,
    /// The same for acknowledgements awaiting ([`SyncGroup::sync_async`]): one covered by
    /// the trip before it returns without a trip of its own.
    async_turn: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct State {
    /// The last generation handed out.
    last: u64,
    /// Every generation up to this one is durable.
    synced: u64,
    /// Generations up to this one fail their acknowledgement (a sync failed, or the writer
    /// cut them back).
    failed_through: u64,
    /// A sync failed and the writer has not cut back yet.
    failure: bool,
    /// Files written since the last sync began, each once.
    dirty: Vec<Arc<dyn FileSync>>,
}

impl State {
    /// Whether `generation` is durable already; an error when it never will be.
    fn covers(&self, generation: u64) -> std::io::Result<bool> {
        if self.synced >= generation {
            return Ok(true);
        }
        // After a failed sync nothing more is called durable until the writer has cut its
        // output back: the failed files' unsynced pages may be gone even if a later
        // fdatasync of them succeeds.
        if self.failure || generation <= self.failed_through {
            return Err(std::io::Error::other(
                "an earlier sync of this sink's files failed",
            ));
        }
        Ok(false)
    }
}

impl SyncGroup {
    /// Registers a written batch and the files it wrote; its generation.
    pub fn batch(&self, files: Vec<Arc<dyn FileSync>>) -> u64 {
        let mut s = self.state.lock();
        for f in files {
            if !s.dirty.iter().any(|d| Arc::ptr_eq(d, &f)) {
                s.dirty.push(f);
            }
        }
        s.last += 1;
        s.last
    }

    /// Returns once generation `generation` is durable: at once if an earlier sync covered
    /// it, else after syncing every file written so far. Blocking.
    pub fn sync_through(&self, generation: u64) -> std::io::Result<()> {
        let _turn = self.turn.lock();
        let (files, upto) = {
            let mut s = self.state.lock();
            if s.covers(generation)? {
                return Ok(());
            }
            (std::mem::take(&mut s.dirty), s.last)
        };
        for f in &files {
            if let Err(e) = f.sync() {
                self.fail();
                return Err(e);
            }
        }
        let mut s = self.state.lock();
        s.synced = s.synced.max(upto);
        Ok(())
    }

    /// [`SyncGroup::sync_through`] for an acknowledgement on the runtime: one covered by an
    /// earlier sync (or failed by one) returns without a trip to the blocking pool.
    pub async fn sync_async(self: Arc<Self>, generation: u64) -> std::io::Result<()> {
        let _turn = self.async_turn.lock().await;
        if self.state.lock().covers(generation)? {
            return Ok(());
        }
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.sync_through(generation))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }

    /// Fails every generation handed out so far, as a failed sync does, until the writer has
    /// cut back ([`SyncGroup::take_failure`]).
    pub fn fail(&self) {
        let mut s = self.state.lock();
        s.failed_through = s.last;
        s.failure = true;
    }

    /// A sync failed and the writer has not cut back yet.
    pub fn failing(&self) -> bool {
        self.state.lock().failure
    }

    /// Every generation up to this one is durable.
    pub fn synced(&self) -> u64 {
        self.state.lock().synced
    }

    /// After a failed sync: the last durable generation, once; every generation handed out
    /// so far fails from now on (the writer cuts them back) and nothing waits to be synced.
    pub fn take_failure(&self) -> Option<u64> {
        let mut s = self.state.lock();
        if !s.failure {
            return None;
        }
        s.failure = false;
        s.failed_through = s.last;
        s.dirty.clear();
        Some(s.synced)
    }
}
