//! The seam's traits and helpers ([`Fs`], [`FsFile`], [`DirLock`], [`OpenMode`]), apart from
//! `io/mod.rs` so the two implementations import them from here and never from their parent.

use std::fmt::Debug;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::entry::{EntryInfo, EntryKind, Links, NotRegular, OwnEnd};

/// How to open a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Read-only; the file must exist.
    Read,
    /// Read and write; the file must exist.
    ReadWrite,
    /// Read and write; the file must not exist yet.
    CreateNew,
    /// Read and write; created if missing, truncated to zero if present.
    CreateTruncate,
}

/// Alignment in bytes of the offsets, lengths and memory of I/O on a file opened with
/// [`Fs::open_direct`] (the largest logical block size in common use).
pub const DIRECT_ALIGN: usize = 4096;

/// Bytes of the static zero block ([`zero_block`]).
const ZERO_BLOCK: usize = 1 << 20;

/// The zeros [`FsFile::write_zeros_at`] writes from: writable (so in `.bss`, not among the
/// binary's read-only data) but never written, and aligned for direct I/O. Only ever read, its
/// pages stay the kernel's shared zero page: the zeroing ahead of a direct-I/O segment held a
/// MiB of each channel's heap resident when it had a buffer of zeros of its own
/// (docs/performance.md, "Memory").
#[repr(C, align(4096))]
struct ZeroBlock(std::cell::UnsafeCell<[u8; ZERO_BLOCK]>);

// SAFETY: nothing writes the block: no `&mut` to it is ever made, only the shared slices of
// `zero_block`.
unsafe impl Sync for ZeroBlock {}

static ZEROS: ZeroBlock = ZeroBlock(std::cell::UnsafeCell::new([0; ZERO_BLOCK]));

/// The first `len` bytes (at most a MiB) of the static zero block, aligned to
/// [`DIRECT_ALIGN`].
fn zero_block(len: usize) -> &'static [u8] {
    // SAFETY: the block is never written (see `ZeroBlock`), so shared reads of it are sound.
    let all: &'static [u8; ZERO_BLOCK] = unsafe { &*ZEROS.0.get() };
    &all[..len.min(ZERO_BLOCK)]
}

/// An open file. All I/O is positional, so one handle can be shared by threads.
pub trait FsFile: Send + Sync + Debug {
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read (0 at end of file).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// Writes all of `buf` at `offset`, extending the file if needed.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Writes all of `buf` at `offset` followed by `zeros` zero bytes, as one write where the
    /// file system allows (`pwritev`): a buffered write that ends on a page boundary never
    /// has to read the rest of its last page first. The default builds one buffer.
    fn write_all_at_padded(&self, buf: &[u8], zeros: usize, offset: u64) -> io::Result<()> {
        let mut whole = Vec::with_capacity(buf.len() + zeros);
        whole.extend_from_slice(buf);
        whole.resize(buf.len() + zeros, 0);
        self.write_all_at(&whole, offset)
    }
    /// Writes `len` zero bytes at `offset`, a MiB per write, from one static block that is
    /// never written ([`zero_block`]): aligned for direct I/O (where `len` and `offset` are
    /// too) and resident nowhere (the zeroing ahead of a direct-I/O segment,
    /// `wal/writer/zero_ahead.rs`).
    fn write_zeros_at(&self, len: usize, offset: u64) -> io::Result<()> {
        let mut done = 0;
        while done < len {
            let chunk = zero_block(len - done);
            self.write_all_at(chunk, offset + done as u64)?;
            done += chunk.len();
        }
        Ok(())
    }
    /// Makes the file's data durable (fdatasync).
    fn sync_data(&self) -> io::Result<()>;
    /// The file's current length.
    fn len(&self) -> io::Result<u64>;
    /// Whether the file is empty.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
    /// Truncates or extends the file.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Whether the file has lost its last directory entry (fstat's link count is 0): it was
    /// unlinked, or its directory removed, while open. One `statx` of the link count alone,
    /// about a microsecond (not `fstat`: see `std_fs.rs` on multigrain timestamps).
    fn is_unlinked(&self) -> io::Result<bool>;

    /// Allocates the file's blocks up to `len` bytes, extending it with zeros when it is
    /// shorter (never shrinking it), so that writes below `len` cannot fail for space. Fails
    /// with `Unsupported` where the file system cannot allocate ahead.
    fn allocate(&self, len: u64) -> io::Result<()> {
        let _ = len;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this file system cannot allocate ahead",
        ))
    }

    /// Asks for `[offset, offset + len)` to be read into memory ahead of use, without waiting
    /// (`posix_fadvise(WILLNEED)`). A hint: nothing fails, and where there is no page cache to
    /// fill it does nothing.
    fn prefetch(&self, offset: u64, len: u64) {
        let _ = (offset, len);
    }

    /// Reads exactly `buf.len()` bytes at `offset`, or fails with `UnexpectedEof`.
    fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.read_at(buf, offset)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file ended before the expected bytes",
                ));
            }
            buf = &mut buf[n..];
            offset += n as u64;
        }
        Ok(())
    }
}

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// Anything else (a device, a socket, a FIFO).
    Other,
}

/// A path's kind and permission bits (symlinks followed), from [`Fs::file_info`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileInfo {
    /// What the path names.
    pub kind: FileKind,
    /// Its permission bits (`st_mode & 0o7777`).
    pub mode: u32,
}

/// A held exclusive directory lock; dropping it releases the lock.
pub trait DirLock: Send + Sync + Debug {}

/// The file system the channel runs on.
pub trait Fs: Send + Sync + Debug {
    /// Creates a directory and its parents.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Names of the entries of a directory (not paths), sorted.
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>>;
    /// Opens a file. A symbolic link at the path's last component is never followed, in any
    /// mode: it fails with [`LinkRefused`](super::LinkRefused) naming the path (the real file
    /// system opens with `O_NOFOLLOW`), so a link planted in place of a file Sluice writes,
    /// truncates or reads back sends nothing elsewhere. Readers of files that may legitimately
    /// be links (keystores, key files) use [`Fs::open_regular`] with [`Links::Follow`].
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn FsFile>>;
    /// Opens an existing file to write with direct I/O (`O_DIRECT`): writes bypass the page
    /// cache, and their offsets, lengths and buffers must be [`DIRECT_ALIGN`]-aligned. Fails
    /// with `Unsupported` where the file system refuses direct I/O (tmpfs, for one).
    fn open_direct(&self, path: &Path) -> io::Result<Arc<dyn FsFile>> {
        let _ = path;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this file system does not do direct I/O",
        ))
    }
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Atomically renames a file, replacing the target.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes a directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Whether a path exists.
    fn exists(&self, path: &Path) -> bool;
    /// Takes an exclusive lock on a directory (a lock file inside it), failing at once with
    /// `WouldBlock` if another process or channel holds it.
    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn DirLock>>;
    /// Removes the empty directory `path`.
    fn remove_dir(&self, path: &Path) -> io::Result<()>;
    /// The process holding a POSIX record lock (`fcntl`, what Java's `FileChannel.lock`
    /// takes, so a live Flume) on the existing file `path`, if one does. Simulated file
    /// systems have no other processes: the default says none.
    fn posix_lock_holder(&self, path: &Path) -> io::Result<Option<u32>> {
        let _ = path;
        Ok(None)
    }
    /// Bytes available to this process on the file system holding `path`.
    fn available_space(&self, path: &Path) -> io::Result<u64>;
    /// What `path` names and its permission bits, symlinks followed (`stat`). The default, for
    /// file systems that have no such notion, fails with `Unsupported`.
    fn file_info(&self, path: &Path) -> io::Result<FileInfo> {
        let _ = path;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this file system reports no file kinds or modes",
        ))
    }
    /// When the file `path` names (a link at its last component not followed) was last
    /// written (`lstat`'s `st_mtime`; the simulated file system: its operation count then).
    /// Ordered as the writes were, by the kernel's clock (not the local time of day, so a
    /// change of daylight saving time does not reorder it). The default fails with
    /// `Unsupported`.
    fn modified(&self, path: &Path) -> io::Result<std::time::SystemTime> {
        let _ = path;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this file system reports no modification times",
        ))
    }
    /// The identity of the file `path` names, a link at its last component not followed:
    /// its file system's device and its inode (`lstat`'s `st_dev`, `st_ino`). A copy of the
    /// file (`cp`, `rsync`, a restored backup) is a new file with another identity; a restart
    /// or a rename keeps it. The default, for file systems with no such notion, fails with
    /// `Unsupported`.
    fn file_identity(&self, path: &Path) -> io::Result<(u64, u64)> {
        let _ = path;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this file system reports no file identities",
        ))
    }
    /// What names the host this file system is mounted on: its machine id
    /// (`/etc/machine-id`, else `/var/lib/dbus/machine-id`) and its host name, either empty
    /// when it cannot be read. The default, for file systems with no host, fails with
    /// `Unsupported`.
    fn host_identity(&self) -> io::Result<String> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this file system names no host",
        ))
    }
    /// The canonical form of an existing `path` (absolute; symlinks, `.` and `..` resolved):
    /// what identifies a directory whatever spelling a configuration uses. The default, for
    /// simulated file systems whose paths are already canonical, returns `path` unchanged.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        Ok(path.to_path_buf())
    }
    /// Removes every file in the directory `dir`, then `dir`, where `dir` must be a directory
    /// of this process's user (one Sluice made): a link or another user's directory there is
    /// refused (`PermissionDenied`) and left as it is. The real file system works through a
    /// descriptor (`O_NOFOLLOW`, `fstat`, `unlinkat`), so a swap after a check removes nothing
    /// outside; the default checks with [`Fs::entry_info`], then removes by path.
    fn remove_own_dir(&self, dir: &Path) -> io::Result<()> {
        let info = self.entry_info(dir)?;
        if info.kind != EntryKind::Dir || !info.own {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} is {} of uid {}, not a directory of this user's own: left as it is",
                    dir.display(),
                    info.kind.describe(),
                    info.uid
                ),
            ));
        }
        for name in self.list_dir(dir)? {
            self.remove_file(&dir.join(name))?;
        }
        self.remove_dir(dir)
    }
    /// Moves the entries `names` of the directory `from` into the directory `to` (each a
    /// rename), where the end `own` names must be a directory of this process's user: a link
    /// or another user's directory there is refused (`PermissionDenied`). The real file system
    /// renames between descriptors (`renameat`), so a swap after a check moves nothing through
    /// a link; the default checks with [`Fs::entry_info`], then renames by path.
    fn move_entries(
        &self,
        from: &Path,
        to: &Path,
        names: &[String],
        own: OwnEnd,
    ) -> io::Result<()> {
        let mine = if own == OwnEnd::From { from } else { to };
        let info = self.entry_info(mine)?;
        if info.kind != EntryKind::Dir || !info.own {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} is {} of uid {}, not a directory of this user's own: left as it is",
                    mine.display(),
                    info.kind.describe(),
                    info.uid
                ),
            ));
        }
        for n in names {
            self.rename(&from.join(n), &to.join(n))?;
        }
        Ok(())
    }
    /// What `path` names itself and who owns it, a link at its last component not followed
    /// (`lstat`). The default, for file systems with no such notion, fails with `Unsupported`
    /// (and whoever must not follow a link then refuses to go on).
    fn entry_info(&self, path: &Path) -> io::Result<EntryInfo> {
        let _ = path;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this file system reports no entry kinds or owners",
        ))
    }
    /// Opens an existing file to read that must be a regular file: opened non-blocking (a
    /// FIFO never waits for a writer), a link at the last component refused with
    /// [`Links::Refuse`] (`O_NOFOLLOW`), then checked on the descriptor (`fstat`), so a swap
    /// between a check and the open is caught too. Anything else fails with [`NotRegular`]
    /// inside an `InvalidInput` error. The default, for wrappers, checks by path and then opens
    /// (not race-free: real file systems override it).
    fn open_regular(&self, path: &Path, links: Links) -> io::Result<Arc<dyn FsFile>> {
        if links == Links::Refuse {
            let e = self.entry_info(path)?;
            if e.kind != EntryKind::File {
                return Err(NotRegular { kind: e.kind }.into_io());
            }
        }
        match self.file_info(path) {
            Ok(i) if i.kind == FileKind::Dir => {
                return Err(NotRegular {
                    kind: EntryKind::Dir,
                }
                .into_io())
            }
            Ok(i) if i.kind == FileKind::Other => {
                return Err(NotRegular {
                    kind: EntryKind::Other,
                }
                .into_io())
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {}
            Err(e) => return Err(e),
        }
        self.open(path, OpenMode::Read)
    }
}

/// Name of the lock file placed in every locked directory.
pub const LOCK_FILE_NAME: &str = "in_use.lock";

/// Reads a whole file through the seam.
pub fn read_file(fs: &dyn Fs, path: &Path) -> io::Result<Vec<u8>> {
    let file = fs.open(path, OpenMode::Read)?;
    let len = usize::try_from(file.len()?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "file too large to read"))?;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, 0)?;
    Ok(buf)
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one: write a
/// temporary file, fdatasync it, rename it over `path`, fsync the directory.
pub fn write_file_atomic(fs: &dyn Fs, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp_name);
    // A temporary left by a crash (or planted: a link to another file) is removed, never
    // written through: `CreateNew` (O_EXCL) does not follow a link and fails if one reappears.
    let left = match fs.entry_info(&tmp) {
        Ok(_) => true,
        Err(e) if e.kind() == io::ErrorKind::Unsupported => fs.exists(&tmp),
        Err(_) => false,
    };
    if left {
        fs.remove_file(&tmp)?;
    }
    let file = fs.open(&tmp, OpenMode::CreateNew)?;
    file.write_all_at(bytes, 0)?;
    file.sync_data()?;
    drop(file);
    fs.rename(&tmp, path)?;
    fs.sync_dir(dir)
}

/// Reads a whole regular file of at most `max_bytes` bytes: opened with
/// [`Fs::open_regular`], its length checked on the descriptor before anything is allocated.
pub fn read_regular(fs: &dyn Fs, path: &Path, links: Links, max_bytes: u64) -> io::Result<Vec<u8>> {
    let file = fs.open_regular(path, links)?;
    let len = file.len()?;
    if len > max_bytes {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{len} bytes, more than the {max_bytes} such a file may hold"),
        ));
    }
    let len = usize::try_from(len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "file too large to read"))?;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, 0)?;
    Ok(buf)
}
