//! The file-system seam: the only code in the crate that touches `std::fs`.
//!
//! Everything the channel does to a disk goes through [`Fs`] and [`FsFile`]. [`StdFs`] is the
//! real implementation; [`SimFs`] is an in-memory file system for tests that keeps written and
//! durable bytes apart, can produce a crash image (unsynced writes dropped or torn, unsynced
//! directory entries lost) and can fail a chosen operation with EIO or ENOSPC.

mod entry;
mod own_dir;
mod seam;
mod sim_fs;
mod statx;
mod std_fs;

pub use entry::{
    link_refused, not_regular, EntryInfo, EntryKind, LinkRefused, Links, NotRegular, OwnEnd,
};
pub use seam::{
    read_file, read_regular, write_file_atomic, DirLock, FileInfo, FileKind, Fs, FsFile, OpenMode,
    DIRECT_ALIGN, LOCK_FILE_NAME,
};
pub use sim_fs::{Fault, SimFs, SyncHook};
pub use std_fs::{refuse_link, StdFs};
