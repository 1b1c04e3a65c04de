//! [`SimFs`]: an in-memory file system for tests that simulates power loss and I/O faults.
//!
//! Every file keeps its *current* bytes (what reads see) apart from its *durable* bytes (what
//! survives a power loss): writes and truncations are queued as pending until `sync_data`.
//! Every directory keeps its current entries apart from its durable entries (as of the last
//! `sync_dir`). [`SimFs::crash_image`] builds the file system a machine would find after a power
//! cut: durable entries and bytes, plus each pending write independently kept, dropped or torn
//! (a random prefix kept), chosen by a seed so that a failure can be replayed.
//!
//! Faults: [`Fault`] fails the operation with a chosen index (every call counts, see
//! [`SimFs::op_count`]) with an error, or "crashes" there: that operation and every later one
//! fail with EIO until the test takes a crash image. A space limit makes writes past it fail
//! with ENOSPC after writing what fits, as a real full disk does. [`SimFs::fail_creates`] makes
//! every file creation fail with a chosen errno (EMFILE: descriptors used up), and
//! [`SimFs::remove_tree`] removes a directory with everything in it, as `rm -rf` would.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

mod crash;
mod fault;
mod file;
mod helpers;
mod special;
mod state;
#[cfg(test)]
mod tests;

use self::fault::HookSlot;
pub use self::fault::{Fault, SyncHook};
use self::file::SimFile;
use self::special::OpenSpecial;
use self::state::{Inode, Pending, State};
use super::entry::{EntryInfo, Links};
use super::seam::{DirLock, FileInfo, FileKind, Fs, FsFile, OpenMode};

/// The simulated file system. Cloning shares the same state.
#[derive(Clone, Debug, Default)]
pub struct SimFs {
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct SimLock {
    state: Arc<Mutex<State>>,
    dir: PathBuf,
}

impl DirLock for SimLock {}

impl Drop for SimLock {
    fn drop(&mut self) {
        self.state.lock().locks.remove(&self.dir);
    }
}

impl SimFs {
    /// An empty file system whose crash images are drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        let fs = SimFs::default();
        fs.state.lock().rng = seed;
        fs
    }

    /// Operations counted so far (every call into the seam counts one).
    pub fn op_count(&self) -> u64 {
        self.state.lock().ops
    }

    /// Adds a fault.
    pub fn inject(&self, fault: Fault) {
        self.state.lock().faults.push(fault);
    }

    /// Removes every pending fault.
    pub fn clear_faults(&self) {
        self.state.lock().faults.clear();
    }

    /// Whether a `Fault::Crash` has fired.
    pub fn has_crashed(&self) -> bool {
        self.state.lock().crashed
    }

    /// Limits the total bytes of all files; `None` removes the limit.
    pub fn set_space_limit(&self, limit: Option<u64>) {
        self.state.lock().space_limit = limit;
    }

    /// While `Some(errno)`, every open in a creating mode fails with that errno (opening an
    /// existing file to read or write works as usual); `None` ends it.
    pub fn fail_creates(&self, errno: Option<i32>) {
        self.state.lock().fail_creates = errno;
    }

    /// While `true`, `open_direct` fails with `Unsupported` (a file system without O_DIRECT,
    /// such as tmpfs), so the channel's buffered fallback is exercised.
    pub fn refuse_direct(&self, refuse: bool) {
        self.state.lock().refuse_direct = refuse;
    }

    /// Makes files opened with `O_DIRECT` from now on refuse (EINVAL) I/O that is not aligned
    /// to `align` bytes (default [`DIRECT_ALIGN`](crate::io::DIRECT_ALIGN)), as a device with
    /// larger logical blocks does: `O_DIRECT` opens, and the writer's 4 KiB writes fail.
    pub fn direct_alignment(&self, align: usize) {
        self.state.lock().direct_align = align;
    }

    /// Names the host the simulated disk is mounted on from now on ([`Fs::host_identity`]):
    /// a test moves a channel's disk to another host without copying a file.
    pub fn set_host(&self, host: &str) {
        self.state.lock().host = host.to_string();
    }

    /// Installs (or with `None` removes) a hook every `sync_data` calls between noting the
    /// writes it covers and making them durable ([`SyncHook`]).
    pub fn on_sync(&self, hook: Option<SyncHook>) {
        self.state.lock().sync_hook = hook.map(HookSlot);
    }
}

impl Fs for SimFs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        st.tick()?;
        // Directories themselves are treated as durable once created: the tests care about
        // files inside them, and every channel directory is created before it is used.
        let mut p = Some(path);
        while let Some(dir) = p {
            if dir.as_os_str().is_empty() {
                break;
            }
            st.dirs.entry(dir.to_path_buf()).or_default();
            st.durable_dirs.entry(dir.to_path_buf()).or_default();
            p = dir.parent();
        }
        Ok(())
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut st = self.state.lock();
        st.tick()?;
        let dir = st.dirs.get(path).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{}", path.display()))
        })?;
        let mut names: Vec<String> = dir.keys().cloned().collect();
        names.extend(special::names_in(&st, path));
        // Subdirectories are listed too.
        for d in st.dirs.keys() {
            if d.parent() == Some(path) {
                if let Some(n) = d.file_name().and_then(|n| n.to_str()) {
                    names.push(n.to_owned());
                }
            }
        }
        names.sort();
        Ok(names)
    }

    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn FsFile>> {
        let mut st = self.state.lock();
        st.tick()?;
        // `open` never follows a link (`O_NOFOLLOW`): `on_open` refuses one.
        special::on_open(&st, path, None)?;
        let (dir, name) = State::split(path)?;
        if !st.dirs.contains_key(&dir) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no directory {}", dir.display()),
            ));
        }
        let existing = st.dirs.get(&dir).and_then(|d| d.get(&name)).copied();
        let creates = matches!(mode, OpenMode::CreateNew | OpenMode::CreateTruncate);
        if let (true, Some(errno)) = (creates, st.fail_creates) {
            return Err(io::Error::from_raw_os_error(errno));
        }
        let inode = match (mode, existing) {
            (OpenMode::Read | OpenMode::ReadWrite, Some(ino)) => ino,
            (OpenMode::Read | OpenMode::ReadWrite, None) => {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{}", path.display()),
                ))
            }
            (OpenMode::CreateNew, Some(_)) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{}", path.display()),
                ))
            }
            (OpenMode::CreateTruncate, Some(ino)) => {
                let now = st.stamp();
                if let Some(i) = st.inodes.get_mut(&ino) {
                    i.current.clear();
                    i.pending.push(Pending::SetLen(0));
                    i.modified = now;
                }
                ino
            }
            (OpenMode::CreateNew | OpenMode::CreateTruncate, None) => {
                let ino = st.next_inode;
                st.next_inode += 1;
                let modified = st.stamp();
                st.inodes.insert(
                    ino,
                    Inode {
                        modified,
                        ..Inode::default()
                    },
                );
                if let Some(d) = st.dirs.get_mut(&dir) {
                    d.insert(name, ino);
                }
                ino
            }
        };
        Ok(Arc::new(SimFile {
            state: self.state.clone(),
            inode,
            writable: mode != OpenMode::Read,
            direct: false,
            align: super::DIRECT_ALIGN,
        }))
    }

    fn open_direct(&self, path: &Path) -> io::Result<Arc<dyn FsFile>> {
        if self.state.lock().refuse_direct {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the simulated file system refuses O_DIRECT",
            ));
        }
        let (inode, align) = {
            let mut st = self.state.lock();
            st.tick()?;
            let align = match st.direct_align {
                0 => super::DIRECT_ALIGN,
                a => a,
            };
            (st.lookup(path)?, align)
        };
        Ok(Arc::new(SimFile {
            state: self.state.clone(),
            inode,
            writable: true,
            direct: true,
            align,
        }))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        st.tick()?;
        if special::remove(&mut st, path) {
            return Ok(());
        }
        let (dir, name) = State::split(path)?;
        let removed = st.dirs.get_mut(&dir).and_then(|d| d.remove(&name));
        if removed.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}", path.display()),
            ));
        }
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        st.tick()?;
        if special::rename(&mut st, from, to) {
            return Ok(());
        }
        let (fdir, fname) = State::split(from)?;
        let (tdir, tname) = State::split(to)?;
        let ino = st
            .dirs
            .get_mut(&fdir)
            .and_then(|d| d.remove(&fname))
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("{}", from.display()))
            })?;
        st.dirs
            .get_mut(&tdir)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{}", tdir.display())))?
            .insert(tname, ino);
        Ok(())
    }

    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        st.tick()?;
        let has_files = st
            .dirs
            .get(path)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{}", path.display())))?
            .len();
        let has_dirs = st.dirs.keys().any(|d| d.parent() == Some(path));
        if has_files > 0 || has_dirs {
            return Err(io::Error::new(
                io::ErrorKind::DirectoryNotEmpty,
                format!("{}", path.display()),
            ));
        }
        st.dirs.remove(path);
        st.durable_dirs.remove(path);
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        st.tick()?;
        let entries = st.dirs.get(path).cloned().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{}", path.display()))
        })?;
        st.durable_dirs.insert(path.to_path_buf(), entries);
        Ok(())
    }

    fn exists(&self, path: &Path) -> bool {
        let target = {
            let st = self.state.lock();
            match special::on_open(&st, path, Some(Links::Follow)) {
                Ok(OpenSpecial::Plain) => {
                    return st.dirs.contains_key(path) || st.lookup(path).is_ok()
                }
                Ok(OpenSpecial::Follow(t)) => t,
                Err(_) => return true,
            }
        };
        self.exists(&target)
    }

    fn entry_info(&self, path: &Path) -> io::Result<EntryInfo> {
        special::entry_info(&self.state.lock(), path)
    }

    fn open_regular(&self, path: &Path, links: Links) -> io::Result<Arc<dyn FsFile>> {
        let st = self.state.lock();
        if let OpenSpecial::Follow(target) = special::on_open(&st, path, Some(links))? {
            drop(st);
            return self.open_regular(&target, links);
        }
        if st.dirs.contains_key(path) {
            let kind = super::EntryKind::Dir;
            return Err(super::NotRegular { kind }.into_io());
        }
        drop(st);
        self.open(path, OpenMode::Read)
    }

    /// Simulated files have no owners: files are `0o600`, directories `0o700`.
    fn file_info(&self, path: &Path) -> io::Result<FileInfo> {
        let st = self.state.lock();
        if st.dirs.contains_key(path) {
            return Ok(FileInfo {
                kind: FileKind::Dir,
                mode: 0o700,
            });
        }
        st.lookup(path)?;
        Ok(FileInfo {
            kind: FileKind::File,
            mode: 0o600,
        })
    }

    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        let mut st = self.state.lock();
        st.tick()?;
        if !st.locks.insert(dir.to_path_buf()) {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "directory is locked by another channel",
            ));
        }
        Ok(Box::new(SimLock {
            state: self.state.clone(),
            dir: dir.to_path_buf(),
        }))
    }

    /// A file's simulated identity: device 0 and its inode number (kept by crash images, as a
    /// power cut keeps them; a file copied to a new path is a new inode).
    fn file_identity(&self, path: &Path) -> io::Result<(u64, u64)> {
        let st = self.state.lock();
        if st.dirs.contains_key(path) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a directory has no simulated identity",
            ));
        }
        Ok((0, st.lookup(path)?))
    }

    fn modified(&self, path: &Path) -> io::Result<std::time::SystemTime> {
        let st = self.state.lock();
        if st.dirs.contains_key(path) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a directory has no simulated modification time",
            ));
        }
        let ino = st.lookup(path)?;
        let ops = st.inodes.get(&ino).map_or(0, |i| i.modified);
        Ok(std::time::UNIX_EPOCH + std::time::Duration::from_micros(ops))
    }

    fn host_identity(&self) -> io::Result<String> {
        Ok(self.state.lock().host.clone())
    }

    fn available_space(&self, _path: &Path) -> io::Result<u64> {
        let st = self.state.lock();
        Ok(match st.space_limit {
            Some(limit) => limit.saturating_sub(st.used_bytes()),
            None => u64::MAX / 4,
        })
    }
}
