//! What can stop reading a Flume file channel, each naming the file and, where there is one,
//! the byte offset.

use std::path::{Path, PathBuf};

use crate::invariant::hot_assert;
use sluice_core::io::{Fs, Links};

/// Why a Flume channel cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlumeError {
    /// A file could not be read.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No `log-N` file in any data directory.
    #[error("no Flume log file (log-N) in {dirs}: not a Flume file channel")]
    NoLogs {
        /// The data directories searched.
        dirs: String,
    },
    /// The same log id in two data directories.
    #[error("log-{id} is in two data directories: {} and {}", first.display(), second.display())]
    DuplicateLog {
        /// The id.
        id: u32,
        /// One file.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// A file's structure is not what Flume writes.
    #[error("{} at byte {offset}: {what}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// A queued event's log file is not in any data directory.
    #[error("{count} queued events are in log-{id}, which is in no data directory ({dirs})")]
    MissingLog {
        /// The missing file id.
        id: u32,
        /// Queued events pointing into it.
        count: u64,
        /// The data directories searched.
        dirs: String,
    },
    /// An encrypted log file whose key was not given.
    #[error("{} is encrypted with key {alias:?}, which the configuration does not list (encryption.keyProvider.keys)", path.display())]
    MissingKey {
        /// The file.
        path: PathBuf,
        /// The alias named in its meta file.
        alias: String,
    },
    /// A length or count read from a file is past the file's size or the stated maximum
    /// (nothing was allocated for it).
    #[error("{} at byte {offset}: {what} of {claimed}, more than the {max} allowed: not what Flume writes (a damaged or planted file); move it away or restore Flume's own", path.display())]
    OverLimit {
        /// The file.
        path: PathBuf,
        /// Where the length or count is.
        offset: u64,
        /// What it counts ("a record length in bytes").
        what: &'static str,
        /// What the file claims.
        claimed: u64,
        /// The most accepted.
        max: u64,
    },
    /// A file Flume writes as a regular file is something else (a FIFO, a link, a device).
    #[error("{} is {}, not a regular file: Flume writes only regular files there; remove it or put Flume's file back", path.display(), kind.describe())]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is instead.
        kind: sluice_core::io::EntryKind,
    },
    /// An encrypted log file of a cipher Flume's reader does not know.
    #[error("{} is encrypted with {provider:?}; only AESCTRNOPADDING is read", path.display())]
    UnknownCipher {
        /// The file.
        path: PathBuf,
        /// The cipher provider named in its meta file.
        provider: String,
    },
}

/// `op` on `path` failed.
pub(crate) fn io_err<'a>(
    op: &'static str,
    path: &'a std::path::Path,
) -> impl FnOnce(std::io::Error) -> FlumeError + 'a {
    move |source| match sluice_core::io::not_regular(&source) {
        Some(n) => FlumeError::NotRegular {
            path: path.to_path_buf(),
            kind: n.kind,
        },
        None => FlumeError::Io {
            op,
            path: path.to_path_buf(),
            source,
        },
    }
}

/// The whole of a small file of Flume's (a meta, an in-flight file): opened as a regular
/// file, links refused, its size checked against `max` before anything is allocated.
pub(crate) fn read_small(fs: &dyn Fs, path: &Path, max: u64) -> Result<Vec<u8>, FlumeError> {
    let file = fs
        .open_regular(path, Links::Refuse)
        .map_err(io_err("open", path))?;
    let len = file.len().map_err(io_err("measure", path))?;
    if len > max {
        return Err(FlumeError::OverLimit {
            path: path.to_path_buf(),
            offset: 0,
            what: "a file size in bytes",
            claimed: len,
            max,
        });
    }
    let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
    hot_assert!(buf.len() as u64 == len, "a size below `max` fits memory");
    file.read_exact_at(&mut buf, 0)
        .map_err(io_err("read", path))?;
    Ok(buf)
}

/// Whether `path` is there: a file, a directory, or an entry that is neither (a dangling
/// link, a FIFO), which the reader then refuses by name instead of passing over it.
pub(crate) fn present(fs: &dyn Fs, path: &Path) -> bool {
    fs.exists(path) || fs.entry_info(path).is_ok()
}

/// The structure of `path` at `offset` is not Flume's.
pub(crate) fn corrupt(path: &std::path::Path, offset: u64, what: impl Into<String>) -> FlumeError {
    FlumeError::Corrupt {
        path: path.to_path_buf(),
        offset,
        what: what.into(),
    }
}
