//! Opening the agent's own files (state files, markers, dead letters, the TAILDIR spool)
//! without following a symbolic link planted in place of one: every open here is
//! `O_NOFOLLOW` at the path's last component, a file made new is `O_CREAT | O_EXCL` after
//! whatever held its name was removed (a link is unlinked itself, never its target), and a
//! directory the agent works *inside* can be held by a descriptor ([`open_dir`], `O_NOFOLLOW |
//! O_DIRECTORY`) so the names in it are opened, linked and removed relative to it (`openat`,
//! `linkat`, `unlinkat`, `fstatat`): a directory swapped for a link after the check moves
//! nothing elsewhere. A link met where a file or a directory must be fails with the core's
//! [`LinkRefused`] naming it ("... is a symbolic link; refusing to follow it").
//!
//! The core's `io::Fs` does the same for the files it opens (`Fs::open` is `O_NOFOLLOW`);
//! this module is its counterpart for the agent's `std::fs` users.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the agent's own state files on the real disk, tested there (DESIGN.md, the agent's std::fs rule)"
)]

use std::ffi::{CString, OsStr};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub(crate) use sluice_core::io::{link_refused, LinkRefused};

/// Opens `path` with `opts` and `O_NOFOLLOW`: a link at its last component is refused
/// ([`LinkRefused`]).
pub fn open(path: &Path, opts: &mut OpenOptions) -> io::Result<File> {
    opts.custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| sluice_core::io::refuse_link(path, e))
}

/// Opens `path` to read, refusing a link ([`LinkRefused`]).
pub(crate) fn open_read(path: &Path) -> io::Result<File> {
    open(path, OpenOptions::new().read(true))
}

/// Creates `path` new and empty to write: whatever held the name is removed first (a left
/// temporary, or a planted link: the link itself goes, its target is untouched), then the
/// file is created with `O_EXCL`, which never follows a link; one planted again in between
/// is refused ([`LinkRefused`]).
pub fn create_fresh(path: &Path) -> io::Result<File> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| refuse_existing_link(path, e))
}

/// `EEXIST` from an `O_EXCL` create where `path` is a link: the link named.
fn refuse_existing_link(path: &Path, e: io::Error) -> io::Error {
    let is_link = || std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if e.kind() == io::ErrorKind::AlreadyExists && is_link() {
        LinkRefused::io(path)
    } else {
        sluice_core::io::refuse_link(path, e)
    }
}

/// Opens the directory `path` as a handle for the `*_at` calls below: a link at its last
/// component is refused ([`LinkRefused`]), so is anything but a directory (`ENOTDIR`).
pub(crate) fn open_dir(path: &Path) -> io::Result<File> {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|e| {
            let is_link =
                || std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
            // open(2): O_DIRECTORY|O_NOFOLLOW on a link fails with ENOTDIR or ELOOP.
            let link_errno = matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR));
            if link_errno && is_link() {
                LinkRefused::io(path)
            } else {
                e
            }
        })
}

fn c_name(name: &OsStr) -> io::Result<CString> {
    if name.is_empty() || name.as_bytes().contains(&b'/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is not a plain file name"),
        ));
    }
    CString::new(name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in a file name"))
}

/// Opens `name` in the directory `dir` (a handle from [`open_dir`]) with `flags`
/// (`O_NOFOLLOW | O_CLOEXEC` added; `mode` for a create): a link there is refused
/// ([`LinkRefused`] naming `shown`, the path for messages).
pub(crate) fn open_at(
    dir: &File,
    name: &OsStr,
    flags: libc::c_int,
    mode: libc::c_uint,
    shown: &Path,
) -> io::Result<File> {
    let c = c_name(name)?;
    let flags = flags | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: a valid directory descriptor and a NUL-terminated name; the result is checked.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags, mode) };
    if fd < 0 {
        let e = io::Error::last_os_error();
        let is_link = || lstat_at(dir, name).is_ok_and(|s| s.is_link());
        return Err(match e.raw_os_error() {
            Some(libc::ELOOP) if is_link() => LinkRefused::io(shown),
            Some(libc::EEXIST) if is_link() => LinkRefused::io(shown),
            _ => e,
        });
    }
    // SAFETY: `fd` is a descriptor this call just opened and nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// What `fstatat(AT_SYMLINK_NOFOLLOW)` says of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EntryStat {
    /// `st_mode`'s file type bits.
    pub fmt: libc::mode_t,
    /// Inode.
    pub ino: u64,
    /// Device.
    pub dev: u64,
    /// Size in bytes.
    pub size: u64,
}

impl EntryStat {
    /// A symbolic link.
    pub(crate) fn is_link(&self) -> bool {
        self.fmt == libc::S_IFLNK
    }

    /// A regular file.
    pub(crate) fn is_file(&self) -> bool {
        self.fmt == libc::S_IFREG
    }
}

/// The entry `name` of `dir` itself, a link not followed.
#[allow(clippy::useless_conversion, reason = "dev_t's width differs by target")]
pub(crate) fn lstat_at(dir: &File, name: &OsStr) -> io::Result<EntryStat> {
    let c = c_name(name)?;
    // SAFETY: `stat` is plain data; zeroed is a valid value the call fills in.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid descriptor, a NUL-terminated name and a valid `stat` to fill.
    let rc = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            c.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(EntryStat {
        fmt: st.st_mode & libc::S_IFMT,
        ino: st.st_ino,
        dev: u64::from(st.st_dev),
        size: u64::try_from(st.st_size).unwrap_or(0),
    })
}

/// Removes the entry `name` of `dir` (a link itself, never its target).
pub(crate) fn unlink_at(dir: &File, name: &OsStr) -> io::Result<()> {
    let c = c_name(name)?;
    // SAFETY: a valid descriptor and a NUL-terminated name.
    if unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes `name` in `dir` a hard link to the file `from` (a path; a link there is linked
/// itself, never followed: `linkat` without `AT_SYMLINK_FOLLOW`).
pub(crate) fn hard_link_at(from: &Path, dir: &File, name: &OsStr) -> io::Result<()> {
    let src = CString::new(from.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in a path"))?;
    let c = c_name(name)?;
    // SAFETY: NUL-terminated paths and a valid directory descriptor.
    let rc = unsafe { libc::linkat(libc::AT_FDCWD, src.as_ptr(), dir.as_raw_fd(), c.as_ptr(), 0) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes the directory `name` in `dir` if missing and opens it as a handle: a link there is
/// refused ([`LinkRefused`] naming `shown`), never followed.
pub(crate) fn make_dir_at(dir: &File, name: &OsStr, shown: &Path) -> io::Result<File> {
    let c = c_name(name)?;
    // SAFETY: a valid directory descriptor and a NUL-terminated name.
    if unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), 0o755) } != 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::AlreadyExists {
            return Err(e);
        }
    }
    open_at(dir, name, libc::O_RDONLY | libc::O_DIRECTORY, 0, shown)
}

/// Renames the entry `name` of `from` to the same name in `to` (both handles from
/// [`open_dir`]): the entry itself moves, a link never followed.
pub(crate) fn rename_at(from: &File, name: &OsStr, to: &File) -> io::Result<()> {
    let c = c_name(name)?;
    // SAFETY: valid directory descriptors and NUL-terminated names.
    let rc = unsafe { libc::renameat(from.as_raw_fd(), c.as_ptr(), to.as_raw_fd(), c.as_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Creates the directory `path` if missing (its parents too) and opens it as a handle: a
/// link there, at its last component, is refused ([`LinkRefused`]).
pub(crate) fn make_dir(path: &Path) -> io::Result<File> {
    match open_dir(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(path)?;
            open_dir(path)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn victim(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
        let v = dir.join("victim");
        let bytes = b"precious\n".repeat(1000);
        std::fs::write(&v, &bytes).unwrap();
        (v, bytes)
    }

    #[test]
    fn a_link_in_place_of_a_file_is_refused_by_name_and_its_target_untouched() {
        let d = tempfile::tempdir().unwrap();
        let (v, bytes) = victim(d.path());
        let link = d.path().join("state");
        std::os::unix::fs::symlink(&v, &link).unwrap();
        let e = open(&link, OpenOptions::new().write(true).truncate(true)).unwrap_err();
        assert_eq!(link_refused(&e).map(|l| l.path.clone()), Some(link.clone()));
        assert!(
            e.to_string()
                .contains("is a symbolic link; refusing to follow it"),
            "{e}"
        );
        let e = open_read(&link).unwrap_err();
        assert!(link_refused(&e).is_some(), "{e}");
        // Made fresh: the link itself goes, a new file takes the name.
        create_fresh(&link).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_file());
        assert_eq!(std::fs::read(&v).unwrap(), bytes);
    }

    #[test]
    fn a_directory_swapped_for_a_link_is_refused_and_nothing_is_made_in_its_target() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("elsewhere");
        std::fs::create_dir(&target).unwrap();
        let link = d.path().join("spool");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = make_dir(&link).unwrap_err();
        assert_eq!(link_refused(&e).map(|l| l.path.clone()), Some(link.clone()));
        let real = make_dir(&d.path().join("real/sub")).unwrap();
        let f = open_at(
            &real,
            OsStr::new("a"),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
            0o600,
            Path::new("a"),
        )
        .unwrap();
        drop(f);
        std::os::unix::fs::symlink(&target, d.path().join("real/sub/b")).unwrap();
        let st = lstat_at(&real, OsStr::new("b")).unwrap();
        assert!(st.is_link());
        assert!(lstat_at(&real, OsStr::new("a")).unwrap().is_file());
        let e = open_at(&real, OsStr::new("b"), libc::O_RDONLY, 0, Path::new("b")).unwrap_err();
        assert!(link_refused(&e).is_some(), "{e}");
        unlink_at(&real, OsStr::new("b")).unwrap();
        assert!(target.exists());
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    }
}
