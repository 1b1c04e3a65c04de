//! Copies of files never seen under a name: kubelet created, rotated and gzipped them while
//! the source was down, after the live file whose saved position a `.gz` was found to hold
//! (`tailer/copies.rs`). The layout names them ([`Layout::unseen`]); each is uncompressed
//! whole into `<copies dir>/gz-<inode of the .gz>` and read from its start under its rotated
//! name (the `.gz`'s without the suffix), so its events carry the metadata of its path.
//!
//! What makes it exactly once: a note `gz-<inode>.name` (the name and the origin of the
//! copy's event ids, written durably before the copy is renamed into place) lets a later
//! start take the copy up where its position was saved, or from its start when none was
//! (killed before the first save: its origin is the note's, so the lines read again carry
//! the ids they had and the file channel drops them). The origin is derived from the `.gz`'s
//! name and content ([`Layout::uncompress_whole`]), so even a copy made again, after the
//! first was read, committed and removed, gives the same ids. A copy is removed once read to
//! its end and committed (as a spool link is); its note at the next start.
//!
//! [`Layout::unseen`]: super::super::layout::Layout::unseen
//! [`Layout::uncompress_whole`]: super::super::layout::Layout::uncompress_whole

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Tailer;
use crate::agent::source::file_id::born_ns;
use crate::agent::source::taildir::layout::Layout;
use crate::agent::source::taildir::position::PosEntry;

/// The prefix of an unseen file's copy in the copies' directory.
const PREFIX: &str = "gz-";
/// The suffix of its note.
const NOTE: &str = ".name";

/// What the note beside an unseen file's copy says.
#[derive(Debug, Serialize, Deserialize)]
struct Note {
    /// The name the copy is read under.
    file: String,
    /// The origin of its event ids, 16 hex digits.
    origin: String,
}

/// Sorts one entry of the copies' directory: `None` when it is not an unseen file's;
/// `Some(Some((copy, name)))` for a copy with its note; `Some(None)` for a note, or a copy
/// without a readable note (removed: a note is written before its copy is placed, so a copy
/// without one was never placed whole).
pub(super) fn listed(path: &Path, name: &str) -> Option<Option<(PathBuf, PathBuf)>> {
    let rest = name.strip_prefix(PREFIX)?;
    if let Some(n) = rest.strip_suffix(NOTE) {
        if n.parse::<u64>().is_ok() && !path.with_file_name(format!("{PREFIX}{n}")).exists() {
            super::super::spool::unlink(path);
        }
        return Some(None);
    }
    if rest.parse::<u64>().is_err() {
        // `gz-<n>.tmp`: a copy not finished.
        if rest.ends_with(".tmp") {
            super::super::spool::unlink(path);
        }
        return Some(None);
    }
    match read_note(path) {
        Some(note) => Some(Some((path.to_path_buf(), PathBuf::from(note.file)))),
        None => {
            tracing::warn!(copy = %path.display(), "removing a copy of a compressed file without its note");
            super::super::spool::unlink(path);
            Some(None)
        }
    }
}

/// What [`listed`] would say of an entry, without removing anything: `Some(Some((copy,
/// name)))` for an unseen file's copy with a readable note.
pub(super) fn peek(path: &Path, name: &str) -> Option<Option<(PathBuf, PathBuf)>> {
    let rest = name.strip_prefix(PREFIX)?;
    if rest.parse::<u64>().is_err() {
        return Some(None);
    }
    Some(read_note(path).map(|note| (path.to_path_buf(), PathBuf::from(note.file))))
}

/// The note beside an unseen file's copy.
pub(super) fn note_of(copy: &Path) -> PathBuf {
    let mut n = copy.as_os_str().to_os_string();
    n.push(NOTE);
    PathBuf::from(n)
}

fn read_note(copy: &Path) -> Option<Note> {
    let bytes = crate::agent::atomic_file::read(&note_of(copy)).ok()??;
    serde_json::from_slice(&bytes).ok()
}

impl Tailer {
    /// Copies the unseen `found` into `dir` (unless a copy of it is there: one followed, or
    /// one of `listed`, left by an earlier run) and returns the copy and the name it is read
    /// under, for [`Tailer::follow_unseen`] once the saved files' copies are followed.
    pub(super) fn copy_unseen(
        &mut self,
        layout: &dyn Layout,
        dir: &Path,
        found: &Path,
        listed: &[(PathBuf, PathBuf)],
    ) -> Option<(PathBuf, PathBuf)> {
        let gm = std::fs::symlink_metadata(found).ok()?;
        let copy = dir.join(format!("{PREFIX}{}", gm.ino()));
        if listed.iter().any(|(c, _)| *c == copy) {
            return None;
        }
        if let Ok(m) = std::fs::symlink_metadata(&copy) {
            if self.files.contains_key(&m.ino()) {
                return None;
            }
        }
        let name = found.with_extension("");
        let tmp = copy.with_extension("tmp");
        let origin = match layout.uncompress_whole(found, &tmp) {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(file = %found.display(), error = %e, "cannot read a compressed container log that was never read; its lines are not sent");
                super::super::spool::unlink(&tmp);
                return None;
            }
        };
        let note = Note {
            file: name.to_string_lossy().into_owned(),
            origin: format!("{origin:016x}"),
        };
        let placed = serde_json::to_vec(&note)
            .map_err(std::io::Error::other)
            .and_then(|b| crate::agent::atomic_file::replace(&note_of(&copy), &b, true))
            .and_then(|()| std::fs::rename(&tmp, &copy))
            .and_then(|()| crate::agent::atomic_file::sync_parent(&copy));
        if let Err(e) = placed {
            tracing::warn!(copy = %copy.display(), error = %e, "cannot place the copy of a compressed container log that was never read; its lines are not sent");
            super::super::spool::unlink(&tmp);
            return None;
        }
        tracing::info!(file = %found.display(), copy = %copy.display(), "a container log created, rotated and compressed while the source was down: reading it from its start in its uncompressed copy");
        Some((copy, name))
    }

    /// Whether the position saved under `inode` is the unseen copy's own (saved under the
    /// name its note gives), not that of a file gone before the copy took its inode.
    pub(super) fn saved_as(&self, inode: u64, name: &Path) -> bool {
        self.saved
            .get(&inode)
            .is_some_and(|e| Path::new(&e.file) == name)
    }

    /// Follows the copy of an unseen file, read under `name`: from its saved position, or
    /// from its start, its ids under the origin its note records.
    pub(super) fn follow_unseen(&mut self, copy: PathBuf, name: PathBuf) {
        // Not through a link planted in the copies' directory.
        let m = std::fs::symlink_metadata(&copy)
            .ok()
            .filter(|m| m.is_file());
        let (Some(m), Some(note)) = (m, read_note(&copy)) else {
            return;
        };
        let own = m.ino();
        let fresh = PosEntry {
            inode: own,
            pos: 0,
            file: name.to_string_lossy().into_owned(),
        };
        // The copy's own saved position carries its note's name. A position saved under the
        // same inode for another name is a file that was gone when the copy took its inode,
        // and whose content no `.gz` held (one that did was copied and followed before):
        // never read from this copy.
        let (e, fp) = match self.saved.remove(&own) {
            Some(e) if Path::new(&e.file) == name => (e, self.fingerprints.remove(&own)),
            Some(other) => {
                tracing::warn!(copy = %copy.display(), inode = own, file = %other.file, pos = other.pos, "a copy took the inode of a saved file that is gone and whose content was not found; that file's position is dropped");
                self.fingerprints.remove(&own);
                (fresh, None)
            }
            None => {
                // A fingerprint without a position is another file's (moved with it).
                self.fingerprints.remove(&own);
                (fresh, None)
            }
        };
        self.follow_copy(copy, e, fp, own);
        let Ok(origin) = u64::from_str_radix(&note.origin, 16) else {
            return;
        };
        if let Some(t) = self
            .files
            .get_mut(&own)
            .filter(|t| t.origin != Some(origin))
        {
            t.origin = Some(origin);
            self.origins.fixed(own, born_ns(&m), origin);
            self.unsaved.push(own);
        }
    }
}
