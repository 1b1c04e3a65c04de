//! Which files a TAILDIR source follows and which have data: the file groups' directories
//! listed (a cached listing while a directory's mtime holds), every matching file stated and
//! met by inode (see [`Tailer`]'s module docs), change events and idle files closed.
//!
//! A symbolic link matching a pattern is followed only with `followSymlinks = true` (unlike
//! Flume): otherwise it is skipped, named once at WARN, and never read (its file is opened
//! `O_NOFOLLOW` too, so a link swapped in after the scan is not read either).

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::{Tailer, FOLLOWED_FILES_MAX};
use crate::agent::source::file_id::born_ns;
use crate::agent::source::multiline::Joiner;
use crate::agent::source::taildir::fingerprint;
use crate::agent::source::taildir::fingerprint::Fingerprint;
use crate::agent::source::taildir::tail_file::TailFile;

/// Most files [`Tailer::rotated_away`] states.
pub(crate) const ROTATION_CHECK_FILES_MAX: usize = 256;

/// Where a newly followed file starts.
struct Start {
    /// Its committed position.
    pos: u64,
    /// Where reading goes on (past `pos` while a batch of it is in flight).
    read: u64,
    fingerprint: Option<Fingerprint>,
    origin: Option<u64>,
    /// Its spool link, when it has one already.
    link: Option<PathBuf>,
}

impl Tailer {
    fn list(&mut self, gi: usize) -> Vec<PathBuf> {
        let cache_ok = self.cfg.cache_pattern_matching;
        let g = &mut self.groups[gi];
        if g.retired {
            return Vec::new();
        }
        let dir_mtime = match std::fs::metadata(&g.dir).and_then(|m| m.modified()) {
            Ok(t) => t,
            Err(e) => {
                if g.cache.take().is_some() || !self.scanned_once {
                    tracing::warn!(dir = %g.dir.display(), error = %e, "file group directory cannot be read");
                }
                return Vec::new();
            }
        };
        if let Some((mt, listed, paths)) = &g.cache {
            // A listing made within a second of the directory's change may have missed a
            // second change with the same coarse mtime: list again then.
            if cache_ok && *mt == dir_mtime && *listed > dir_mtime + Duration::from_secs(1) {
                return paths.clone();
            }
        }
        let now = SystemTime::now();
        let mut paths = Vec::new();
        if let Ok(rd) = std::fs::read_dir(&g.dir) {
            for e in rd.flatten() {
                let name = e.file_name();
                let Some(name) = name.to_str() else { continue };
                if g.regex.is_match(name) {
                    paths.push(e.path());
                }
            }
        }
        paths.sort();
        g.cache = Some((dir_mtime, now, paths.clone()));
        paths
    }

    /// Lists every group and stats every matching file (see the module docs); the first
    /// scan takes up the files left in the spool first.
    pub fn scan(&mut self) {
        self.lanes = None;
        self.lay_out();
        if self.scans == 0 {
            self.restore_spool();
        }
        self.scans += 1;
        let mut seen: HashMap<u64, ()> = HashMap::new();
        for gi in 0..self.groups.len() {
            for path in self.list(gi) {
                let Some(m) = self.stat_matched(&path) else {
                    continue;
                };
                if !m.is_file() || seen.insert(m.ino(), ()).is_some() {
                    continue;
                }
                self.saw(path, gi, &m);
            }
        }
        let gone: Vec<u64> = self
            .files
            .keys()
            .copied()
            .filter(|i| !seen.contains_key(i))
            .collect();
        for inode in gone {
            if let Some(t) = self.files.get_mut(&inode) {
                let was_matched = std::mem::replace(&mut t.matched, false);
                // Open, or closed as idle but held by its spool link: lines written since it
                // was last read are read through the descriptor or the link.
                if was_matched && (t.is_open() || t.spool.is_some()) {
                    tracing::info!(file = %t.path.display(), inode, "file no longer matched (rotated or deleted); reading it to its end");
                    t.pending = true;
                } else if !t.pending {
                    // Read to its end since it went (or never open): nothing more to come.
                    self.forget(inode, false);
                }
            }
        }
        if !self.scanned_once {
            self.scanned_once = true;
            self.take_up_copies();
            self.count_saved_gone();
        }
        self.lanes = None;
    }

    /// What a matching `path` names, for following: a symbolic link only with
    /// `followSymlinks` (its target then), else `None` and the link named once at WARN.
    fn stat_matched(&mut self, path: &Path) -> Option<std::fs::Metadata> {
        let m = std::fs::symlink_metadata(path).ok()?;
        if !m.file_type().is_symlink() {
            return Some(m);
        }
        if self.cfg.follow_symlinks {
            return std::fs::metadata(path).ok();
        }
        let new = self.links_skipped.len() < super::FOLLOWED_FILES_MAX
            && self.links_skipped.insert(path.to_path_buf());
        if new {
            let target = std::fs::read_link(path).map(|t| t.display().to_string());
            tracing::warn!(
                file = %path.display(),
                target = %target.unwrap_or_else(|e| e.to_string()),
                "a symbolic link matches the file group's pattern; not read (TAILDIR follows links only with followSymlinks = true)"
            );
        }
        None
    }

    /// A known file seen again (under `path`): renamed, grown, truncated; false when `m` is
    /// not a followed file.
    fn saw_again(&mut self, path: &Path, m: &std::fs::Metadata) -> bool {
        let inode = m.ino();
        let mtime = m.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let Some(t) = self.files.get_mut(&inode) else {
            return false;
        };
        if t.path != path {
            tracing::info!(from = %t.path.display(), to = %path.display(), inode, "followed file renamed; following it on");
            // Its old name may already be the new file's (a rotation met in one scan: the
            // new `app.log` first, then the old one under `app.log.1`): that mapping stays, or
            // the new file's writes would wake nothing until it is rotated in turn.
            if self.by_path.get(&t.path) == Some(&inode) {
                self.by_path.remove(&t.path);
            }
            t.path = path.to_path_buf();
        }
        self.by_path.insert(path.to_path_buf(), inode);
        t.matched = true;
        t.size_seen = m.len();
        if t.spool.is_none() {
            t.spool = self.spool.link(&t.path, inode, m.dev());
        }
        if self.refused {
            // A batch of it may be in flight: a copytruncate waits for the next scan.
            t.pending = true;
        } else if m.len() < t.read_offset() {
            t.restart_from_zero("file shrank below the read position (copytruncate)");
        } else if m.len() > t.read_offset() || mtime != t.mtime {
            t.pending = true;
            t.last_change = Instant::now();
        }
        t.mtime = mtime;
        true
    }

    pub(super) fn saw(&mut self, path: PathBuf, gi: usize, m: &std::fs::Metadata) {
        if self.saw_again(&path, m) {
            return;
        }
        let inode = m.ino();
        if self.files.len() >= FOLLOWED_FILES_MAX {
            tracing::warn!(file = %path.display(), limit = FOLLOWED_FILES_MAX, "too many followed files; not following this one");
            return;
        }
        let born = born_ns(m);
        if let Some((f, link)) = self.found_again(inode, &path, born, m.len()) {
            tracing::info!(file = %path.display(), inode, pos = f.pos, "a file read before is seen again under a matching name (renamed between two scans); following it on from where it was");
            let start = Start {
                pos: f.pos,
                read: f.read,
                fingerprint: f.fingerprint,
                origin: f.origin,
                link,
            };
            self.follow(path, gi, m, start);
            return;
        }
        let fp = self.fingerprints.remove(&inode);
        let mut origin = None;
        let (pos, fp) = match self.saved.remove(&inode) {
            Some(e) if e.pos <= m.len() && fingerprint::rewritten(&path, inode, fp.as_ref()) => {
                self.displace(&e, fp.clone());
                tracing::warn!(file = %path.display(), inode, pos = e.pos, size = m.len(), "file truncated and rewritten, or replaced on the same inode, while the source was down (bytes it had read changed); reading it again from the beginning");
                // Truncated while running, with a fresh origin anchored on the new bytes,
                // before its position was saved: those lines keep their ids.
                origin = self.origins.anchored(inode, born, &path);
                (0, None)
            }
            Some(e) if e.pos <= m.len() => {
                // Taken up from the spool, `path` is its link: renamed only when the saved
                // name no longer holds the file.
                if Path::new(&e.file) != path && !still_named(&e.file, inode) {
                    tracing::info!(file = %path.display(), was = %e.file, inode, pos = e.pos, "resuming a file renamed while the source was down");
                }
                // The saved origin names the content its fingerprint checked; a file with
                // nothing checked (position 0, no fingerprint) may hold other bytes at the
                // same offsets since (a copytruncate just before the crash): a fresh one.
                if fp.as_ref().is_some_and(|f| f.pos > 0 && f.inode == inode) {
                    origin = self.origins.resumed(inode, born);
                } else {
                    origin = self.origins.anchored(inode, born, &path);
                }
                (e.pos, fp)
            }
            Some(e) => {
                self.displace(&e, fp.clone());
                tracing::warn!(file = %path.display(), inode, pos = e.pos, size = m.len(), "saved position beyond the end of the file (truncated while down); reading from the beginning");
                origin = self.origins.anchored(inode, born, &path);
                (0, None)
            }
            None if self.cfg.skip_to_end => (m.len(), None),
            None => {
                // A young file: its lines read again from the start keep their ids when it
                // still holds what its origin was anchored on.
                origin = self.origins.anchored(inode, born, &path);
                (0, None)
            }
        };
        tracing::info!(file = %path.display(), inode, pos, "following file");
        let start = Start {
            pos,
            read: pos,
            fingerprint: fp,
            origin,
            link: None,
        };
        self.follow(path, gi, m, start);
    }

    /// Follows the file at `path` (group `gi`, stated as `m`) from `start`.
    fn follow(&mut self, path: PathBuf, gi: usize, m: &std::fs::Metadata, start: Start) {
        let inode = m.ino();
        let mtime = m.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        self.by_path.insert(path.clone(), inode);
        let joiner = self.multiline.clone().map(Joiner::new);
        let mut t = TailFile::new(path, inode, start.read, gi, mtime).with_joiner(joiner);
        t.follow_links = self.cfg.follow_symlinks;
        t.pos = start.pos;
        t.fingerprint = start.fingerprint;
        t.origin = start.origin;
        t.born_ns = born_ns(m);
        t.size_seen = m.len();
        t.age = (self.scans, mtime);
        t.spool = start
            .link
            .or_else(|| self.spool.link(&t.path, inode, m.dev()));
        self.order.insert((t.age.0, mtime, inode));
        self.files.insert(inode, t);
    }

    /// Scans between the retries of a refused batch: new and rotated files are found and
    /// kept (spooled, or their descriptors opened), so a rename or a delete cannot take them
    /// while the channel refuses; nothing is read, and a copytruncate waits.
    pub(crate) fn scan_while_refused(&mut self) {
        self.refused = true;
        self.scan();
        self.refused = false;
        for t in self.files.values_mut() {
            let kept = t.is_open() || t.spool.is_some() || t.vanished;
            if !kept && t.pending {
                if let Err(e) = t.open() {
                    tracing::warn!(file = %t.path.display(), error = %e, "cannot open a followed file to keep it while the channel refuses");
                }
            }
        }
    }

    /// Takes up the files a stopped or killed source left in the spool, before the first
    /// scan: each from its saved position (0 if none), under its saved name, read first.
    fn restore_spool(&mut self) {
        let saved = &self.saved;
        let listed = self.spool.list(|ino| saved.contains_key(&ino));
        for s in listed {
            // `list` checked the entry is a regular file; a link is never followed here.
            let Ok(m) = std::fs::symlink_metadata(&s.link) else {
                continue;
            };
            if let Some(t) = self.files.get_mut(&s.inode) {
                t.spool = Some(s.link);
                continue;
            }
            let name = self.saved.get(&s.inode).map(|e| PathBuf::from(&e.file));
            let gi = name.as_ref().map_or(0, |n| self.group_of(n));
            self.saw(s.link.clone(), gi, &m);
            self.by_path.remove(&s.link);
            if let Some(t) = self.files.get_mut(&s.inode) {
                tracing::info!(link = %s.link.display(), file = ?name, pos = t.pos, "taking up a spooled file");
                if let Some(n) = name {
                    t.path = n;
                }
                t.spool = Some(s.link);
                t.matched = false;
            }
        }
    }

    /// The file group whose directory and pattern `path` matches (the first if none does).
    pub(super) fn group_of(&self, path: &Path) -> usize {
        let (dir, name) = (path.parent(), path.file_name().and_then(|n| n.to_str()));
        self.groups
            .iter()
            .position(|g| Some(g.dir.as_path()) == dir && name.is_some_and(|n| g.regex.is_match(n)))
            .unwrap_or(0)
    }

    /// Change events for these paths: the files may have data.
    pub(crate) fn touched(&mut self, paths: &[PathBuf]) {
        for p in paths {
            if let Some(t) = self.by_path.get(p).and_then(|i| self.files.get_mut(i)) {
                t.pending = true;
                t.last_change = Instant::now();
            }
        }
    }

    /// Whether a followed file left its name (renamed or deleted: a rotation) since the last
    /// scan: its path no longer names its inode. Only the open files (the ones written
    /// lately; at most [`ROTATION_CHECK_FILES_MAX`]) are stated, a stat each.
    pub(crate) fn rotated_away(&self) -> bool {
        self.files
            .values()
            .filter(|t| t.matched && t.is_open())
            .take(ROTATION_CHECK_FILES_MAX)
            .any(|t| {
                let m = if t.follow_links {
                    std::fs::metadata(&t.path)
                } else {
                    std::fs::symlink_metadata(&t.path)
                };
                m.map_or(true, |m| m.ino() != t.inode)
            })
    }

    /// Closes descriptors of files unchanged for `idleTimeout` and read to their end.
    pub fn close_idle(&mut self) {
        let idle = self.cfg.idle_timeout;
        for t in self.files.values_mut() {
            if t.is_open() && !t.pending && !t.holds_lines() && t.last_change.elapsed() >= idle {
                tracing::debug!(file = %t.path.display(), "closing idle file");
                t.close();
            }
        }
    }
}

/// Whether `file` still names the file `inode` (it was not renamed away).
fn still_named(file: &str, inode: u64) -> bool {
    std::fs::metadata(file).is_ok_and(|m| m.ino() == inode)
}
