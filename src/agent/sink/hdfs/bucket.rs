//! One open file of the `hdfs` sink (Flume's `BucketWriter`): created under its in-use name
//! (`inUsePrefix` + `filePrefix.N` + suffix + `inUseSuffix`), appended batch by batch, and
//! closed by a rename to its final name. With fsync on, [`BucketWriter::flush`] returns only
//! after the batch's bytes (and, for a new file, its directory entry) are durable, and
//! [`BucketWriter::close`] syncs the directory after the rename.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::format::{Encoder, Layout};
use sluice_core::io::{Fs, FsFile, OpenMode};
use sluice_core::Event;

/// Tries at finding an unused file name before giving up.
pub const NAME_TRIES_MAX: u32 = 10_000;

/// How the sink names files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Naming {
    /// `hdfs.fileSuffix`, or the codec's extension when that is empty.
    pub suffix: String,
    /// `hdfs.inUsePrefix`.
    pub in_use_prefix: String,
    /// `hdfs.inUseSuffix` (empty with `emptyInUseSuffix`).
    pub in_use_suffix: String,
    /// `hdfs.filePrefix` when it has no escapes: recovery then touches only files with it,
    /// so sinks sharing a directory with distinct prefixes leave each other's files alone.
    pub fixed_prefix: Option<String>,
}

impl Naming {
    /// The final name of file number `counter` with the (escaped) prefix.
    pub fn final_name(&self, prefix: &str, counter: u64) -> String {
        format!("{prefix}.{counter}{}", self.suffix)
    }

    /// The in-use name of a final name.
    pub fn in_use_name(&self, final_name: &str) -> String {
        format!("{}{final_name}{}", self.in_use_prefix, self.in_use_suffix)
    }

    /// The final name of an in-use name, if it is one.
    pub fn final_of_in_use<'a>(&self, in_use: &'a str) -> Option<&'a str> {
        if self.in_use_prefix.is_empty() && self.in_use_suffix.is_empty() {
            return None;
        }
        in_use
            .strip_prefix(self.in_use_prefix.as_str())?
            .strip_suffix(self.in_use_suffix.as_str())
            .filter(|s| !s.is_empty())
    }
}

/// Creates `dir` and its missing parents, and makes each new entry durable.
pub fn create_dirs_durably(fs: &dyn Fs, dir: &Path) -> io::Result<()> {
    if fs.exists(dir) {
        return Ok(());
    }
    let mut missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|p| !p.as_os_str().is_empty() && !fs.exists(p))
        .collect();
    fs.create_dir_all(dir)?;
    missing.reverse();
    for d in missing {
        if let Some(parent) = d.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs.sync_dir(parent)?;
        }
    }
    Ok(())
}

/// An open bucket file.
#[derive(Debug)]
pub struct BucketWriter {
    dir: PathBuf,
    in_use: PathBuf,
    target: PathBuf,
    file: Arc<dyn FsFile>,
    offset: u64,
    header: Vec<u8>,
    new_entry: bool,
    encoder: Encoder,
    /// Events appended.
    pub events: u64,
    /// Body bytes appended (what `rollSize` counts, as in Flume).
    pub body_bytes: u64,
    /// When the file was opened.
    pub opened_at: Instant,
    /// When an event was last appended.
    pub last_write: Instant,
}

impl BucketWriter {
    /// Opens a new file in `dir` named from `prefix` and the next free `counter`.
    pub fn open(
        fs: &dyn Fs,
        dir: &Path,
        prefix: &str,
        naming: &Naming,
        counter: &mut u64,
        layout: Layout,
        now: Instant,
    ) -> io::Result<BucketWriter> {
        create_dirs_durably(fs, dir)?;
        for _ in 0..NAME_TRIES_MAX {
            *counter += 1;
            let name = naming.final_name(prefix, *counter);
            let target = dir.join(&name);
            let in_use = dir.join(naming.in_use_name(&name));
            if fs.exists(&target) {
                continue;
            }
            let file = match fs.open(&in_use, OpenMode::CreateNew) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            };
            // Flume's BucketWriter logs the same two lines (`Creating`, `Renaming`).
            tracing::info!("Creating {}", in_use.display());
            let encoder = Encoder::new(layout, *counter ^ fastrand::u64(..));
            return Ok(BucketWriter {
                dir: dir.to_owned(),
                header: encoder.header(),
                in_use,
                target,
                file,
                offset: 0,
                new_entry: true,
                encoder,
                events: 0,
                body_bytes: 0,
                opened_at: now,
                last_write: now,
            });
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "no free file name for prefix {prefix:?} in {} after {NAME_TRIES_MAX} tries",
                dir.display()
            ),
        ))
    }

    /// The in-use path.
    pub fn in_use_path(&self) -> &Path {
        &self.in_use
    }

    /// The final path.
    pub fn target_path(&self) -> &Path {
        &self.target
    }

    /// Whether `rollCount` or `rollSize` says the next event goes to a new file.
    pub fn should_rotate(&self, roll_count: Option<u64>, roll_size: Option<u64>) -> bool {
        roll_count.is_some_and(|n| self.events >= n)
            || roll_size.is_some_and(|n| self.body_bytes >= n)
    }

    /// Adds an event to the batch being built.
    pub fn append(&mut self, e: &Event, ts_ms: i64, now: Instant) -> io::Result<()> {
        self.encoder.add(e, ts_ms)?;
        self.events += 1;
        self.body_bytes += e.body.len() as u64;
        self.last_write = now;
        Ok(())
    }

    /// Writes the batch built so far; with `fsync`, makes it (and a new file's directory
    /// entry) durable before returning.
    pub fn flush(&mut self, fs: &dyn Fs, fsync: bool) -> io::Result<()> {
        // One write per batch, from the encoder's reused buffer (with the file's header
        // in front on its first write).
        let batch = self.encoder.batch()?;
        let written = if self.header.is_empty() {
            if !batch.is_empty() {
                self.file.write_all_at(batch, self.offset)?;
            }
            batch.len()
        } else {
            let mut bytes = std::mem::take(&mut self.header);
            bytes.extend_from_slice(batch);
            self.file.write_all_at(&bytes, self.offset)?;
            bytes.len()
        };
        self.offset += written as u64;
        self.encoder.clear_batch();
        if fsync {
            self.file.sync_data()?;
            if self.new_entry {
                fs.sync_dir(&self.dir)?;
                self.new_entry = false;
            }
        }
        Ok(())
    }

    /// Flushes, syncs and renames the file to its final name, then syncs the directory.
    pub fn close(&mut self, fs: &dyn Fs, fsync: bool) -> io::Result<()> {
        self.flush(fs, fsync)?;
        if !fsync {
            // Even without per-batch fsync the rename must not publish unsynced bytes.
            self.file.sync_data()?;
        }
        if self.in_use != self.target {
            tracing::info!(
                "Renaming {} to {}",
                self.in_use.display(),
                self.target.display()
            );
            fs.rename(&self.in_use, &self.target)?;
        }
        fs.sync_dir(&self.dir)
    }
}
