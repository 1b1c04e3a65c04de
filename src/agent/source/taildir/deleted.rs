//! Deleted files held open: TAILDIR reads a rotated-away or deleted file to its end through
//! its open descriptor, so while the channel is full a deleted file's disk space cannot be
//! freed, and the agent itself can fill the disk (Beats #2395, Fluent Bit #7709,
//! FLUME-3341). A file kept by its spool link only ([`super::spool`]) counts as deleted and
//! held too. Three limits close such files early: `closeDeletedAfter` (time since the file
//! was first seen deleted), `maxDeletedOpenBytes` and `spoolBytes` (total size of deleted
//! files held; past it the longest-deleted are closed first). A forced close gives the file
//! up ([`super::loss`]): its bytes past its committed position are counted
//! (`DeletedBytesSkippedCount`, `BytesLostUnreadCount`, its lines in `LinesLostUnreadCount`),
//! and one WARN names the file, what was lost and the limit. Checked at every scan and between the retries of a
//! batch the channel refused (the case that matters: a full channel).

use std::sync::atomic::Ordering;
use std::time::Instant;

pub(crate) use super::deleted_stats::DeletedStats;
use super::tailer::Tailer;

impl Tailer {
    /// The deleted-file statistics (shared with the metrics).
    pub(crate) fn deleted_stats(&self) -> std::sync::Arc<DeletedStats> {
        self.deleted.clone()
    }

    /// Applies `closeDeletedAfter`, `maxDeletedOpenBytes` and `spoolBytes` at `now`, to the
    /// files no longer matched (after a scan) or, with `all`, to every file (between retries
    /// of a put: a file is deleted when only this source keeps it, its link count 0, or 1
    /// with a spool link). Returns the inodes
    /// closed (their unread bytes skipped). Only called while none of the closed files'
    /// events are committed-but-unrecorded: a batch in flight from a closed file is dropped
    /// by the caller (it was never committed). `spare`: the files whose batches a put holds
    /// right now, never closed (their sizes still count, so the others go first).
    pub(crate) fn close_deleted(&mut self, now: Instant, all: bool, spare: &[u64]) -> Vec<u64> {
        let after = self.cfg.close_deleted_after;
        let cap = self.cfg.max_deleted_open_bytes;
        // Only files no longer matched can be deleted; a matched name is a live link.
        let mut held: Vec<(Instant, u64, u64)> = Vec::new();
        for (inode, t) in self.files.iter_mut() {
            if t.matched && !all {
                continue;
            }
            match t.deleted_size() {
                Some(size) => {
                    let since = *t.deleted_since.get_or_insert(now);
                    held.push((since, *inode, size));
                }
                None => t.deleted_since = None,
            }
        }
        held.sort();
        let mut total: u64 = held.iter().map(|h| h.2).sum();
        let spool = if self.spool.is_on() {
            self.cfg.spool_bytes
        } else {
            0
        };
        let spooled = self.spooled(&held);
        let mut closed = Vec::new();
        for (since, inode, size) in held {
            if spare.contains(&inode) {
                continue;
            }
            let limit = if after.is_some_and(|a| now.saturating_duration_since(since) >= a) {
                "closeDeletedAfter"
            } else if cap > 0 && total > cap {
                "maxDeletedOpenBytes"
            } else if spool > 0 && total > spool {
                "spoolBytes"
            } else {
                continue;
            };
            let Some(pos) = self.files.get(&inode).map(|t| t.pos) else {
                continue;
            };
            self.deleted.closed.fetch_add(1, Ordering::Relaxed);
            self.deleted
                .skipped_bytes
                .fetch_add(size.saturating_sub(pos), Ordering::Relaxed);
            total -= size;
            self.give_up(inode, limit);
            closed.push(inode);
        }
        self.deleted.open_bytes.store(total, Ordering::Relaxed);
        let kept: u64 = spooled
            .iter()
            .filter(|(inode, _)| !closed.contains(inode))
            .map(|(_, size)| size)
            .sum();
        self.deleted.spool_bytes.store(kept, Ordering::Relaxed);
        self.deleted
            .spool_bytes_limit
            .store(spool, Ordering::Relaxed);
        closed
    }

    /// The inodes and sizes among `held` that a spool link keeps (the `SpoolBytes` gauge).
    fn spooled(&self, held: &[(Instant, u64, u64)]) -> Vec<(u64, u64)> {
        held.iter()
            .filter(|(_, inode, _)| self.files.get(inode).is_some_and(|t| t.spool.is_some()))
            .map(|(_, inode, size)| (*inode, *size))
            .collect()
    }
}
