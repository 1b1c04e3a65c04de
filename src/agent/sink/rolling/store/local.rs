//! The [`Store`] on a local or mounted file system, through the `io::Fs` seam, for `hdfs` on
//! a local path and for the flat writer (`super::super::flat`: its directory and cut-back):
//! directories created durably, in-use files recovered by [`recover_file`].

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::{DirEntry, FileSync, Recovered, Store, StoreFile, ToRecover};
use crate::agent::sink::rolling::format::{valid_prefix, Layout};
use sluice_core::io::{Fs, FsFile, OpenMode};

/// A local or mounted file system, through the `io::Fs` seam.
#[derive(Debug, Clone)]
pub struct LocalStore {
    fs: Arc<dyn Fs>,
}

impl LocalStore {
    /// A store on `fs`.
    pub fn new(fs: Arc<dyn Fs>) -> LocalStore {
        LocalStore { fs }
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

fn parent_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned()
}

impl Store for LocalStore {
    fn mkdirs(&self, dir: &Path) -> io::Result<()> {
        create_dirs_durably(self.fs.as_ref(), dir)
    }

    fn shares_syncs(&self) -> bool {
        true
    }

    fn stages_batches(&self) -> bool {
        true
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        Ok(self.fs.exists(path))
    }

    fn modified(&self, path: &Path) -> io::Result<Option<std::time::SystemTime>> {
        match self.fs.modified(path) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == io::ErrorKind::Unsupported => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn StoreFile>> {
        let file = self.fs.open(path, OpenMode::CreateNew)?;
        Ok(Box::new(LocalFile {
            sync: Arc::new(LocalSync {
                fs: self.fs.clone(),
                dir: parent_of(path),
                file: file.clone(),
                new_entry: AtomicBool::new(true),
                staged: Mutex::default(),
                failed: AtomicBool::new(false),
            }),
            file,
            offset: 0,
            dirty: false,
        }))
    }

    fn publish(&self, from: &Path, to: &Path) -> io::Result<()> {
        if from != to {
            self.fs.rename(from, to)?;
        }
        self.fs.sync_dir(&parent_of(to))
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        let names = self.fs.list_dir(dir)?;
        Ok(names
            .into_iter()
            .map(|name| {
                let is_dir = self.fs.list_dir(&dir.join(&name)).is_ok();
                DirEntry { name, is_dir }
            })
            .collect())
    }

    fn recover(&self, f: ToRecover<'_>) -> io::Result<Recovered> {
        recover_file(self.fs.as_ref(), f.in_use, f.target, f.layout, f.limit)
    }

    fn cuts_back(&self) -> bool {
        true
    }

    fn cut_published(&self, path: &Path, len: u64) -> io::Result<u64> {
        let file = self.fs.open(path, OpenMode::ReadWrite)?;
        let size = file.len()?;
        if size <= len {
            return Ok(0);
        }
        file.set_len(len)?;
        file.sync_data()?;
        Ok(size - len)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.fs.remove_file(path)?;
        self.fs.sync_dir(&parent_of(path))
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        self.fs.open(path, OpenMode::Read)?.len()
    }

    fn describe(&self) -> String {
        "the local file system".to_owned()
    }
}

/// An open local file: positioned writes at its end, fdatasync on sync. Bytes may be staged
/// (kept in memory, [`StoreFile::stage`]) and written by the next sync from any thread, so a
/// batch written from the sink's task makes no trip to the blocking pool of its own.
#[derive(Debug)]
struct LocalFile {
    file: Arc<dyn FsFile>,
    sync: Arc<LocalSync>,
    /// The file's length once its staged bytes are written.
    offset: u64,
    dirty: bool,
}

/// What syncs a local file, shareable with the acknowledgements of its batches.
#[derive(Debug)]
struct LocalSync {
    fs: Arc<dyn Fs>,
    dir: PathBuf,
    file: Arc<dyn FsFile>,
    /// The file's directory entry is not durable yet.
    new_entry: AtomicBool,
    /// Bytes staged and not yet written. The lock is held through their write, so a writer
    /// that finds the buffer empty knows every staged byte is in the file.
    staged: Mutex<Staged>,
    /// A write of staged bytes failed: the file holds a hole or a torn batch, and no sync of
    /// it may succeed again (the writer cuts its output back; [`super::super::group_sync`]).
    failed: AtomicBool,
}

/// Staged bytes, which start at byte `at` of the file (set by the first byte staged after
/// the buffer was written).
#[derive(Debug, Default)]
struct Staged {
    bytes: Vec<u8>,
    at: u64,
}

impl LocalSync {
    /// Writes the staged bytes at their offset. Blocking.
    fn write_staged(&self) -> io::Result<()> {
        let mut staged = self.staged.lock();
        if self.failed.load(Ordering::Acquire) {
            staged.bytes.clear();
            return Err(io::Error::other(
                "an earlier write of this file's staged bytes failed",
            ));
        }
        if staged.bytes.is_empty() {
            return Ok(());
        }
        let written = self.file.write_all_at(&staged.bytes, staged.at);
        staged.bytes.clear();
        if written.is_err() {
            self.failed.store(true, Ordering::Release);
        }
        written
    }
}

impl FileSync for LocalSync {
    fn sync(&self) -> io::Result<()> {
        self.write_staged()?;
        self.file.sync_data()?;
        if self.new_entry.swap(false, Ordering::AcqRel) {
            if let Err(e) = self.fs.sync_dir(&self.dir) {
                self.new_entry.store(true, Ordering::Release);
                return Err(e);
            }
        }
        Ok(())
    }
}

impl StoreFile for LocalFile {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.sync.write_staged()?;
        if bytes.is_empty() {
            return Ok(());
        }
        self.file.write_all_at(bytes, self.offset)?;
        self.offset += bytes.len() as u64;
        self.dirty = true;
        Ok(())
    }

    fn stage(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let mut staged = self.sync.staged.lock();
        if staged.bytes.is_empty() {
            staged.at = self.offset;
        }
        staged.bytes.extend_from_slice(bytes);
        self.offset += bytes.len() as u64;
        self.dirty = true;
        Ok(())
    }

    fn write_staged(&mut self) -> io::Result<()> {
        self.sync.write_staged()
    }

    fn sync(&mut self) -> io::Result<()> {
        self.sync.sync()?;
        self.dirty = false;
        Ok(())
    }

    fn close(&mut self) -> io::Result<()> {
        self.sync.write_staged()?;
        // The rename must never publish unsynced bytes; `publish` syncs the directory.
        if self.dirty {
            self.file.sync_data()?;
            self.dirty = false;
        }
        Ok(())
    }

    fn syncer(&self) -> Option<Arc<dyn FileSync>> {
        Some(self.sync.clone())
    }
}

/// Cuts one in-use file after its last whole unit (within its first `limit` bytes when
/// given), syncs it and renames it to `target`.
pub fn recover_file(
    fs: &dyn Fs,
    in_use: &Path,
    target: &Path,
    layout: Layout,
    limit: Option<u64>,
) -> io::Result<Recovered> {
    let dir = in_use.parent().unwrap_or(Path::new("."));
    let data = sluice_core::io::read_file(fs, in_use)?;
    let len = data.len() as u64;
    let within = limit.map_or(data.len(), |l| l.min(len) as usize);
    let keep = match valid_prefix(layout, &data[..within]) {
        Some(n) => n as u64,
        None => {
            tracing::warn!(path = %in_use.display(), "in-use file does not start like the configured file type; renamed without cutting");
            within as u64
        }
    };
    if keep == 0 {
        fs.remove_file(in_use)?;
        fs.sync_dir(dir)?;
        tracing::warn!(path = %in_use.display(), cut_bytes = len, "removed an in-use file that held no whole record");
        return Ok(Recovered::removed(in_use, len));
    }
    let file = fs.open(in_use, OpenMode::ReadWrite)?;
    if keep < len {
        file.set_len(keep)?;
        tracing::warn!(path = %in_use.display(), kept_bytes = keep, cut_bytes = len - keep, "cut a torn last record");
    }
    file.sync_data()?;
    drop(file);
    let mut to = target.to_owned();
    if in_use != target {
        if fs.exists(&to) {
            let mut n = to.into_os_string();
            n.push(".recovered");
            to = PathBuf::from(n);
        }
        fs.rename(in_use, &to)?;
    }
    fs.sync_dir(dir)?;
    tracing::info!(from = %in_use.display(), to = %to.display(), kept_bytes = keep, "recovered an in-use file");
    Ok(Recovered {
        from: in_use.to_owned(),
        to: Some(to),
        kept: keep,
        cut: len - keep,
    })
}
