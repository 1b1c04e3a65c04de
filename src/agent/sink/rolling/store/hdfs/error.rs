//! How the HDFS store's failures read: an HDFS error as an `io::Error` whose kind the sink's
//! logic reads and whose text names the NameNode, the path and the reason; a path that is
//! not UTF-8; a client that cannot be set up.

use std::io;
use std::path::Path;

use hdfs_native::HdfsError;

/// Why an HDFS call failed, as an `io::Error` whose kind the sink's logic reads
/// (`AlreadyExists`, `NotFound`, `TimedOut`) and whose text names the NameNode, the path
/// and the reason.
pub(super) fn hdfs_err(namenode: &str, what: &str, path: &Path, e: HdfsError) -> io::Error {
    let kind = match &e {
        HdfsError::AlreadyExists(_) => io::ErrorKind::AlreadyExists,
        HdfsError::FileNotFound(_) => io::ErrorKind::NotFound,
        HdfsError::RPCError(class, _) if class.ends_with("FileAlreadyExistsException") => {
            io::ErrorKind::AlreadyExists
        }
        HdfsError::RPCError(class, _) if class.ends_with("FileNotFoundException") => {
            io::ErrorKind::NotFound
        }
        HdfsError::RPCError(class, _) if class.ends_with("AccessControlException") => {
            io::ErrorKind::PermissionDenied
        }
        HdfsError::IOError(io) => io.kind(),
        _ => io::ErrorKind::Other,
    };
    io::Error::new(
        kind,
        format!("{namenode}: {what} {}: {}", path.display(), reason(&e)),
    )
}

/// A short reason for an HDFS error: the Java exception's class and first line of message.
fn reason(e: &HdfsError) -> String {
    match e {
        HdfsError::RPCError(class, msg) | HdfsError::FatalRPCError(class, msg) => {
            let short = class.rsplit('.').next().unwrap_or(class);
            let first = msg.lines().next().unwrap_or("");
            format!("{short}: {first}")
        }
        other => other.to_string(),
    }
}

pub(super) fn path_str(path: &Path) -> io::Result<&str> {
    path.to_str().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not UTF-8; HDFS paths are", path.display()),
        )
    })
}

/// The HDFS client cannot be set up (a bad URL or configuration directory).
#[derive(Debug, thiserror::Error)]
#[error("{namenode}: cannot set up the HDFS client: {source}")]
pub struct ClientSetupError {
    /// The NameNode, as configured.
    pub namenode: String,
    /// Why.
    #[source]
    pub source: HdfsError,
}
