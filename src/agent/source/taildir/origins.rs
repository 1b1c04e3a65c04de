//! Event ids of TAILDIR lines (docs/exactly-once.md): each generation of a followed file gets
//! a random **origin**, and a line the id `ORIGIN:START-END` of its byte range, so a line read
//! again after a crash (committed, then the position not yet saved) carries the same id and
//! the file channel drops it. Consecutive lines' ranges touch, so a file costs the channel
//! one range.
//!
//! An origin names one content of one file: a new file, and a file read again from its start
//! (truncated, rewritten, replaced on its inode), always get a fresh one, so two different
//! lines never share an id. It is reused at start only for the same content, with the origin
//! saved for the same inode and birth time:
//! - a file resumed at its saved position whose fingerprint (bytes before that position) was
//!   there and matched;
//! - a file whose position or fingerprint was not saved yet (killed, or the power lost, within
//!   its first batches: a *young* file) whose **anchor** still matches: the fingerprint taken,
//!   when the origin was made, at the end of the first batch read with it (the bytes of that
//!   batch and the file's head). Its lines read again carry the ids they had.
//!
//! Origins live in `<positionFile>.origins` (JSON), written durably **before** the first
//! event of a fresh origin is handed out (the fresh origins of one trip's batches together); a file that cannot be written leaves the lines
//! without ids (at-least-once, as before), with one warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fingerprint::{self, Fingerprint};
use crate::agent::atomic_file;

/// One saved origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Saved {
    inode: u64,
    /// The file's birth time, ns since the epoch (0 where the file system has none).
    born_ns: u64,
    /// The origin, 16 hex digits.
    origin: String,
    /// The file's fingerprint at the end of the first batch read with the origin (absent in
    /// files written before anchors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    anchor: Option<Fingerprint>,
}

/// What is kept of one origin.
#[derive(Clone, Debug)]
struct Kept {
    origin: u64,
    born_ns: u64,
    anchor: Option<Fingerprint>,
}

/// The origins of a TAILDIR source's files, by inode.
#[derive(Debug, Default)]
pub(crate) struct Origins {
    path: PathBuf,
    by_inode: BTreeMap<u64, Kept>,
    warned: bool,
    /// When the origin file was last written before this start (its mtime at
    /// [`Origins::load`]); `None` without one.
    loaded_at: Option<std::time::SystemTime>,
}

/// `<positionFile>.origins`.
pub(crate) fn path_of(position_file: &Path) -> PathBuf {
    let mut name = position_file.file_name().unwrap_or_default().to_os_string();
    name.push(".origins");
    position_file.with_file_name(name)
}

impl Origins {
    /// The origins saved beside `position_file`; none when missing or unreadable (logged).
    pub(crate) fn load(position_file: &Path) -> Self {
        let path = path_of(position_file);
        let loaded_at = std::fs::symlink_metadata(&path)
            .and_then(|m| m.modified())
            .ok();
        let parsed = match atomic_file::read(&path) {
            Ok(None) => Ok(Vec::new()),
            Ok(Some(b)) => serde_json::from_slice::<Vec<Saved>>(&b).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let saved = parsed.unwrap_or_else(|e| {
            tracing::warn!(file = %path.display(), error = %e, "origin file unreadable; files get fresh event ids (lines read again after a crash may be duplicated)");
            Vec::new()
        });
        let by_inode = saved
            .into_iter()
            .filter_map(|s| {
                let kept = Kept {
                    origin: u64::from_str_radix(&s.origin, 16).ok()?,
                    born_ns: s.born_ns,
                    anchor: s.anchor.filter(|a| a.inode == s.inode && a.pos > 0),
                };
                Some((s.inode, kept))
            })
            .collect();
        Origins {
            path,
            by_inode,
            warned: false,
            loaded_at,
        }
    }

    /// When the source last gave a file an origin before this start (every batch's origin
    /// is saved before the batch leaves): no line of a file made after it was sent. `None`
    /// on a first start.
    pub(crate) fn loaded_at(&self) -> Option<std::time::SystemTime> {
        self.loaded_at
    }

    /// The origin saved for a file resumed at its saved position, if it is the same file.
    pub(crate) fn resumed(&self, inode: u64, born_ns: u64) -> Option<u64> {
        self.by_inode
            .get(&inode)
            .filter(|k| k.born_ns == born_ns)
            .map(|k| k.origin)
    }

    /// The origin saved for a young file (no position or fingerprint saved for it) whose
    /// anchor `file` still matches: the same inode, birth time and bytes up to the end of the
    /// first batch read with the origin.
    pub(crate) fn anchored(&self, inode: u64, born_ns: u64, file: &Path) -> Option<u64> {
        let k = self.by_inode.get(&inode).filter(|k| k.born_ns == born_ns)?;
        let anchor = k.anchor.as_ref()?;
        fingerprint::holds(file, inode, anchor).then_some(k.origin)
    }

    /// A fresh origin for `inode`, saved durably (with its `anchor`: the file's fingerprint at
    /// the end of the first batch it names) before it is returned; `None` (lines without ids)
    /// when it cannot be saved. `live` are the inodes still followed: the others are dropped
    /// from the file.
    #[cfg(test)]
    pub(crate) fn fresh(
        &mut self,
        inode: u64,
        born_ns: u64,
        anchor: Option<Fingerprint>,
        live: &[u64],
    ) -> Option<u64> {
        let origin = self.assign(inode, born_ns, anchor);
        if self.save_live(live) {
            Some(origin)
        } else {
            self.forget_unsaved(&[inode]);
            None
        }
    }

    /// A fresh origin for `inode` (born `born_ns`, with its `anchor`), kept in memory only:
    /// [`Origins::save_live`] must write it before an event with it is handed out (the
    /// tailer saves the origins of a trip's new files together, one write for them all).
    pub(crate) fn assign(&mut self, inode: u64, born_ns: u64, anchor: Option<Fingerprint>) -> u64 {
        let origin = fastrand::u64(1..);
        let kept = Kept {
            origin,
            born_ns,
            anchor,
        };
        self.by_inode.insert(inode, kept);
        origin
    }

    /// `origin` for `inode` (born `born_ns`), kept in memory only as [`Origins::assign`]'s: a
    /// copy of a file never seen, whose origin is derived from its content
    /// (`tailer/unseen.rs`).
    pub(crate) fn fixed(&mut self, inode: u64, born_ns: u64, origin: u64) {
        let kept = Kept {
            origin,
            born_ns,
            anchor: None,
        };
        self.by_inode.insert(inode, kept);
    }

    /// Writes the origins durably, those of the inodes not in `live` (no longer followed)
    /// dropped first; false (warned once) when they cannot be written.
    pub(crate) fn save_live(&mut self, live: &[u64]) -> bool {
        // A set: with thousands of files followed, a list searched per kept origin made each
        // save quadratic in the files.
        let live: std::collections::HashSet<u64> = live.iter().copied().collect();
        self.by_inode.retain(|i, _| live.contains(i));
        self.save()
    }

    /// Drops origins assigned and not saved (their lines go without ids).
    pub(crate) fn forget_unsaved(&mut self, inodes: &[u64]) {
        for i in inodes {
            self.by_inode.remove(i);
        }
    }

    /// The origin of `was` moved to `own` (born `born_ns`): a copy made at start of a file
    /// whose content left its name (`tailer/copies.rs`), checked against its fingerprint.
    /// Saved at once; without a saved origin nothing moves.
    pub(crate) fn moved(&mut self, was: u64, own: u64, born_ns: u64) {
        if let Some(mut k) = self.by_inode.remove(&was) {
            k.born_ns = born_ns;
            if let Some(a) = k.anchor.as_mut() {
                a.inode = own;
            }
            self.by_inode.insert(own, k);
            self.save();
        }
    }

    /// Writes the origins durably; false (warned once) when they cannot be.
    fn save(&mut self) -> bool {
        let saved: Vec<Saved> = self
            .by_inode
            .iter()
            .map(|(i, k)| Saved {
                inode: *i,
                born_ns: k.born_ns,
                origin: format!("{:016x}", k.origin),
                anchor: k.anchor.clone(),
            })
            .collect();
        let bytes = serde_json::to_vec(&saved).unwrap_or_default();
        match atomic_file::replace(&self.path, &bytes, true) {
            Ok(()) => true,
            Err(e) => {
                if !std::mem::replace(&mut self.warned, true) {
                    tracing::warn!(file = %self.path.display(), error = %e, "cannot save event origins; lines go without ids (a crash may duplicate them)");
                }
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_origin_is_saved_before_use_and_found_again_only_for_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let pos = dir.path().join("taildir_position.json");
        let mut o = Origins::load(&pos);
        let a = o.fresh(7, 100, None, &[7]).unwrap();
        let b = o.fresh(8, 200, None, &[7, 8]).unwrap();
        assert_ne!(a, b);
        let again = Origins::load(&pos);
        assert_eq!(again.resumed(7, 100), Some(a));
        assert_eq!(again.resumed(8, 200), Some(b));
        assert_eq!(
            again.resumed(7, 101),
            None,
            "another file on the same inode"
        );
        let mut o = again;
        let c = o.fresh(9, 1, None, &[9]).unwrap();
        let last = Origins::load(&pos);
        assert_eq!(last.resumed(9, 1), Some(c));
        assert_eq!(
            last.resumed(7, 100),
            None,
            "files no longer followed are dropped"
        );
    }

    #[test]
    fn an_anchored_origin_is_found_again_only_while_the_file_holds_its_first_batch() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let pos = dir.path().join("taildir_position.json");
        let log = dir.path().join("app.log");
        std::fs::write(&log, b"one\ntwo\n").unwrap();
        let ino = std::fs::metadata(&log).unwrap().ino();
        let anchor = fingerprint::take(&std::fs::File::open(&log).unwrap(), ino, 8).unwrap();
        let mut o = Origins::load(&pos);
        let a = o.fresh(ino, 5, Some(anchor), &[ino]).unwrap();
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        std::io::Write::write_all(&mut f, b"three\n").unwrap();
        let again = Origins::load(&pos);
        assert_eq!(
            again.anchored(ino, 5, &log),
            Some(a),
            "grown: the same content"
        );
        assert_eq!(again.anchored(ino, 6, &log), None, "another birth time");
        assert_eq!(again.anchored(ino + 1, 5, &log), None, "another inode");
        // Truncated and rewritten in place (copytruncate): other bytes under the anchor.
        std::fs::write(&log, b"ONE\ntwo\nthree\n").unwrap();
        assert_eq!(std::fs::metadata(&log).unwrap().ino(), ino);
        assert_eq!(again.anchored(ino, 5, &log), None, "rewritten");
        std::fs::write(&log, b"one\n").unwrap();
        assert_eq!(
            again.anchored(ino, 5, &log),
            None,
            "shorter than the anchor"
        );
        let mut o = again;
        let b = o.fresh(ino, 5, None, &[ino]).unwrap();
        assert_ne!(a, b);
        assert_eq!(
            Origins::load(&pos).anchored(ino, 5, &log),
            None,
            "no anchor, nothing checked"
        );
    }

    #[test]
    fn an_origin_file_that_cannot_be_written_gives_no_origin() {
        let dir = tempfile::tempdir().unwrap();
        let pos = dir.path().join("missing-dir").join("pos.json");
        let mut o = Origins::load(&pos);
        assert_eq!(o.fresh(1, 1, None, &[1]), None);
        assert_eq!(o.resumed(1, 1), None);
    }
}
