//! The counters of TAILDIR's deleted-file limits (`closeDeletedAfter`, `maxDeletedOpenBytes`,
//! `spoolBytes`, with the spool's bytes against its limit):
//! a leaf shared by the tailer, which owns them, and `deleted`, which updates them.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::agent::metrics::source::taildir::{
    DELETED_BYTES_SKIPPED, DELETED_FILES_CLOSED, DELETED_OPEN_BYTES, SPOOL_BYTES, SPOOL_BYTES_LIMIT,
};

/// What the deleted-file limits saw and did, for the source's metrics.
#[derive(Debug, Default)]
pub(crate) struct DeletedStats {
    /// Bytes of deleted files still held open, at the last check.
    pub open_bytes: AtomicU64,
    /// Deleted files closed by a limit before they were read to their end.
    pub closed: AtomicU64,
    /// Bytes those files had past their committed position.
    pub skipped_bytes: AtomicU64,
    /// Bytes of the deleted files kept by a spool link (counted against `spoolBytes`), at the
    /// last check.
    pub spool_bytes: AtomicU64,
    /// `spoolBytes` in force: 0 while the spool is off (`spoolBytes = 0`, or a link failed).
    pub spool_bytes_limit: AtomicU64,
}

impl DeletedStats {
    /// The gauges shown with the source's counters.
    pub(crate) fn gauges(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                DELETED_OPEN_BYTES,
                self.open_bytes.load(Ordering::Relaxed).to_string(),
            ),
            (
                DELETED_FILES_CLOSED,
                self.closed.load(Ordering::Relaxed).to_string(),
            ),
            (
                DELETED_BYTES_SKIPPED,
                self.skipped_bytes.load(Ordering::Relaxed).to_string(),
            ),
            (
                SPOOL_BYTES,
                self.spool_bytes.load(Ordering::Relaxed).to_string(),
            ),
            (
                SPOOL_BYTES_LIMIT,
                self.spool_bytes_limit.load(Ordering::Relaxed).to_string(),
            ),
        ]
    }
}
