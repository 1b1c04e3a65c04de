//! Group commit: [`DirWriter::sync_to`] returns once a logical position is durable, and
//! [`DirWriter::flush_to`] once it is in the file (for `fsyncPerTransaction = false`). The
//! first waiter leads: under the `io` lock it cuts every pending direct-I/O byte out of the
//! tail buffer (appends go on into a fresh one meanwhile), writes them with one `O_DIRECT`
//! write, fdatasyncs once (plus one fstat: the segment still has a name), hands the bytes to
//! the tail cache and wakes everyone it covered (raft-engine's writer queue, in one condvar).
//! Buffered appends are already in the file; their leader only fsyncs.

use super::start::check_linked;
use super::{DirWriter, WalError};
use crate::io::FsFile;
use std::sync::atomic::Ordering;

impl DirWriter {
    /// Returns once every byte up to logical position `end` is durable. Concurrent callers
    /// share fsyncs: one leader syncs for all. Each pass either returns, waits for the
    /// leader, or leads one write + fsync that covers `end` (`end` was appended before).
    pub fn sync_to(&self, end: u64) -> Result<(), WalError> {
        self.settle(end, true)
    }

    /// Returns once every byte up to logical position `end` is in the file (readable), not
    /// necessarily durable. Only appends with [`super::Appended::pending_write`] need it.
    pub fn flush_to(&self, end: u64) -> Result<(), WalError> {
        self.settle(end, false)
    }

    fn settle(&self, end: u64, durable: bool) -> Result<(), WalError> {
        let mut s = self.sync.lock();
        loop {
            self.poison.check()?;
            let reached = if durable {
                s.synced
            } else {
                s.flushed.max(s.synced)
            };
            if reached >= end {
                return Ok(());
            }
            if s.syncing {
                self.synced_cv.wait(&mut s);
                continue;
            }
            s.syncing = true;
            drop(s);
            let result = self.lead(end, durable);
            s = self.sync.lock();
            s.syncing = false;
            match result {
                Ok(target) => {
                    s.flushed = s.flushed.max(target);
                    if durable {
                        s.synced = s.synced.max(target);
                    }
                    self.synced_cv.notify_all();
                }
                Err(e) => {
                    self.synced_cv.notify_all();
                    return Err(e);
                }
            }
        }
    }

    /// One leader pass: write what is pending, fsync when `durable`, cache what was written.
    /// Returns the logical position covered.
    fn lead(&self, end: u64, durable: bool) -> Result<u64, WalError> {
        let _io = self.io.lock();
        let (file, id, target, mut cut) = {
            let mut a = self.active.lock();
            let cut = self.cut_pending(&mut a);
            (a.file.clone(), a.segment_id, a.written, cut)
        };
        assert!(
            target >= end,
            "sync_to({end}) beyond the {target} bytes written"
        );
        if let Some((c, direct)) = cut.as_mut() {
            self.write_cut(id, direct.as_ref(), c)?;
        }
        if durable {
            self.lead_sync(file.as_deref(), id)?;
        }
        if let Some((c, _)) = cut {
            self.cache_cut(id, c);
        }
        Ok(target)
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
