//! Why the rolling writer's file work failed: a path escape that cannot be built, or a file
//! operation (local or HDFS) with what it did and on which path.

use std::io;
use std::path::{Path, PathBuf};

/// Why a batch could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// An event's path could not be built.
    #[error("{0}")]
    Escape(#[from] super::path::EscapeError),
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// The operation.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A path template (`hdfs.path`, `hdfs.filePrefix`) cannot be parsed.
    #[error("{key}: {source}")]
    Template {
        /// The key, as the user writes it.
        key: String,
        /// Why.
        source: super::path::TemplateError,
    },
}

pub(crate) fn io_err<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> WriteError + 'a {
    move |source| WriteError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}
