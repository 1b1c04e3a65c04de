//! The spooldir tracker: how far the file being read got, persisted after every committed
//! batch in `<trackerDir>/sluice-spool-position.json` (atomic, fsynced: tmp, fsync, rename,
//! directory fsync), plus the empty "done" markers of `trackingPolicy = tracker_dir`.
//!
//! The file names the file by its path relative to `spoolDir` and its inode, so a restart
//! resumes only in the same file; a damaged tracker is set aside (`.corrupt`) with an error
//! and the file starts again from its beginning (duplicates, never loss).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::agent::atomic_file;

/// The tracker file's name inside `trackerDir`.
pub(crate) const TRACKER_FILE: &str = "sluice-spool-position.json";

/// The position inside the file being read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Position {
    /// Path relative to `spoolDir`.
    pub file: String,
    /// Its inode when it was opened.
    pub inode: u64,
    /// Input bytes whose events were committed.
    pub pos: u64,
}

/// A tracker problem.
#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    /// Reading or writing failed.
    #[error("tracker {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The contents are not a position.
    #[error("tracker {path} is damaged ({reason}); set aside as {aside}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// Where it was moved.
        aside: String,
    },
}

/// The tracker of one spool directory.
#[derive(Debug, Clone)]
pub(crate) struct Tracker {
    dir: PathBuf,
}

impl Tracker {
    /// The tracker kept in `dir` (created when first needed).
    pub(crate) fn new(dir: PathBuf) -> Self {
        Tracker { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.join(TRACKER_FILE)
    }

    fn io(&self, source: std::io::Error) -> TrackerError {
        TrackerError::Io {
            path: self.path(),
            source,
        }
    }

    /// The saved position, if any. A damaged file is moved aside and reported.
    pub(crate) fn load(&self) -> Result<Option<Position>, TrackerError> {
        let path = self.path();
        let Some(bytes) = atomic_file::read(&path).map_err(|e| self.io(e))? else {
            return Ok(None);
        };
        match serde_json::from_slice::<Position>(&bytes) {
            Ok(p) => Ok(Some(p)),
            Err(e) => {
                let aside = atomic_file::set_aside(&path)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|err| format!("(not moved: {err})"));
                Err(TrackerError::Corrupt {
                    path,
                    reason: e.to_string(),
                    aside,
                })
            }
        }
    }

    /// Saves `pos` durably.
    pub(crate) fn save(&self, pos: &Position) -> Result<(), TrackerError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| self.io(e))?;
        let bytes = serde_json::to_vec(pos).map_err(|e| self.io(std::io::Error::other(e)))?;
        atomic_file::replace(&self.path(), &bytes, true).map_err(|e| self.io(e))
    }

    /// Forgets the position (the file was completed), durably.
    pub(crate) fn clear(&self) -> Result<(), TrackerError> {
        match std::fs::remove_file(self.path()) {
            Ok(()) => atomic_file::sync_parent(&self.path()).map_err(|e| self.io(e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io(e)),
        }
    }

    /// The "done" marker of `rel` under `trackingPolicy = tracker_dir`.
    pub(crate) fn marker(&self, rel: &str, suffix: &str) -> PathBuf {
        self.dir.join(format!("{rel}{suffix}"))
    }

    /// Creates the marker of `rel` durably.
    pub(crate) fn mark_done(&self, rel: &str, suffix: &str) -> Result<(), TrackerError> {
        let m = self.marker(rel, suffix);
        let err = |source| TrackerError::Io {
            path: m.clone(),
            source,
        };
        if let Some(parent) = m.parent() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        // Made fresh: a link planted under the marker's name is removed, never written through.
        crate::agent::nofollow::create_fresh(&m)
            .and_then(|f| f.sync_all())
            .map_err(err)?;
        atomic_file::sync_parent(&m).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_position_is_loaded_back_and_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let t = Tracker::new(dir.path().join(".flumespool"));
        assert_eq!(t.load().unwrap(), None);
        let p = Position {
            file: "sub/a.log".into(),
            inode: 42,
            pos: 1234,
        };
        t.save(&p).unwrap();
        assert_eq!(t.load().unwrap(), Some(p));
        t.clear().unwrap();
        assert_eq!(t.load().unwrap(), None);
        t.clear().unwrap();
    }

    #[test]
    fn a_damaged_tracker_is_reported_and_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let t = Tracker::new(dir.path().to_path_buf());
        // What Flume leaves after a full disk: an empty metadata file.
        std::fs::write(dir.path().join(TRACKER_FILE), b"").unwrap();
        let e = t.load().unwrap_err().to_string();
        assert!(e.contains(TRACKER_FILE) && e.contains("damaged"), "{e}");
        assert!(dir.path().join(format!("{TRACKER_FILE}.corrupt")).exists());
        assert_eq!(t.load().unwrap(), None);
    }

    #[test]
    fn markers_mirror_the_relative_path_with_the_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let t = Tracker::new(dir.path().to_path_buf());
        t.mark_done("sub/a.log", ".COMPLETED").unwrap();
        assert!(dir.path().join("sub/a.log.COMPLETED").is_file());
    }
}
