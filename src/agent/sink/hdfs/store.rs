//! The file-system operations the `hdfs` sink needs, behind one small trait: a [`Store`]
//! creates, renames, lists and recovers files; a [`StoreFile`] appends, syncs and closes one.
//! Two implementations: [`LocalStore`] (a local or mounted file system through the `io::Fs`
//! seam; what the sink always did) and [`super::remote::HdfsStore`] (a real HDFS cluster
//! through `hdfs-native`).
//!
//! Every method is synchronous and runs on the sink's blocking thread.

use std::fmt::Debug;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::format::Layout;
use super::recover::{recover_file, Recovered};
use sluice_core::io::{Fs, FsFile, OpenMode};

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name (not a path).
    pub name: String,
    /// Whether it is a directory.
    pub is_dir: bool,
}

/// Where the sink's files live.
pub trait Store: Send + Sync + Debug {
    /// Creates `dir` and its missing parents, durably.
    fn mkdirs(&self, dir: &Path) -> io::Result<()>;
    /// Whether `path` exists.
    fn exists(&self, path: &Path) -> io::Result<bool>;
    /// Creates a new, empty file; fails with `AlreadyExists` if `path` exists.
    fn create(&self, path: &Path) -> io::Result<Box<dyn StoreFile>>;
    /// Renames a closed file to its final name (when the names differ) and makes the new
    /// name durable.
    fn publish(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// The entries of a directory; `NotFound` if it does not exist.
    fn list_dir(&self, dir: &Path) -> io::Result<Vec<DirEntry>>;
    /// Closes a file a crash or a failed write left in use (its torn tail cut after the last
    /// whole unit) and publishes it under `target` (or `target.recovered` when that exists).
    fn recover(&self, in_use: &Path, target: &Path, layout: Layout) -> io::Result<Recovered>;
    /// Where the files go, for log lines (`local file system`, `NameNode hdfs://host:port`).
    fn describe(&self) -> String;
    /// Whether start-up recovery goes on past a file whose recovery failed with `WouldBlock`
    /// (HDFS: a lease the NameNode has not recovered yet, as while the block's DataNodes are
    /// down), leaving it in use for the next start, instead of failing the start.
    fn skips_unrecoverable(&self) -> bool {
        false
    }
}

/// One open file of a [`Store`].
pub trait StoreFile: Send + Debug {
    /// Appends `bytes` at the end of the file.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Makes everything appended durable (local: fdatasync and, for a new file, its
    /// directory; HDFS: `hsync`, every DataNode of the pipeline and the NameNode's length).
    fn sync(&mut self) -> io::Result<()>;
    /// Makes everything appended durable and closes the file (HDFS: completes it), so that
    /// [`Store::publish`] may rename it.
    fn close(&mut self) -> io::Result<()>;
}

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

    fn exists(&self, path: &Path) -> io::Result<bool> {
        Ok(self.fs.exists(path))
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn StoreFile>> {
        let file = self.fs.open(path, OpenMode::CreateNew)?;
        Ok(Box::new(LocalFile {
            fs: self.fs.clone(),
            dir: parent_of(path),
            file,
            offset: 0,
            dirty: false,
            new_entry: true,
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

    fn recover(&self, in_use: &Path, target: &Path, layout: Layout) -> io::Result<Recovered> {
        recover_file(self.fs.as_ref(), in_use, target, layout)
    }

    fn describe(&self) -> String {
        "the local file system".to_owned()
    }
}

/// An open local file: positioned writes at its end, fdatasync on sync.
#[derive(Debug)]
struct LocalFile {
    fs: Arc<dyn Fs>,
    dir: PathBuf,
    file: Arc<dyn FsFile>,
    offset: u64,
    dirty: bool,
    new_entry: bool,
}

impl StoreFile for LocalFile {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.file.write_all_at(bytes, self.offset)?;
        self.offset += bytes.len() as u64;
        self.dirty = true;
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()?;
        self.dirty = false;
        if self.new_entry {
            self.fs.sync_dir(&self.dir)?;
            self.new_entry = false;
        }
        Ok(())
    }

    fn close(&mut self) -> io::Result<()> {
        // The rename must never publish unsynced bytes; `publish` syncs the directory.
        if self.dirty {
            self.file.sync_data()?;
            self.dirty = false;
        }
        Ok(())
    }
}
