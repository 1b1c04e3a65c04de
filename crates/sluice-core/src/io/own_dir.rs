//! [`remove_own_dir`]: empties and removes a directory of this process's own through a
//! descriptor, for [`StdFs`](super::StdFs)'s `Fs::remove_own_dir`. The directory is opened
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
use std::fs::OpenOptions;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

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

/// Removes every file in `dir`, then `dir`, refusing a link or a directory another user owns.
pub(super) fn remove_own_dir(dir: &Path) -> io::Result<()> {
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(dir);
    let handle = match opened {
        Ok(h) => h,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) => {
            return Err(not_own(dir, "a symbolic link or not a directory"));
        }
        Err(e) => return Err(e),
    };
    let meta = handle.metadata()?;
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    let euid = unsafe { libc::geteuid() };
    if !meta.is_dir() {
        return Err(not_own(dir, "not a directory"));
    }
    if meta.uid() != euid {
        return Err(not_own(dir, &format!("owned by uid {}", meta.uid())));
    }
    // The entries of the directory the descriptor holds, whatever its path names by now.
    let fd = handle.as_raw_fd();
    for entry in std::fs::read_dir(format!("/proc/self/fd/{fd}"))? {
        let name = CString::new(entry?.file_name().into_encoded_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
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
