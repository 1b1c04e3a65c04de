//! The poison latch: the first failed write or fsync of a channel is kept, typed, and every
//! later write attempt fails with it until the channel is reopened (a failed fsync is never
//! retried: the kernel may have dropped the dirty pages it failed to write).

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use super::error::WalError;

/// The failure that poisoned a channel: what was being done, on which file, and the error.
#[derive(Clone, Debug)]
pub struct PoisonCause {
    /// The operation (`write`, `fsync`, ...).
    pub op: &'static str,
    /// The file or directory it was done to.
    pub path: PathBuf,
    /// The error, shared by every refusal that reports it.
    pub source: Arc<io::Error>,
}

impl PoisonCause {
    /// The refusal this cause makes of a later write.
    pub fn to_error(&self) -> WalError {
        WalError::Poisoned {
            op: self.op,
            path: self.path.clone(),
            source: Arc::clone(&self.source),
        }
    }
}

/// The latch that refuses writes after the first failed write or fsync.
#[derive(Debug, Default)]
pub struct Poison {
    cause: OnceLock<PoisonCause>,
}

impl Poison {
    /// Fails if poisoned.
    pub fn check(&self) -> Result<(), WalError> {
        match self.cause.get() {
            Some(c) => Err(c.to_error()),
            None => Ok(()),
        }
    }

    /// Latches the first cause (a later one is only logged). The error itself goes back to
    /// the caller that met it; the latch keeps a copy with the same errno and message.
    pub fn set(&self, op: &'static str, path: PathBuf, source: &io::Error) {
        tracing::error!(op, path = %path.display(), error = %source, "channel poisoned: no further writes until it is reopened");
        let cause = PoisonCause {
            op,
            path,
            source: Arc::new(duplicate(source)),
        };
        let _first = self.cause.get_or_init(|| cause);
        assert!(self.cause.get().is_some(), "the poison latch did not latch");
    }

    /// Latches `source` and returns the refusal every later write will see (for failures
    /// that are themselves the reason to refuse, such as a segment found unlinked).
    pub fn refuse(&self, op: &'static str, path: PathBuf, source: io::Error) -> WalError {
        self.set(op, path.clone(), &source);
        match self.cause.get() {
            Some(c) => c.to_error(),
            None => WalError::Io { op, path, source },
        }
    }

    /// The cause, if poisoned.
    pub fn cause(&self) -> Option<&PoisonCause> {
        self.cause.get()
    }
}

/// A copy of `e` with the same errno (or kind) and message: `io::Error` is not `Clone`.
fn duplicate(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_cause_is_kept_and_every_check_reports_it() {
        let p = Poison::default();
        assert!(p.check().is_ok());
        let eio = io::Error::from_raw_os_error(libc::EIO);
        p.set("fsync", PathBuf::from("/d/log-1"), &eio);
        let later = p.refuse(
            "write",
            PathBuf::from("/d/log-2"),
            io::Error::other("other"),
        );
        for e in [later, p.check().unwrap_err()] {
            let WalError::Poisoned { op, path, .. } = &e else {
                panic!("{e:?}");
            };
            assert_eq!(
                (*op, path.as_path()),
                ("fsync", std::path::Path::new("/d/log-1"))
            );
            assert!(e.to_string().contains("reopen"), "{e}");
            assert_eq!(p.cause().unwrap().source.raw_os_error(), Some(libc::EIO));
        }
    }
}
