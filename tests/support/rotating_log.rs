//! A log written as applications write theirs, for the file-source tests: `app.log` appended
//! to, and rotated by rename (`app.log` becomes `app.log.K`, a fresh `app.log` is opened).

#![allow(dead_code)] // each test crate uses a different subset

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `app.log` in a directory, open for appending.
pub struct RotatingLog {
    dir: PathBuf,
    file: File,
    rotated: usize,
}

fn open_app(dir: &Path) -> File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("app.log"))
        .unwrap_or_else(|e| panic!("opening {}/app.log: {e}", dir.display()))
}

impl RotatingLog {
    /// Opens (or creates) `dir/app.log` for appending.
    pub fn open(dir: &Path) -> Self {
        RotatingLog {
            dir: dir.to_path_buf(),
            file: open_app(dir),
            rotated: 0,
        }
    }

    /// Appends `bytes` to the current `app.log`.
    pub fn write(&mut self, bytes: &[u8]) {
        self.file
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("appending to app.log: {e}"));
    }

    /// Renames `app.log` to `app.log.K` (K = 1, 2, ...) and opens a fresh `app.log`.
    pub fn rotate(&mut self) {
        self.rotated += 1;
        let to = self.dir.join(format!("app.log.{}", self.rotated));
        std::fs::rename(self.dir.join("app.log"), &to)
            .unwrap_or_else(|e| panic!("rotating app.log to {}: {e}", to.display()));
        self.file = open_app(&self.dir);
    }
}
