//! [`WalError`]: what the write path reports, in a file of its own so the writer's parts
//! (`poison`, `space`, `start`, `group_commit`) import it from here, not from `writer.rs`.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// Errors of the write path.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// The channel is poisoned by an earlier write or fsync failure: `op` on `path` failed
    /// with `source`.
    #[error("the channel refuses writes after an earlier I/O failure ({op} {}: {source}); reopen it to recover", path.display())]
    Poisoned {
        /// What was being done (`write`, `fsync`, ...).
        op: &'static str,
        /// On which file or directory.
        path: PathBuf,
        /// The error, shared with the poison latch.
        source: Arc<io::Error>,
    },
    /// Not enough free space in a data directory.
    #[error("data directory {} has {available} bytes free; a put needs {required} (minimumRequiredSpace plus the transaction)", dir.display())]
    DiskFull {
        /// The directory.
        dir: PathBuf,
        /// Bytes free.
        available: u64,
        /// Bytes needed.
        required: u64,
    },
    /// The transaction does not fit in one segment.
    #[error("transaction of {0} bytes does not fit in one segment")]
    TooLarge(usize),
    /// A new segment could not be started (open, create or header write failed). Nothing
    /// acknowledged is at stake: the channel stays usable and the next append retries.
    #[error("start segment {}: {op}: {source} (the commit failed; the channel retries the segment at the next commit)", path.display())]
    Roll {
        /// What was being done.
        op: &'static str,
        /// The new segment's file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// An I/O error (the channel is poisoned when this comes from a write or fsync).
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}
