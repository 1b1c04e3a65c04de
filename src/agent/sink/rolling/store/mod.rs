//! The file-system operations the rolling engine needs, behind one small trait: a [`Store`]
//! creates, renames, lists and recovers files; a [`StoreFile`] appends, syncs and closes one.
//! Three implementations, the only store-specific code (the engine names none of them:
//! [`target::Target`] picks one from the path and answers what the driver asks of it, and
//! [`on_fs`] is the flat local writer's): [`local::LocalStore`] (a local or mounted
//! file system through the `io::Fs` seam), [`hdfs::HdfsStore`] (a real HDFS cluster through
//! `hdfs-native`) and [`s3::S3Store`] (an S3 bucket, open files staged on local disk through
//! `LocalStore`).
//!
//! Every method is synchronous and runs on the sink's blocking thread.

use std::fmt::Debug;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::format::Layout;

pub mod hdfs;
pub mod local;
pub mod parquet;
pub mod s3;
pub mod target;

pub use target::Target;

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
    /// Whether its files hand out sync handles ([`StoreFile::syncer`]): batches may share a
    /// sync ([`super::group_sync`]).
    fn shares_syncs(&self) -> bool {
        false
    }
    /// Whether a batch may be staged in its open files with no call to the store at all
    /// (`writer::stage`: no [`Store::admit`] or [`Store::delivered`]): a plain local path.
    fn stages_batches(&self) -> bool {
        false
    }
    /// Whether `path` exists; an error when the store cannot tell (never "absent" for a
    /// store that did not answer: the cut back removes and cuts by it).
    fn exists(&self, path: &Path) -> io::Result<bool>;
    /// Whether a new file may not take the name `path` (the check before [`Store::create`]):
    /// [`Store::exists`], except that a store may answer "free" when it cannot tell (an S3
    /// store while the bucket does not answer: names are unique by their number anyway).
    fn name_taken(&self, path: &Path) -> io::Result<bool> {
        self.exists(path)
    }
    /// Creates a new, empty file; fails with `AlreadyExists` if `path` exists.
    fn create(&self, path: &Path) -> io::Result<Box<dyn StoreFile>>;
    /// Renames a closed file to its final name (when the names differ) and makes the new
    /// name durable.
    fn publish(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// The entries of a directory; `NotFound` if it does not exist.
    fn list_dir(&self, dir: &Path) -> io::Result<Vec<DirEntry>>;
    /// When `path` was last written (the kernel's clock), where the store says: the order
    /// `file_roll`'s cut back trusts over its names' (`flat::resume`). `None` where it does
    /// not.
    fn modified(&self, path: &Path) -> io::Result<Option<std::time::SystemTime>> {
        let _ = path;
        Ok(None)
    }
    /// Closes a file a crash or a failed write left in use (its torn tail cut after the last
    /// whole unit, within its first `limit` bytes when given: the length its last committed
    /// take covered) and publishes it under `target` (or `target.recovered` when that exists).
    fn recover(&self, file: ToRecover<'_>) -> io::Result<Recovered>;
    /// Where the files go, for log lines (`local file system`, `NameNode hdfs://host:port`).
    fn describe(&self) -> String;
    /// Whether start-up recovery goes on past a file whose recovery failed with `WouldBlock`
    /// (HDFS: a lease the NameNode has not recovered yet, as while the block's DataNodes are
    /// down), leaving it in use for the next start, instead of failing the start.
    fn skips_unrecoverable(&self) -> bool {
        false
    }

    /// Whether a file whose [`Store::publish`] failed after it was closed is complete and
    /// durable where it is (an S3 store's staged file), so that the sink keeps it for a
    /// later [`Store::recover`] without failing the batch that rolled it; and whether, once
    /// one such retry failed, the others due then wait for the next `retryInterval` (the
    /// store is likely down for all of them).
    fn defers_publish(&self) -> bool {
        false
    }

    /// Whether `need` more bytes may be written now (an S3 store's staging space,
    /// `hdfs.maxStagedBytes`); an error refuses the batch before anything is written.
    fn admit(&self, need: u64) -> io::Result<()> {
        let _ = need;
        Ok(())
    }

    /// Whether the store can cut its files back to a committed length
    /// ([`Store::cut_published`], [`Store::remove`], `limit` in [`Store::recover`]): what
    /// exactly-once output needs (`super::resume`). An S3 store cuts a staged file in place
    /// and rewrites an uploaded object (`super::s3::cut`).
    fn cuts_back(&self) -> bool {
        false
    }

    /// Cuts a published (closed) file to its first `len` bytes, durably; the bytes it had
    /// beyond them. Only called when [`Store::cuts_back`].
    fn cut_published(&self, path: &Path, len: u64) -> io::Result<u64> {
        let _ = (path, len);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this store cannot cut files back",
        ))
    }

    /// Removes a file, durably. Only called when [`Store::cuts_back`].
    fn remove(&self, path: &Path) -> io::Result<()> {
        let _ = path;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this store cannot remove files",
        ))
    }

    /// The length of a file.
    fn len(&self, path: &Path) -> io::Result<u64> {
        let _ = path;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this store cannot tell a file's length",
        ))
    }

    /// The files below `root` that a walk of [`Store::list_dir`] does not see (an S3
    /// store's uploaded objects: its directories are the staging directory's), for the
    /// start-up listing that recovery and the exactly-once cut back share.
    fn list_published(&self, root: &Path) -> io::Result<Vec<PathBuf>> {
        let _ = root;
        Ok(Vec::new())
    }

    /// A check that the store answers, made when the sink starts (an S3 bucket's listing:
    /// a missing bucket or refused credentials fail the start with one clear error).
    fn probe(&self) -> io::Result<()> {
        Ok(())
    }

    /// Holds the store's background work on its files (an S3 store's uploads: those running
    /// end first, no other starts) until [`Store::resume_background`]: the cut back and
    /// recovery change files an upload reads. Use [`Held`].
    fn pause_background(&self) {}

    /// Ends one [`Store::pause_background`].
    fn resume_background(&self) {}

    /// Told after each delivered batch whose snapshot the sink keeps (a store that keeps
    /// what a cut back may need, [`parquet::ParquetStore`]'s staged rows, counts them).
    fn delivered(&self) {}

    /// Waits up to `limit` for the background work (an S3 store's queued uploads) at stop;
    /// what is left is logged and done at the next start.
    fn drain(&self, limit: Duration) {
        let _ = limit;
    }
}

/// The store on a local or mounted file system, through `fs` (the `io::Fs` seam): the flat
/// writer's, local by definition, and a local `hdfs.path`'s ([`Target::connect`]).
pub fn on_fs(fs: Arc<dyn sluice_core::io::Fs>) -> Arc<dyn Store> {
    Arc::new(local::LocalStore::new(fs))
}

/// The store's background work held while this lives ([`Store::pause_background`]).
#[derive(Debug)]
pub struct Held<'a>(&'a dyn Store);

impl<'a> Held<'a> {
    /// Holds `store`'s background work.
    pub fn new(store: &'a dyn Store) -> Held<'a> {
        store.pause_background();
        Held(store)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.resume_background();
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
    /// A handle that makes what was appended so far durable from another thread, as
    /// [`StoreFile::sync`] does (a local file); `None` when the store cannot share its syncs
    /// (HDFS, S3): the sink then syncs each batch itself.
    fn syncer(&self) -> Option<Arc<dyn FileSync>> {
        None
    }
    /// Appends `bytes` without I/O where the store can (a local file: they wait in memory,
    /// and the next [`FileSync::sync`], [`StoreFile::write_staged`], append, sync or close
    /// writes them first, in order); elsewhere the same as [`StoreFile::append`].
    fn stage(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.append(bytes)
    }
    /// Writes the staged bytes now (no sync). A failure is kept: every later sync of the
    /// file fails too, so no batch staged in it is ever called durable.
    fn write_staged(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Makes a file's appended bytes (and, for a new file, its directory entry) durable; shared
/// by the acknowledgements of the batches written to it ([`super::group_sync`]).
pub trait FileSync: Send + Sync + Debug {
    /// Writes the file's staged bytes ([`StoreFile::stage`]), then fdatasync, and the
    /// directory the first time for a new file.
    fn sync(&self) -> io::Result<()>;
}

/// One file for [`Store::recover`]: every store's recovery reads the same four things.
#[derive(Clone, Copy, Debug)]
pub struct ToRecover<'a> {
    /// The in-use file.
    pub in_use: &'a Path,
    /// Its final name.
    pub target: &'a Path,
    /// Where the file type's whole units end.
    pub layout: Layout,
    /// Only the file's first `limit` bytes count, when given: the length its last committed
    /// take covered.
    pub limit: Option<u64>,
}

/// What recovery did to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovered {
    /// The in-use file.
    pub from: PathBuf,
    /// Its final name, or `None` when it held no whole unit and was removed.
    pub to: Option<PathBuf>,
    /// Bytes kept.
    pub kept: u64,
    /// Bytes cut from the end.
    pub cut: u64,
}

impl Recovered {
    /// An in-use file of `len` bytes that held no whole unit and was removed.
    pub fn removed(from: &Path, len: u64) -> Recovered {
        Recovered {
            from: from.to_owned(),
            to: None,
            kept: 0,
            cut: len,
        }
    }
}
