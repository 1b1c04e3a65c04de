//! TAILDIR's spool: a hard link to every followed file the source has not finished, in
//! `<positionFile dir>/.taildir-spool/<positionFile name>/<inode>-<dev>`, so a file rotated
//! away and deleted while the channel refuses stays readable, through a restart and a kill -9
//! too, at no copy (a link costs no bytes while the file's own name lives). The link goes once
//! the file's last line is committed and the file left its followed name (or was given up).
//! The bytes of spooled files whose own names are gone count against `spoolBytes`; past it the
//! oldest are given up, their unread lines counted (`deleted`, `loss`). Where no link can be
//! made (another file system: EXDEV; EPERM) the spool turns itself off with one WARN and
//! deleted files are kept by their open descriptors only, as before.
//!
//! Each source has a spool of its own, named by its position file ([`own_dir`]): sources whose
//! position files share a directory never take up one another's links (one would read the
//! other's files again, then remove their links: duplicates, and the other's loss). Entries of
//! the shared spool earlier versions made (`.taildir-spool/<inode>-<dev>`) move into the spool
//! of the source whose saved positions name their inode; the others are left alone, named.
//!
//! The spool takes up only what it made: the directories are opened without following a link
//! (a `.taildir-spool` that is a symbolic link is refused, named, and the spool is off), its
//! entries are made, checked and removed relative to that handle, and an entry is taken up
//! only if it is a regular file whose inode and device are the ones its name records (a
//! planted link is refused and named). A file followed through a symbolic link
//! (`followSymlinks = true`) is not spooled: kept by its descriptor only.

use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::agent::nofollow;

/// The spool directory's name beside the position file.
pub(crate) const SPOOL_DIR: &str = ".taildir-spool";

/// Default `spoolBytes`: 1 GiB, a few rotated files of an edge host's busiest log.
pub(crate) const SPOOL_BYTES_DEFAULT: u64 = 1 << 30;

/// `<positionFile dir>/<kind>/<positionFile name>`: the directory of one source's own
/// entries of `kind` (the spool, the copies), named by its position file.
pub(crate) fn own_dir(position_file: &Path, kind: &str) -> PathBuf {
    position_file
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(kind)
        .join(own_name(position_file))
}

/// The name of a source's own directory: its position file's name.
pub(crate) fn own_name(position_file: &Path) -> &OsStr {
    position_file
        .file_name()
        .unwrap_or_else(|| OsStr::new("positions"))
}

/// Opens (making it when missing) `<root>/<name>` without following a link at either.
pub(crate) fn make_own_dir(root: &Path, name: &OsStr) -> std::io::Result<File> {
    let r = nofollow::make_dir(root)?;
    nofollow::make_dir_at(&r, name, &root.join(name))
}

/// The spool of one source.
#[derive(Debug)]
pub(crate) struct Spool {
    /// `.taildir-spool` beside the position file (earlier versions' shared spool).
    root: PathBuf,
    /// The position file's name: this source's own spool in `root`.
    own: std::ffi::OsString,
    /// `root/own`.
    dir: PathBuf,
    /// Off: `spoolBytes = 0`, or a link failed (told once at WARN).
    on: bool,
    /// The spool directory, held once opened (`O_NOFOLLOW | O_DIRECTORY`): every link is
    /// made, checked and removed relative to it.
    handle: Option<File>,
}

/// A link already in the spool at start: its path and the file's inode.
#[derive(Debug)]
pub(crate) struct Spooled {
    pub link: PathBuf,
    pub inode: u64,
}

/// The inode and device a spool entry's name `<inode>-<dev>` records.
fn recorded(name: &str) -> Option<(u64, u64)> {
    let (i, d) = name.split_once('-')?;
    Some((i.parse().ok()?, d.parse().ok()?))
}

impl Spool {
    /// The spool beside `position_file`; off when `budget` is 0.
    pub(crate) fn new(position_file: &Path, budget: u64) -> Self {
        let dir = own_dir(position_file, SPOOL_DIR);
        let root = dir.parent().map_or_else(PathBuf::new, Path::to_path_buf);
        Spool {
            root,
            own: own_name(position_file).to_os_string(),
            dir,
            on: budget > 0,
            handle: None,
        }
    }

    /// Whether files are linked.
    pub(crate) fn is_on(&self) -> bool {
        self.on
    }

    /// Turns the spool off, telling why once at WARN.
    fn off(&mut self, file: &Path, e: &std::io::Error) {
        self.on = false;
        self.handle = None;
        if nofollow::link_refused(e).is_some() {
            tracing::warn!(spool = %self.dir.display(), file = %file.display(), error = %e, "the TAILDIR spool directory is a symbolic link, not a directory of this source's; spool off (remove the link: the source makes the directory itself); rotated files are kept by open descriptors only, lost at a kill -9");
            return;
        }
        tracing::warn!(
            spool = %self.dir.display(),
            file = %file.display(),
            error = %e,
            "cannot hard-link a followed file into the TAILDIR spool (put positionFile on the logs' file system, or set spoolBytes = 0); rotated files are kept by open descriptors only, lost at a kill -9"
        );
    }

    /// Links `path` (the file `inode` on device `dev`) into the spool; the link's path, or
    /// `None` when the spool is off or the name no longer holds that file (a symbolic link
    /// there is never linked: `linkat` links a link itself, which is then removed).
    pub(crate) fn link(&mut self, path: &Path, inode: u64, dev: u64) -> Option<PathBuf> {
        if !self.on {
            return None;
        }
        if self.handle.is_none() {
            match make_own_dir(&self.root, &self.own) {
                Ok(h) => self.handle = Some(h),
                Err(e) => {
                    self.off(path, &e);
                    return None;
                }
            }
        }
        let d = self.handle.take()?;
        let made = link_into(&d, path, inode, dev);
        match made {
            Err(e) => {
                self.off(path, &e);
                None
            }
            Ok(linked) => {
                self.handle = Some(d);
                linked.then(|| self.dir.join(format!("{inode}-{dev}")))
            }
        }
    }

    /// The links in the spool (at start: files a stopped or killed source had not finished).
    /// Only entries this source made are taken up: a regular file whose inode and device are
    /// the ones its name records. A symbolic link, or any other entry, is refused and named
    /// at WARN (left alone); a spool directory that is itself a link is refused, spool off.
    /// Entries an earlier version left in the shared spool move into this source's own first
    /// when `claimed` (its saved positions name the inode).
    pub(crate) fn list(&mut self, claimed: impl Fn(u64) -> bool) -> Vec<Spooled> {
        let root_dir = self.root.clone();
        let Some(root) = self.opened(nofollow::open_dir(&root_dir), &root_dir) else {
            return Vec::new();
        };
        self.move_shared(&root, &claimed);
        let flags = libc::O_RDONLY | libc::O_DIRECTORY;
        let own = nofollow::open_at(&root, &self.own, flags, 0, &self.dir);
        let own_dir = self.dir.clone();
        let Some(d) = self.opened(own, &own_dir) else {
            return Vec::new();
        };
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in rd.flatten() {
            let name = e.file_name();
            let link = self.dir.join(&name);
            match entry_of(&d, &name) {
                Entry::Ours(ino) => out.push(Spooled { link, inode: ino }),
                Entry::Link => {
                    tracing::warn!(file = %link.display(), "a symbolic link in the TAILDIR spool: not an entry this source made; refused, left alone");
                }
                Entry::Other => {
                    tracing::warn!(file = %link.display(), "not a TAILDIR spool entry this source made (its inode and device are not the ones its name records); refused, left alone")
                }
            }
        }
        if self.on {
            self.handle = Some(d);
        }
        out
    }

    /// The directory `dir` as opened: `None` when it is not there yet, or could not be opened
    /// (a link there: refused, the spool off, said once).
    fn opened(&mut self, r: std::io::Result<File>, dir: &Path) -> Option<File> {
        match r {
            Ok(d) => Some(d),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                self.off(dir, &e);
                None
            }
        }
    }

    /// Moves the entries an earlier version left in the shared spool `root` whose inode
    /// `claimed` says this source's saved positions name into this source's own spool; the
    /// others (another source's, or a link) are left alone, named once.
    fn move_shared(&mut self, root: &File, claimed: &impl Fn(u64) -> bool) {
        let Ok(rd) = std::fs::read_dir(&self.root) else {
            return;
        };
        let (mut own, mut left) = (None, 0usize);
        for e in rd.flatten() {
            let name = e.file_name();
            match entry_of(root, &name) {
                Entry::Ours(ino) if claimed(ino) => {
                    if own.is_none() {
                        match nofollow::make_dir_at(root, &self.own, &self.dir) {
                            Ok(h) => own = Some(h),
                            Err(e) => {
                                let dir = self.dir.clone();
                                self.off(&dir, &e);
                                return;
                            }
                        }
                    }
                    let Some(to) = own.as_ref() else { return };
                    match nofollow::rename_at(root, &name, to) {
                        Ok(()) => {
                            tracing::info!(entry = ?name, spool = %self.dir.display(), "moved a spool entry of an earlier version's shared spool into this source's own")
                        }
                        Err(e) => {
                            tracing::warn!(entry = ?name, spool = %self.dir.display(), error = %e, "cannot move a spool entry of the shared spool into this source's own; left where it is")
                        }
                    }
                }
                Entry::Ours(_) => left += 1,
                Entry::Link => {
                    tracing::warn!(file = %self.root.join(&name).display(), "a symbolic link in the TAILDIR spool: not an entry this source made; refused, left alone");
                }
                // Another source's own spool, or not a spool entry.
                Entry::Other => {}
            }
        }
        if let Some(to) = own {
            if let Err(e) = to.sync_all().and_then(|()| root.sync_all()) {
                tracing::warn!(spool = %self.dir.display(), error = %e, "cannot fsync the spool after moving entries of the shared spool");
            }
        }
        if left > 0 {
            tracing::warn!(spool = %self.root.display(), entries = left, "entries an earlier version left in the shared TAILDIR spool that no saved position of this source names: left for the source whose they are (each source now spools in .taildir-spool/<its position file's name>); remove them by hand once no source needs them");
        }
    }
}

/// What an entry of a spool directory is.
enum Entry {
    /// A spool entry: a regular file whose inode (this) and device its name records.
    Ours(u64),
    /// A symbolic link.
    Link,
    /// Anything else (a directory, a file whose name records another inode).
    Other,
}

fn entry_of(d: &File, name: &OsStr) -> Entry {
    let want = name.to_str().and_then(recorded);
    match (want, nofollow::lstat_at(d, name)) {
        (Some((ino, dev)), Ok(st)) if st.is_file() && st.ino == ino && st.dev == dev => {
            Entry::Ours(ino)
        }
        (_, Ok(st)) if st.is_link() => Entry::Link,
        _ => Entry::Other,
    }
}

/// Links `path` as `<inode>-<dev>` in the spool directory `d`: `Ok(true)` when the entry is
/// that file (made now or before), `Ok(false)` when the name no longer holds it, `Err` when
/// no link can be made (the spool turns off).
fn link_into(d: &File, path: &Path, inode: u64, dev: u64) -> std::io::Result<bool> {
    let name = format!("{inode}-{dev}");
    let name = OsStr::new(&name);
    let ours =
        || nofollow::lstat_at(d, name).is_ok_and(|s| s.is_file() && s.ino == inode && s.dev == dev);
    if ours() {
        return Ok(true);
    }
    // Whatever held the name (a stale or planted entry) goes: the entry itself, never what a
    // link there points at.
    let _ = nofollow::unlink_at(d, name);
    match nofollow::hard_link_at(path, d, name) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    }
    // The name may have moved to another file (or a link) between the stat and the link.
    if ours() {
        Ok(true)
    } else {
        let _ = nofollow::unlink_at(d, name);
        Ok(false)
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
