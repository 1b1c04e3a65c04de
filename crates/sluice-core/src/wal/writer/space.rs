//! The free-space gauge of a data directory: cached, refreshed at most every second
//! (immediately after a refusal, so puts resume as soon as space returns), and lowered by
//! every write so that the cache errs towards refusing.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::error::WalError;
use crate::io::Fs;

/// How old the cached figure may be before a put reads the file system again.
const SPACE_REFRESH: Duration = Duration::from_secs(1);

/// Cached free space of a directory.
#[derive(Debug)]
pub(super) struct SpaceGauge {
    available: AtomicU64,
    refreshed: Mutex<Option<Instant>>,
}

impl SpaceGauge {
    /// A gauge that reads the file system at its first check.
    pub(super) fn new() -> Self {
        SpaceGauge {
            available: AtomicU64::new(0),
            refreshed: Mutex::new(None),
        }
    }

    /// Lowers the estimate by `bytes` (saturating at zero).
    pub(super) fn note_written(&self, bytes: u64) {
        let avail = self.available.load(Ordering::Relaxed);
        self.available
            .store(avail.saturating_sub(bytes), Ordering::Relaxed);
    }

    /// The cached free-space figure (0 before the first check).
    pub(super) fn cached(&self) -> u64 {
        self.available.load(Ordering::Relaxed)
    }

    /// Records that the file system reported itself full.
    pub(super) fn note_full(&self) {
        self.available.store(0, Ordering::Relaxed);
    }

    /// Fails with [`WalError::DiskFull`] unless `dir` keeps `min_free` bytes after `len` more.
    pub(super) fn check(
        &self,
        fs: &dyn Fs,
        dir: &Path,
        min_free: u64,
        len: u64,
    ) -> Result<(), WalError> {
        let required = min_free.saturating_add(len);
        let mut refreshed = self.refreshed.lock();
        let stale = refreshed.is_none_or(|t| t.elapsed() >= SPACE_REFRESH);
        let mut available = self.available.load(Ordering::Relaxed);
        if stale || available < required {
            let fresh = fs.available_space(dir).map_err(|e| WalError::Io {
                op: "read free space of",
                path: dir.to_path_buf(),
                source: e,
            })?;
            self.available.store(fresh, Ordering::Relaxed);
            *refreshed = Some(Instant::now());
            available = fresh;
        }
        if available < required {
            return Err(WalError::DiskFull {
                dir: dir.to_path_buf(),
                available,
                required,
            });
        }
        assert!(available >= required);
        Ok(())
    }
}
