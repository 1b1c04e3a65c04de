//! What a path names *itself*, links not followed ([`EntryInfo`], from [`Fs::entry_info`](super::Fs::entry_info)),
//! and the error a file that must be regular gives when it is not ([`NotRegular`], from
//! [`Fs::open_regular`](super::Fs::open_regular)): what the adoption checks before it empties, moves or removes
//! anything, and what every reader of another program's files (Flume's logs and checkpoints,
//! keystores, key files) opens through, so a FIFO or a device is refused, never waited on.
//! And the error of an open that met a symbolic link where a file must be ([`LinkRefused`],
//! from [`Fs::open`](super::Fs::open)): what the agent's writers name when a planted link
//! would have sent a write or a truncation elsewhere.

use std::io;
use std::path::{Path, PathBuf};

/// What a directory entry is, links not followed (`lstat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (whatever it points at).
    Symlink,
    /// A FIFO (named pipe).
    Fifo,
    /// Anything else: a device or a socket.
    Other,
}

impl EntryKind {
    /// The kind in words, for errors ("a symbolic link").
    pub fn describe(self) -> &'static str {
        match self {
            EntryKind::File => "a regular file",
            EntryKind::Dir => "a directory",
            EntryKind::Symlink => "a symbolic link",
            EntryKind::Fifo => "a FIFO",
            EntryKind::Other => "a device or a socket",
        }
    }
}

/// A directory entry's kind and owner, links not followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryInfo {
    /// What the entry is.
    pub kind: EntryKind,
    /// Its owner's uid.
    pub uid: u32,
    /// Whether its owner is this process's effective uid (what Sluice creates is).
    pub own: bool,
}

/// Whether [`Fs::open_regular`](super::Fs::open_regular) follows a symbolic link at the path's last component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Links {
    /// Follow it (keystores and key files may legitimately be links).
    Follow,
    /// Refuse it (`O_NOFOLLOW`): another program's data files, which never are.
    Refuse,
}

/// Which end of [`Fs::move_entries`](super::Fs::move_entries) must be a directory of this process's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnEnd {
    /// The directory the entries leave (the staging folder raised into Flume's directory).
    From,
    /// The directory the entries go into (`flume-adopted-<time>`, Flume's files moved aside).
    To,
}

/// A file that must be regular is not: the error inside the `io::Error` that
/// [`Fs::open_regular`](super::Fs::open_regular) returns (`InvalidInput`), found with [`not_regular`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a regular file: {}", kind.describe())]
pub struct NotRegular {
    /// What the path names instead.
    pub kind: EntryKind,
}

impl NotRegular {
    /// The `io::Error` carrying it.
    pub fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, self)
    }
}

/// The [`NotRegular`] an error of [`Fs::open_regular`](super::Fs::open_regular) carries, if it is one.
pub fn not_regular(e: &io::Error) -> Option<NotRegular> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<NotRegular>())
        .copied()
}

/// A symbolic link met where a file must be: [`Fs::open`](super::Fs::open) never follows one
/// at the path's last component (`O_NOFOLLOW`), so a link planted in place of a file the
/// agent writes, truncates or reads back cannot send it to another file. Carried inside an
/// `io::Error` (`InvalidInput`), found with [`link_refused`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} is a symbolic link; refusing to follow it", path.display())]
pub struct LinkRefused {
    /// The link.
    pub path: PathBuf,
}

impl LinkRefused {
    /// The `io::Error` carrying a refusal of the link `path`.
    pub fn io(path: &Path) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            LinkRefused {
                path: path.to_path_buf(),
            },
        )
    }
}

/// The [`LinkRefused`] an error of [`Fs::open`](super::Fs::open) carries, if it is one.
pub fn link_refused(e: &io::Error) -> Option<&LinkRefused> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<LinkRefused>())
}

/// The seam's kind of a file type.
pub(super) fn entry_kind(t: std::fs::FileType) -> EntryKind {
    use std::os::unix::fs::FileTypeExt;
    if t.is_symlink() {
        EntryKind::Symlink
    } else if t.is_file() {
        EntryKind::File
    } else if t.is_dir() {
        EntryKind::Dir
    } else if t.is_fifo() {
        EntryKind::Fifo
    } else {
        EntryKind::Other
    }
}
