//! [`remove_own_dir`] and [`move_entries`]: empty and remove, or move entries into or out of,
//! a directory of this process's own through descriptors, for [`StdFs`](super::StdFs)'s
//! `Fs::remove_own_dir` and `Fs::move_entries`. The directory is opened
//! without following a link (`O_NOFOLLOW`) and checked on the descriptor (a directory, owned
//! by this process's user), and its entries are removed relative to that descriptor
//! (`unlinkat`): a link or another user's directory swapped into its place after any check is
//! never emptied, so nothing outside it is ever removed.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "part of the seam: io/std_fs.rs's `remove_own_dir` (crates/clippy.toml)"
)]

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use super::entry::OwnEnd;

/// The error of a path that is not a directory of this process's own.
fn not_own(dir: &Path, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "{} is {what}, not a directory of this user's own: left as it is",
            dir.display()
        ),
    )
}

/// Opens the directory `dir`; with `own`, a link at its last component is refused
/// (`O_NOFOLLOW`) and the descriptor must be a directory of this process's user.
fn open_dir(dir: &Path, own: bool) -> io::Result<File> {
    let mut flags = libc::O_DIRECTORY;
    if own {
        flags |= libc::O_NOFOLLOW;
    }
    let handle = match OpenOptions::new().read(true).custom_flags(flags).open(dir) {
        Ok(h) => h,
        Err(e) if own && matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) => {
            return Err(not_own(dir, "a symbolic link or not a directory"));
        }
        Err(e) => return Err(e),
    };
    if own {
        let meta = handle.metadata()?;
        // SAFETY: geteuid(2) cannot fail and touches no memory.
        let euid = unsafe { libc::geteuid() };
        if !meta.is_dir() {
            return Err(not_own(dir, "not a directory"));
        }
        if meta.uid() != euid {
            return Err(not_own(dir, &format!("owned by uid {}", meta.uid())));
        }
    }
    Ok(handle)
}

/// One directory entry's name for the `*at` calls.
fn c_name(name: &std::ffi::OsStr) -> io::Result<CString> {
    CString::new(name.as_encoded_bytes()).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Removes every file in `dir`, then `dir`, refusing a link or a directory another user owns.
pub(super) fn remove_own_dir(dir: &Path) -> io::Result<()> {
    let handle = open_dir(dir, true)?;
    // The entries of the directory the descriptor holds, whatever its path names by now.
    let fd = handle.as_raw_fd();
    for entry in std::fs::read_dir(format!("/proc/self/fd/{fd}"))? {
        let name = c_name(&entry?.file_name())?;
        // SAFETY: unlinkat(2) on a descriptor this function holds open, with a NUL-terminated
        // name of one component (from readdir), which it only reads.
        if unsafe { libc::unlinkat(fd, name.as_ptr(), 0) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    drop(handle);
    // rmdir(2) does not follow a link at the last component: a swap since fails, ENOTDIR.
    std::fs::remove_dir(dir)
}

/// Moves `names` from `from` into `to` (`renameat` between two descriptors); the end `own`
/// names must be a directory of this process's user, opened without following a link.
pub(super) fn move_entries(
    from: &Path,
    to: &Path,
    names: &[String],
    own: OwnEnd,
) -> io::Result<()> {
    let src = open_dir(from, own == OwnEnd::From)?;
    let dst = open_dir(to, own == OwnEnd::To)?;
    for n in names {
        let name = c_name(std::ffi::OsStr::new(n))?;
        // SAFETY: renameat(2) between two descriptors this function holds open, with one
        // NUL-terminated name of one component on each side, which it only reads.
        let r = unsafe {
            libc::renameat(
                src.as_raw_fd(),
                name.as_ptr(),
                dst.as_raw_fd(),
                name.as_ptr(),
            )
        };
        if r != 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("{}: {e}", from.join(n).display()),
            ));
        }
    }
    Ok(())
}
