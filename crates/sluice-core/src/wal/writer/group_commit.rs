//! Group commit: [`DirWriter::sync_to`] returns once a logical position is durable; the
//! first waiter leads one fdatasync (plus one fstat: the segment still has a name) that
//! covers every byte written before it, and wakes everyone it covered (raft-engine's writer
//! queue, in one condvar).

use super::start::check_linked;
use super::{DirWriter, WalError};
use crate::io::FsFile;
use std::sync::atomic::Ordering;

impl DirWriter {
    /// Returns once every byte up to logical position `end` is durable. Concurrent callers
    /// share fsyncs: one leader syncs for all. Each pass either returns, waits for the
    /// leader, or leads one fsync that covers `end` (`end` was written before the call).
    pub fn sync_to(&self, end: u64) -> Result<(), WalError> {
        let mut s = self.sync.lock();
        loop {
            self.poison.check()?;
            if s.synced >= end {
                return Ok(());
            }
            if s.syncing {
                self.synced_cv.wait(&mut s);
                continue;
            }
            s.syncing = true;
            drop(s);
            let (file, target, id) = {
                let a = self.active.lock();
                (a.file.clone(), a.written, a.segment_id)
            };
            assert!(
                target >= end,
                "sync_to({end}) beyond the {target} bytes written"
            );
            let result = self.lead_sync(file.as_deref(), id);
            s = self.sync.lock();
            s.syncing = false;
            if let Err(e) = result {
                self.synced_cv.notify_all();
                return Err(e);
            }
            s.synced = s.synced.max(target);
            self.synced_cv.notify_all();
        }
    }

    /// The group-commit leader's fsync of segment `id`, and (one fstat) the check that the
    /// segment still has a name: bytes synced into an unlinked file are lost all the same.
    /// Either failure poisons.
    fn lead_sync(&self, file: Option<&dyn FsFile>, id: u32) -> Result<(), WalError> {
        let Some(f) = file else {
            return Ok(());
        };
        let path = self.segment_path(id);
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = f.sync_data() {
            self.poison.set("fsync", path.clone(), &e);
            return Err(WalError::Io {
                op: "fsync",
                path,
                source: e,
            });
        }
        check_linked(f).map_err(|e| self.poison.refuse("stat", path, e))
    }

    /// Makes everything written so far durable.
    pub fn sync_all(&self) -> Result<(), WalError> {
        let end = self.active.lock().written;
        self.sync_to(end)
    }
}
