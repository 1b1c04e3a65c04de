//! Test helpers of [`SimFs`] that are not seam calls: durable bytes, `rm -rf`, an unsynced
//! unlink, a flipped byte, and the entries a real disk can hold that the channel never
//! creates (a symbolic link, a FIFO, an entry owned by another user), so that what refuses
//! them is tested on the simulated file system too.

use std::io;
use std::path::{Path, PathBuf};

use super::state::{Special, State};
use super::SimFs;

impl SimFs {
    /// The bytes of `path` that survive a power loss now (its durable content), for tests.
    pub fn durable_bytes(&self, path: &Path) -> io::Result<Vec<u8>> {
        let st = self.state.lock();
        let ino = st.lookup(path)?;
        st.inodes
            .get(&ino)
            .map(|i| i.durable.clone())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "inode"))
    }

    /// Removes `dir`, its files and its subdirectories at once, durably (`rm -rf` and a
    /// sync). Open handles keep working on the unlinked files, as on Linux.
    pub fn remove_tree(&self, dir: &Path) {
        let mut st = self.state.lock();
        st.dirs.retain(|d, _| !d.starts_with(dir));
        st.durable_dirs.retain(|d, _| !d.starts_with(dir));
    }

    /// Removes one directory entry without syncing the directory: a crash image taken before
    /// the next `sync_dir` of `path`'s directory still has it. Test helper (not a seam call).
    pub fn unlink_durably(&self, path: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        let (dir, name) = State::split(path)?;
        let gone = st.dirs.get_mut(&dir).and_then(|d| d.remove(&name));
        if let Some(d) = st.durable_dirs.get_mut(&dir) {
            d.remove(&name);
        }
        gone.map(|_| ())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{}", path.display())))
    }

    /// Flips one byte of a file in place (current and durable), for corruption tests.
    pub fn corrupt_byte(&self, path: &Path, offset: u64) -> io::Result<()> {
        let mut st = self.state.lock();
        let ino = st.lookup(path)?;
        let inode = st
            .inodes
            .get_mut(&ino)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "inode"))?;
        let off = offset as usize;
        if off >= inode.current.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "offset past end",
            ));
        }
        inode.current[off] ^= 0xFF;
        if off < inode.durable.len() {
            inode.durable[off] ^= 0xFF;
        }
        Ok(())
    }

    /// Makes `path` a symbolic link to `target` (one level: the link's target is looked up as
    /// given). Its directory must exist.
    pub fn make_symlink(&self, path: &Path, target: &Path) -> io::Result<()> {
        self.add_special(path, Special::Symlink(target.to_path_buf()))
    }

    /// Makes `path` a FIFO: opening it with `open` fails (`WouldBlock`: a real open would wait
    /// for a writer), `open_regular` refuses it. Its directory must exist.
    pub fn make_fifo(&self, path: &Path) -> io::Result<()> {
        self.add_special(path, Special::Fifo)
    }

    /// Makes `path` (a file, a directory or a special entry) owned by another user.
    pub fn set_foreign_owner(&self, path: &Path) {
        self.state.lock().foreign.insert(path.to_path_buf());
    }

    fn add_special(&self, path: &Path, special: Special) -> io::Result<()> {
        let mut st = self.state.lock();
        let (dir, _) = State::split(path)?;
        if !st.dirs.contains_key(&dir) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no directory {}", dir.display()),
            ));
        }
        if st.dirs.contains_key(path) || st.lookup(path).is_ok() || st.specials.contains_key(path) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{}", path.display()),
            ));
        }
        st.specials.insert(PathBuf::from(path), special);
        Ok(())
    }
}
