//! Copies of files whose content left their name while the source was down: kubelet
//! rotates a container's log and gzips the rotated file, so after a stop or a kill -9 the
//! saved position's inode may be gone with its bytes now only in a `.gz`. A layout that knows
//! where such content goes ([`Layout::uncompress`]) writes it whole into
//! `<positionFile dir>/.taildir-copies/<inode>` (checked against the saved fingerprint,
//! fsynced, then renamed into place), and the copy is followed in the file's place: from the
//! saved position, under the saved name, with the origin and fingerprint moved to the copy's
//! inode, so the lines after the position are read once and the ones read again keep their
//! ids. The copy is removed once read to its end and committed (as a spool link is).
//!
//! At start, before the saved positions of files not found are counted as lost: copies left
//! by an earlier run are taken up again (their saved position is under the copy's inode, or
//! still under the original's when the kill came before a position was saved), stale ones
//! removed; then a copy is made for each saved file not found whose content the layout finds,
//! and for each whose inode a new file took meanwhile (found rewritten, or shorter than the
//! position: the inode was reused).
//!
//! Files never seen under a name that came after such a live file's content (kubelet
//! created, rotated and gzipped them while the source was down), and those of directories
//! made while it was down, are copied whole and read from their start: `tailer/unseen.rs`.
//! They are followed last: one may have taken the inode of a saved file gone meanwhile, whose
//! position and origin move to that file's own copy first.
//!
//! [`Layout::uncompress`]: super::super::layout::Layout::uncompress

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::Tailer;
use crate::agent::source::file_id::born_ns;
use crate::agent::source::taildir::fingerprint::Fingerprint;
use crate::agent::source::taildir::position::PosEntry;

/// The copies' directory beside the position file.
pub(crate) const COPIES_DIR: &str = ".taildir-copies";

/// Makes this source's copies' directory `dir` (`<root>/<own>`; neither through a link);
/// whether it is there.
fn make_dir(dir: &Path) -> bool {
    let made = match (dir.parent(), dir.file_name()) {
        (Some(root), Some(own)) => super::super::spool::make_own_dir(root, own),
        _ => crate::agent::nofollow::make_dir(dir),
    };
    match made {
        Ok(_) => true,
        Err(err) => {
            tracing::warn!(dir = %dir.display(), error = %err, "cannot make the directory of copies of compressed files");
            false
        }
    }
}

/// The copies' directory of a source whose position file is `position_file`: its own
/// (`.taildir-copies/<positionFile name>`), so sources whose position files share a
/// directory never take up or remove one another's copies.
fn copies_dir(position_file: &Path) -> PathBuf {
    super::super::spool::own_dir(position_file, COPIES_DIR)
}

impl Tailer {
    /// Takes up the copies left by an earlier run and makes the ones needed now (see the
    /// module docs); nothing without a layout.
    pub(super) fn take_up_copies(&mut self) {
        let Some(layout) = self.cfg.layout.clone() else {
            return;
        };
        let dir = copies_dir(&self.cfg.position_file);
        self.move_shared_copies(&dir);
        let listed = list(&dir);
        self.take_up_numbered(listed.numbered);
        // The unseen copies are followed last, after the saved files' copies: a copy may have
        // taken the inode of a saved file gone meanwhile, whose position and origin must move
        // to that file's own copy first, never be read from this one.
        let unseen = listed.unseen;
        let own: std::collections::HashSet<u64> = unseen
            .iter()
            .filter_map(|(copy, name)| {
                let ino = std::fs::symlink_metadata(copy).ok()?.ino();
                self.saved_as(ino, name).then_some(ino)
            })
            .collect();
        let mut wanted: Vec<_> = self
            .saved
            .values()
            .filter(|e| !self.files.contains_key(&e.inode) && !own.contains(&e.inode))
            .map(|e| (e.clone(), self.fingerprints.get(&e.inode).cloned()))
            .collect();
        wanted.append(&mut self.displaced);
        if !wanted.is_empty() && !make_dir(&dir) {
            for (copy, name) in unseen {
                self.follow_unseen(copy, name);
            }
            return;
        }
        // Every copy is made before any is placed: the files never seen that came after a
        // live file's content (found through it) are placed first, so a kill leaves either
        // the live file's copy still to make (and them found again) or all of them.
        let mut made = Vec::new();
        let mut held = Vec::new();
        for (e, fp) in wanted {
            let tmp = dir.join(format!("{}.tmp", e.inode));
            if let Some(gz) = layout.0.uncompress(&e, fp.as_ref(), &tmp) {
                if e.file.ends_with(".log") {
                    held.push(gz);
                }
                made.push((e, fp, tmp));
            }
        }
        // The directory is made only when a copy is wanted.
        let found = layout.0.unseen(&held, self.origins.loaded_at());
        let mut unseen_made = Vec::new();
        if !found.is_empty() && make_dir(&dir) {
            for f in found {
                unseen_made.extend(self.copy_unseen(&*layout.0, &dir, &f, &unseen));
            }
        }
        for (e, fp, tmp) in made {
            let copy = dir.join(e.inode.to_string());
            let placed = std::fs::rename(&tmp, &copy)
                .and_then(|()| crate::agent::atomic_file::sync_parent(&copy));
            if let Err(err) = placed {
                tracing::warn!(copy = %copy.display(), error = %err, "cannot place the copy of a compressed file");
                super::super::spool::unlink(&tmp);
                continue;
            }
            let Ok(m) = std::fs::symlink_metadata(&copy) else {
                continue;
            };
            tracing::info!(file = %e.file, inode = e.inode, pos = e.pos, copy = %copy.display(), "a file compressed while the source was down: reading on from its saved position in its uncompressed copy");
            self.saved.remove(&e.inode);
            self.follow_copy(copy, e, fp, m.ino());
        }
        for (copy, name) in unseen.into_iter().chain(unseen_made) {
            self.follow_unseen(copy, name);
        }
    }

    /// Follows the copies of saved files an earlier run left (path, the inode its name
    /// records) in their files' places; removes the ones whose file was read to its end.
    fn take_up_numbered(&mut self, numbered: Vec<(PathBuf, u64)>) {
        for (copy, recorded) in numbered {
            let Ok(m) = std::fs::symlink_metadata(&copy) else {
                continue;
            };
            if !m.is_file() {
                continue;
            }
            let own = m.ino();
            let was = if self.saved.contains_key(&own) {
                Some(own)
            } else {
                Some(recorded).filter(|r| self.saved.contains_key(r) && !self.files.contains_key(r))
            };
            if let Some(e) = was.and_then(|w| self.saved.remove(&w)) {
                let fp = self.fingerprints.remove(&e.inode);
                self.follow_copy(copy, e, fp, own);
            } else {
                tracing::info!(copy = %copy.display(), "removing a copy of a file read to its end before the stop");
                super::super::spool::unlink(&copy);
            }
        }
    }

    /// Follows `copy` (inode `own`) in the place of the saved file `e` (whose fingerprint
    /// was `fp`): its position, fingerprint and origin moved to `own` first.
    pub(super) fn follow_copy(
        &mut self,
        copy: PathBuf,
        mut e: PosEntry,
        fp: Option<Fingerprint>,
        own: u64,
    ) {
        let Ok(m) = std::fs::symlink_metadata(&copy) else {
            return;
        };
        let was = e.inode;
        if was != own {
            e.inode = own;
            self.origins.moved(was, own, born_ns(&m));
        }
        if let Some(mut fp) = fp {
            fp.inode = own;
            self.fingerprints.insert(own, fp);
        }
        let name = PathBuf::from(&e.file);
        self.saved.insert(own, e);
        let gi = self.group_of(&name);
        self.saw(copy.clone(), gi, &m);
        self.by_path.remove(&copy);
        if let Some(t) = self.files.get_mut(&own) {
            if let Some(link) = t.spool.replace(copy.clone()).filter(|l| *l != copy) {
                super::super::spool::unlink(&link);
            }
            t.path = name;
            t.matched = false;
        }
    }
}

/// What [`list`] found in the copies' directory.
struct Listed {
    /// Copies of saved files: (path, the inode its name records).
    numbered: Vec<(PathBuf, u64)>,
    /// Copies of files never seen (`super::unseen`): (path, the name it is read under).
    unseen: Vec<(PathBuf, PathBuf)>,
}

/// The copies in `dir`; `.tmp` leftovers, and notes of unseen copies without their copy,
/// removed.
fn list(dir: &Path) -> Listed {
    let mut out = Listed {
        numbered: Vec::new(),
        unseen: Vec::new(),
    };
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let path = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if let Some(named) = super::unseen::listed(&path, &name) {
            if let Some(found) = named {
                out.unseen.push(found);
            }
            continue;
        }
        match name.parse::<u64>() {
            Ok(i) => out.numbered.push((path, i)),
            Err(_) if name.ends_with(".tmp") => super::super::spool::unlink(&path),
            Err(_) => {}
        }
    }
    out
}

impl Tailer {
    /// Moves the copies an earlier version left in the shared copies' directory (the parent
    /// of this source's own, `dir`) that are this source's into `dir`: a copy of a saved
    /// file (its inode, or the one its name records, saved) or of a file never seen that its
    /// note names under one of this source's file groups (the note moves with it). The others
    /// (another source's) are left alone, named once.
    fn move_shared_copies(&self, dir: &Path) {
        let Some(root) = dir.parent() else { return };
        let Ok(rd) = std::fs::read_dir(root) else {
            return;
        };
        let (mut left, mut moved_any) = (0usize, false);
        for e in rd.flatten() {
            let path = e.path();
            let Ok(m) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if !m.is_file() {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let ours = if let Ok(recorded) = name.parse::<u64>() {
                self.saved.contains_key(&m.ino()) || self.saved.contains_key(&recorded)
            } else if let Some(Some((_, file))) = super::unseen::peek(&path, &name) {
                self.saved.contains_key(&m.ino()) || self.follows(&file)
            } else {
                continue;
            };
            if !ours {
                left += 1;
                continue;
            }
            if !make_dir(dir) {
                return;
            }
            let note = super::unseen::note_of(&path);
            let moved =
                std::fs::rename(&path, dir.join(&name)).and_then(|()| match note.file_name() {
                    Some(n) if note.exists() && name.parse::<u64>().is_err() => {
                        std::fs::rename(&note, dir.join(n))
                    }
                    _ => Ok(()),
                });
            match moved {
                Ok(()) => {
                    moved_any = true;
                    tracing::info!(copy = %path.display(), dir = %dir.display(), "moved a copy of an earlier version's shared copies' directory into this source's own");
                }
                Err(err) => {
                    tracing::warn!(copy = %path.display(), dir = %dir.display(), error = %err, "cannot move a copy into this source's own copies' directory; left where it is");
                }
            }
        }
        let synced = [dir, root]
            .into_iter()
            .filter(|_| moved_any)
            .try_for_each(|d| std::fs::File::open(d).and_then(|f| f.sync_all()));
        if let Err(err) = synced {
            tracing::warn!(dir = %dir.display(), error = %err, "cannot fsync the copies' directories after moving copies");
        }
        if left > 0 {
            tracing::warn!(dir = %root.display(), copies = left, "copies an earlier version left in the shared copies' directory that are not this source's: left for the source whose they are (each source now keeps its copies in .taildir-copies/<its position file's name>)");
        }
    }

    /// Whether `file` is in a directory of one of this source's file groups (a rotated
    /// name need not match the group's pattern).
    fn follows(&self, file: &Path) -> bool {
        let dir = file.parent();
        self.groups.iter().any(|g| Some(g.dir.as_path()) == dir)
    }

    /// A saved position whose inode now holds another file: kept for [`Tailer::take_up_copies`]
    /// when there is a layout (whose content may be found elsewhere); nothing otherwise.
    pub(super) fn displace(&mut self, e: &PosEntry, fp: Option<Fingerprint>) {
        if self.cfg.layout.is_some() && !self.scanned_once {
            self.displaced.push((e.clone(), fp));
        }
    }
}
