//! What can stop reading a Flume file channel, each naming the file and, where there is one,
//! the byte offset.

use std::path::PathBuf;

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
    move |source| FlumeError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// The structure of `path` at `offset` is not Flume's.
pub(crate) fn corrupt(path: &std::path::Path, offset: u64, what: impl Into<String>) -> FlumeError {
    FlumeError::Corrupt {
        path: path.to_path_buf(),
        offset,
        what: what.into(),
    }
}
