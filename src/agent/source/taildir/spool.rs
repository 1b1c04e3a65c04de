//! TAILDIR's spool: a hard link to every followed file the source has not finished, in
//! `<positionFile dir>/.taildir-spool/<inode>-<dev>`, so a file rotated away and deleted
//! while the channel refuses stays readable, through a restart and a kill -9 too, at no copy
//! (a link costs no bytes while the file's own name lives). The link goes once the file's
//! last line is committed and the file left its followed name (or was given up). The bytes
//! of spooled files whose own names are gone count against `spoolBytes`; past it the oldest
//! are given up, their unread lines counted (`deleted`, `loss`). Where no link can be made
//! (another file system: EXDEV; EPERM) the spool turns itself off with one WARN and
//! deleted files are kept by their open descriptors only, as before.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The spool directory's name beside the position file.
pub(crate) const SPOOL_DIR: &str = ".taildir-spool";

/// Default `spoolBytes`: 1 GiB, a few rotated files of an edge host's busiest log.
pub(crate) const SPOOL_BYTES_DEFAULT: u64 = 1 << 30;

/// The spool of one source.
#[derive(Debug)]
pub(crate) struct Spool {
    dir: PathBuf,
    /// Off: `spoolBytes = 0`, or a link failed (told once at WARN).
    on: bool,
}

/// A link already in the spool at start: its path and the file's inode.
#[derive(Debug)]
pub(crate) struct Spooled {
    pub link: PathBuf,
    pub inode: u64,
}

impl Spool {
    /// The spool beside `position_file`; off when `budget` is 0.
    pub(crate) fn new(position_file: &Path, budget: u64) -> Self {
        let dir = position_file
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(SPOOL_DIR);
        Spool {
            dir,
            on: budget > 0,
        }
    }

    /// Whether files are linked.
    pub(crate) fn is_on(&self) -> bool {
        self.on
    }

    /// Links `path` (the file `inode` on device `dev`) into the spool; the link's path, or
    /// `None` when the spool is off or the name no longer holds that file.
    pub(crate) fn link(&mut self, path: &Path, inode: u64, dev: u64) -> Option<PathBuf> {
        if !self.on {
            return None;
        }
        let link = self.dir.join(format!("{inode}-{dev}"));
        if std::fs::metadata(&link).is_ok_and(|m| m.ino() == inode && m.dev() == dev) {
            return Some(link);
        }
        let _ = std::fs::remove_file(&link);
        let made =
            std::fs::create_dir_all(&self.dir).and_then(|()| std::fs::hard_link(path, &link));
        match made {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.on = false;
                tracing::warn!(
                    spool = %self.dir.display(),
                    file = %path.display(),
                    error = %e,
                    "cannot hard-link a followed file into the TAILDIR spool (put positionFile on the logs' file system, or set spoolBytes = 0); rotated files are kept by open descriptors only, lost at a kill -9"
                );
                return None;
            }
        }
        // The name may have moved to another file between the stat and the link.
        if std::fs::metadata(&link).is_ok_and(|m| m.ino() == inode) {
            Some(link)
        } else {
            unlink(&link);
            None
        }
    }

    /// The links in the spool (at start: files a stopped or killed source had not finished).
    pub(crate) fn list(&self) -> Vec<Spooled> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in rd.flatten() {
            let link = e.path();
            let name = e.file_name();
            let inode = name
                .to_str()
                .and_then(|n| n.split_once('-'))
                .and_then(|(i, _)| i.parse::<u64>().ok());
            match inode {
                Some(inode) if std::fs::metadata(&link).is_ok_and(|m| m.ino() == inode) => {
                    out.push(Spooled { link, inode });
                }
                _ => tracing::warn!(file = %link.display(), "not a TAILDIR spool link; left alone"),
            }
        }
        out
    }
}

/// Removes a spool link (logged when it fails: the file's disk space stays taken).
pub(crate) fn unlink(link: &Path) {
    match std::fs::remove_file(link) {
        Ok(()) => tracing::debug!(link = %link.display(), "spool link removed"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(link = %link.display(), error = %e, "cannot remove a TAILDIR spool link; remove it by hand to free the file's disk space");
        }
    }
}
