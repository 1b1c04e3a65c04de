//! [`StdFs`]: the real file system, through `std::fs` with positional I/O and `fs2` locks.
//! Every [`Fs::open`] (and the lock file) refuses a symbolic link at the path's last component
//! (`O_NOFOLLOW`, [`refuse_link`]): no write, truncation or read-back of the agent's own files
//! goes through a link planted in place of one.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the seam itself: the one place in the core allowed `std::fs` (crates/clippy.toml)"
)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fs2::FileExt as _;

use super::entry::{entry_kind, EntryInfo, EntryKind, LinkRefused, Links, NotRegular, OwnEnd};
use super::seam::{DirLock, FileInfo, FileKind, Fs, FsFile, OpenMode, LOCK_FILE_NAME};
use super::statx::statx_only;

/// The most zeros [`FsFile::write_all_at_padded`] writes from a static buffer (a page and a
/// frame header: what the buffered writer of a recycled segment pads with).
const PAD_ZEROS_MAX: usize = 8192;

/// What an open of `path` with `O_NOFOLLOW` failing with `e` means: `ELOOP` where `path` is
/// itself a link (its last component; `lstat` asked, since `ELOOP` also means too many links
/// in the directories above) becomes a [`LinkRefused`] naming it; anything else stays as it is.
pub fn refuse_link(path: &Path, e: io::Error) -> io::Error {
    let is_link = || std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if e.raw_os_error() == Some(libc::ELOOP) && is_link() {
        LinkRefused::io(path)
    } else {
        e
    }
}

/// The operating system's file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdFs;

#[derive(Debug)]
struct StdFile(File);

impl FsFile for StdFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        loop {
            match self.0.read_at(buf, offset) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_all_at(buf, offset)
    }

    fn write_all_at_padded(&self, buf: &[u8], zeros: usize, offset: u64) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        static ZEROS: [u8; PAD_ZEROS_MAX] = [0; PAD_ZEROS_MAX];
        if zeros > ZEROS.len() {
            self.0.write_all_at(buf, offset)?;
            return self
                .0
                .write_all_at(&vec![0; zeros], offset + buf.len() as u64);
        }
        let total = buf.len() + zeros;
        let mut done = 0;
        // Each round writes what is left of `buf` and of the zeros; a short write goes on
        // from where it stopped.
        while done < total {
            let (head, tail) = if done < buf.len() {
                (&buf[done..], &ZEROS[..zeros])
            } else {
                (&ZEROS[..0], &ZEROS[done - buf.len()..zeros])
            };
            let iov = [
                libc::iovec {
                    iov_base: head.as_ptr() as *mut libc::c_void,
                    iov_len: head.len(),
                },
                libc::iovec {
                    iov_base: tail.as_ptr() as *mut libc::c_void,
                    iov_len: tail.len(),
                },
            ];
            let at = libc::off_t::try_from(offset + done as u64)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))?;
            // SAFETY: both iovecs point into live slices of the given lengths, only read by
            // the kernel for the duration of the call.
            let n = unsafe { libc::pwritev(self.0.as_raw_fd(), iov.as_ptr(), 2, at) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "pwritev wrote nothing",
                ));
            }
            done += n as usize;
        }
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn len(&self) -> io::Result<u64> {
        match statx_only(&self.0, libc::STATX_SIZE) {
            Some(r) => r.map(|st| st.stx_size),
            None => Ok(self.0.metadata()?.len()),
        }
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }

    fn is_unlinked(&self) -> io::Result<bool> {
        match statx_only(&self.0, libc::STATX_NLINK) {
            Some(r) => r.map(|st| st.stx_nlink == 0),
            None => Ok(self.0.metadata()?.nlink() == 0),
        }
    }

    fn prefetch(&self, offset: u64, len: u64) {
        use std::os::fd::AsRawFd;
        let (Ok(offset), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len))
        else {
            return;
        };
        // SAFETY: posix_fadvise(2) on a descriptor this value owns; no memory is passed. A
        // hint: its result is ignored (the read that follows reports any real failure).
        let _ = unsafe {
            libc::posix_fadvise(self.0.as_raw_fd(), offset, len, libc::POSIX_FADV_WILLNEED)
        };
    }

    fn allocate(&self, len: u64) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        if len <= self.len()? {
            return Ok(());
        }
        let len = libc::off_t::try_from(len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "allocation too large"))?;
        loop {
            // SAFETY: fallocate(2) on a descriptor this value owns; no memory is passed.
            // Mode 0: blocks reserved and the size raised to `len` (never lowered).
            let r = unsafe { libc::fallocate(self.0.as_raw_fd(), 0, 0, len) };
            if r == 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EOPNOTSUPP) => {
                    return Err(io::Error::new(io::ErrorKind::Unsupported, e));
                }
                _ => return Err(e),
            }
        }
    }
}

#[derive(Debug)]
struct StdLock(File);

impl DirLock for StdLock {}

impl Drop for StdLock {
    fn drop(&mut self) {
        // Closing the descriptor releases the lock as well; unlocking first is a courtesy.
        if let Err(e) = fs2::FileExt::unlock(&self.0) {
            tracing::debug!(error = %e, "unlocking a directory lock failed; closing releases it");
        }
    }
}

impl Fs for StdFs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn FsFile>> {
        let mut opts = OpenOptions::new();
        match mode {
            OpenMode::Read => opts.read(true),
            OpenMode::ReadWrite => opts.read(true).write(true),
            OpenMode::CreateNew => opts.read(true).write(true).create_new(true),
            OpenMode::CreateTruncate => opts.read(true).write(true).create(true).truncate(true),
        };
        opts.custom_flags(libc::O_NOFOLLOW);
        let file = opts.open(path).map_err(|e| refuse_link(path, e))?;
        Ok(Arc::new(StdFile(file)))
    }

    fn open_direct(&self, path: &Path) -> io::Result<Arc<dyn FsFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_DIRECT | libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                // open(2): EINVAL "the filesystem does not support the O_DIRECT flag".
                Some(libc::EINVAL) => io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("{}: the file system refuses O_DIRECT", path.display()),
                ),
                _ => refuse_link(path, e),
            })?;
        Ok(Arc::new(StdFile(file)))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir(path)
    }

    fn posix_lock_holder(&self, path: &Path) -> io::Result<Option<u32>> {
        use std::os::fd::AsRawFd;
        // Another program's file: a link is not followed and a FIFO not waited on.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => NotRegular {
                    kind: EntryKind::Symlink,
                }
                .into_io(),
                _ => e,
            })?;
        let kind = entry_kind(file.metadata()?.file_type());
        if kind != EntryKind::File {
            return Err(NotRegular { kind }.into_io());
        }
        // SAFETY: `flock` is plain data; zeroed is a valid value for every field.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as libc::c_short;
        fl.l_whence = libc::SEEK_SET as libc::c_short;
        // SAFETY: a valid open descriptor and a valid `flock` the call fills in.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut fl) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((fl.l_type != libc::F_UNLCK as libc::c_short).then_some(fl.l_pid as u32))
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW)
            .open(dir.join(LOCK_FILE_NAME))
            .map_err(|e| refuse_link(&dir.join(LOCK_FILE_NAME), e))?;
        file.try_lock_exclusive().map_err(|e| {
            if e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::EWOULDBLOCK)
            {
                io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "directory is locked by another process",
                )
            } else {
                e
            }
        })?;
        Ok(Box::new(StdLock(file)))
    }

    fn available_space(&self, path: &Path) -> io::Result<u64> {
        fs2::available_space(path)
    }

    fn file_identity(&self, path: &Path) -> io::Result<(u64, u64)> {
        let meta = std::fs::symlink_metadata(path)?;
        Ok((meta.dev(), meta.ino()))
    }

    fn modified(&self, path: &Path) -> io::Result<std::time::SystemTime> {
        std::fs::symlink_metadata(path)?.modified()
    }

    fn host_identity(&self) -> io::Result<String> {
        Ok(host_identity())
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }

    fn remove_own_dir(&self, dir: &Path) -> io::Result<()> {
        super::own_dir::remove_own_dir(dir)
    }

    fn move_entries(
        &self,
        from: &Path,
        to: &Path,
        names: &[String],
        own: OwnEnd,
    ) -> io::Result<()> {
        super::own_dir::move_entries(from, to, names, own)
    }

    fn entry_info(&self, path: &Path) -> io::Result<EntryInfo> {
        let meta = std::fs::symlink_metadata(path)?;
        // SAFETY: geteuid(2) cannot fail and touches no memory.
        let euid = unsafe { libc::geteuid() };
        Ok(EntryInfo {
            kind: entry_kind(meta.file_type()),
            uid: meta.uid(),
            own: meta.uid() == euid,
        })
    }

    fn open_regular(&self, path: &Path, links: Links) -> io::Result<Arc<dyn FsFile>> {
        let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
        if links == Links::Refuse {
            flags |= libc::O_NOFOLLOW;
        }
        let file = match OpenOptions::new().read(true).custom_flags(flags).open(path) {
            Ok(f) => f,
            // open(2): ELOOP "O_NOFOLLOW was specified and the final component is a link".
            Err(e) if links == Links::Refuse && e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(NotRegular {
                    kind: EntryKind::Symlink,
                }
                .into_io())
            }
            Err(e) => return Err(e),
        };
        // The descriptor's own type: what was opened, whatever the path names by now.
        let kind = entry_kind(file.metadata()?.file_type());
        if kind != EntryKind::File {
            return Err(NotRegular { kind }.into_io());
        }
        Ok(Arc::new(StdFile(file)))
    }

    fn file_info(&self, path: &Path) -> io::Result<FileInfo> {
        let meta = std::fs::metadata(path)?;
        let kind = if meta.is_file() {
            FileKind::File
        } else if meta.is_dir() {
            FileKind::Dir
        } else {
            FileKind::Other
        };
        Ok(FileInfo {
            kind,
            mode: meta.mode() & 0o7777,
        })
    }
}

/// Files that hold the host's machine id, the first one readable wins.
const MACHINE_ID_PATHS: [&str; 2] = ["/etc/machine-id", "/var/lib/dbus/machine-id"];
/// Most bytes read of a machine id or a host name.
const HOST_NAME_BYTES_MAX: usize = 256;

/// `machine id/host name` of this host, either empty when it cannot be read.
fn host_identity() -> String {
    let machine = MACHINE_ID_PATHS
        .iter()
        .find_map(|p| std::fs::read(p).ok())
        .map(|b| {
            let b = &b[..b.len().min(HOST_NAME_BYTES_MAX)];
            String::from_utf8_lossy(b).trim().to_string()
        })
        .unwrap_or_default();
    let mut name = [0u8; HOST_NAME_BYTES_MAX];
    // SAFETY: gethostname(2) writes at most `name.len()` bytes into the buffer it is given.
    let rc = unsafe { libc::gethostname(name.as_mut_ptr().cast(), name.len()) };
    let host = if rc == 0 {
        let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
        String::from_utf8_lossy(&name[..end]).into_owned()
    } else {
        String::new()
    };
    format!("{machine}/{host}")
}

#[cfg(test)]
mod tests {
    use super::super::seam::DIRECT_ALIGN;
    use super::*;

    #[test]
    fn the_size_and_the_link_check_answer_from_statx_as_fstat_would() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg");
        let f = StdFs.open(&path, OpenMode::CreateNew).unwrap();
        assert_eq!(f.len().unwrap(), 0);
        f.write_all_at(b"0123456789", 0).unwrap();
        assert_eq!(f.len().unwrap(), 10);
        f.allocate(1 << 16).unwrap();
        assert_eq!(
            f.len().unwrap(),
            1 << 16,
            "allocated ahead: the size is raised"
        );
        assert!(!f.is_unlinked().unwrap());
        std::fs::remove_file(&path).unwrap();
        assert!(f.is_unlinked().unwrap(), "its only name removed");
        assert_eq!(f.len().unwrap(), 1 << 16, "an unlinked file keeps its size");
    }

    #[test]
    fn zeros_are_written_over_a_range_of_any_length_and_with_direct_io() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg");
        let f = StdFs.open(&path, OpenMode::CreateNew).unwrap();
        let len = (1 << 20) * 2 + 12_345;
        f.write_all_at(&vec![7; len + 20], 0).unwrap();
        f.write_zeros_at(len, 10).unwrap();
        let back = std::fs::read(&path).unwrap();
        assert_eq!(back.len(), len + 20, "nothing written past the range");
        assert_eq!(&back[..10], &[7; 10], "nothing before it");
        assert!(back[10..10 + len].iter().all(|b| *b == 0), "zeros over it");
        assert_eq!(&back[10 + len..], &[7; 10], "nothing after it");
        // With direct I/O (aligned offset and length), where the file system takes it.
        let Ok(d) = StdFs.open_direct(&path) else {
            return;
        };
        let direct = (1 << 20) + 3 * DIRECT_ALIGN;
        std::fs::write(&path, vec![9; direct + DIRECT_ALIGN]).unwrap();
        d.write_zeros_at(direct, DIRECT_ALIGN as u64).unwrap();
        let back = std::fs::read(&path).unwrap();
        assert!(back[..DIRECT_ALIGN].iter().all(|b| *b == 9));
        assert!(back[DIRECT_ALIGN..].iter().all(|b| *b == 0));
    }
}
