//! The synchronous heart of TAILDIR: which files are followed (scans of the file groups'
//! directories), which have data (scans, change events), and batches read from them in
//! Flume's order (up to `maxBatchCount` batches from one file, then the next).
//!
//! Files are known by inode. A scan finds: a known inode under a new name (rename rotation:
//! followed on), a known inode shorter than what was read (copytruncate: from 0 again), an
//! unknown inode (a new file: from its saved position unless its fingerprint says it was
//! rewritten meanwhile, else from 0, or its end with `skipToEnd`), and known inodes no
//! longer matched (rotated away or deleted: read to their end through the open descriptor,
//! then forgotten).

use super::origins::Origins;
use crate::agent::source::file_id::born_ns;
use sluice_core::dedup::{IdPrefix, EVENT_ID_HEADER};
use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use regex::Regex;

use super::config::TaildirConfig;
use super::fingerprint::{self, Fingerprint};
use super::position::PosEntry;
use super::tail_file::TailFile;
use crate::agent::source::multiline::{Joiner, Rules};
use sluice_core::{Event, Headers};

/// Most files followed at once (a limit on descriptors and memory).
pub(crate) const FOLLOWED_FILES_MAX: usize = 100_000;
/// Flume's header for `byteOffsetHeader`.
pub(crate) const BYTE_OFFSET_HEADER: &str = "byteoffset";

#[derive(Debug)]
struct Group {
    dir: PathBuf,
    regex: Regex,
    headers: BTreeMap<String, String>,
    /// Cached listing: (directory mtime, when listed, matching paths).
    cache: Option<(SystemTime, SystemTime, Vec<PathBuf>)>,
}

/// A batch read from one file.
#[derive(Debug)]
pub struct Batch {
    /// The file's inode.
    pub inode: u64,
    /// The events.
    pub events: Vec<Event>,
    /// Position to commit after them.
    pub end: u64,
}

/// Follows the files of a TAILDIR source.
#[derive(Debug)]
pub struct Tailer {
    pub(super) cfg: Arc<TaildirConfig>,
    groups: Vec<Group>,
    pub(super) files: BTreeMap<u64, TailFile>,
    by_path: HashMap<PathBuf, u64>,
    saved: HashMap<u64, PosEntry>,
    /// Fingerprints of the saved positions, by inode.
    fingerprints: HashMap<u64, Fingerprint>,
    current: Option<(u64, u64)>,
    scanned_once: bool,
    /// `multiline.*`, compiled once for every file.
    multiline: Option<Arc<Rules>>,
    /// What the deleted-file limits did (shown as the source's gauges).
    pub(super) deleted: Arc<super::deleted_stats::DeletedStats>,
    /// The origins of the files' event ids (`<positionFile>.origins`).
    origins: Origins,
}

impl Tailer {
    /// A tailer starting from the saved positions (patterns were validated).
    pub fn new(cfg: Arc<TaildirConfig>, saved: Vec<PosEntry>) -> Result<Self, regex::Error> {
        let mut groups = Vec::new();
        for g in &cfg.filegroups {
            groups.push(Group {
                dir: g.dir.clone(),
                regex: g.regex()?,
                headers: g.headers.clone(),
                cache: None,
            });
        }
        let multiline = cfg.multiline.as_ref().map(Rules::new).transpose()?;
        Ok(Tailer {
            deleted: Arc::default(),
            multiline,
            cfg,
            groups,
            files: BTreeMap::new(),
            by_path: HashMap::new(),
            saved: saved.into_iter().map(|e| (e.inode, e)).collect(),
            fingerprints: HashMap::new(),
            current: None,
            scanned_once: false,
            origins: Origins::default(),
        })
    }

    /// The fingerprints saved with the positions ([`fingerprint::load`]), checked when each
    /// file is first seen.
    pub fn restore_fingerprints(&mut self, fps: HashMap<u64, Fingerprint>) {
        self.fingerprints = fps;
    }

    /// The origins saved beside the position file ([`Origins::load`]): without them every
    /// file's lines get a fresh origin.
    pub(crate) fn restore_origins(&mut self, origins: Origins) {
        self.origins = origins;
    }

    /// The fingerprints of the committed positions (for `<positionFile>.fingerprints`).
    pub fn fingerprints(&self) -> Vec<Fingerprint> {
        self.files
            .values()
            .filter_map(|t| t.fingerprint.clone())
            .collect()
    }

    /// Number of followed files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file is followed.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The committed positions, in Flume's form.
    pub fn positions(&self) -> Vec<PosEntry> {
        self.files
            .values()
            .map(|t| PosEntry {
                inode: t.inode,
                pos: t.pos,
                file: t.path.display().to_string(),
            })
            .collect()
    }

    fn list(&mut self, gi: usize) -> Vec<PathBuf> {
        let cache_ok = self.cfg.cache_pattern_matching;
        let g = &mut self.groups[gi];
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

    /// Lists every group and stats every matching file (see the module docs).
    pub fn scan(&mut self) {
        let mut seen: HashMap<u64, ()> = HashMap::new();
        for gi in 0..self.groups.len() {
            for path in self.list(gi) {
                let Ok(m) = std::fs::metadata(&path) else {
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
                if was_matched && t.is_open() {
                    tracing::info!(file = %t.path.display(), inode, "file no longer matched (rotated or deleted); reading it to its end");
                    t.pending = true;
                } else if !t.pending {
                    // Read to its end since it went (or never open): nothing more to come.
                    self.forget(inode);
                }
            }
        }
        if !self.scanned_once {
            self.scanned_once = true;
            if !self.saved.is_empty() {
                let sample: Vec<&str> = self
                    .saved
                    .values()
                    .take(3)
                    .map(|e| e.file.as_str())
                    .collect();
                tracing::warn!(
                    position_file = %self.cfg.position_file.display(),
                    entries = self.saved.len(),
                    ?sample,
                    "position entries match no followed file (files gone, or a position file from another host); ignored"
                );
                self.saved.clear();
            }
        }
    }

    fn saw(&mut self, path: PathBuf, gi: usize, m: &std::fs::Metadata) {
        let inode = m.ino();
        let mtime = m.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        if let Some(t) = self.files.get_mut(&inode) {
            if t.path != path {
                tracing::info!(from = %t.path.display(), to = %path.display(), inode, "followed file renamed; following it on");
                self.by_path.remove(&t.path);
                t.path = path.clone();
            }
            self.by_path.insert(path, inode);
            t.matched = true;
            if m.len() < t.read_offset() {
                t.restart_from_zero("file shrank below the read position (copytruncate)");
            } else if m.len() > t.read_offset() || mtime != t.mtime {
                t.pending = true;
                t.last_change = Instant::now();
            }
            t.mtime = mtime;
            return;
        }
        if self.files.len() >= FOLLOWED_FILES_MAX {
            tracing::warn!(file = %path.display(), limit = FOLLOWED_FILES_MAX, "too many followed files; not following this one");
            return;
        }
        let fp = self.fingerprints.remove(&inode);
        let born = born_ns(m);
        let mut origin = None;
        let (pos, fp) = match self.saved.remove(&inode) {
            Some(e) if e.pos <= m.len() && fingerprint::rewritten(&path, inode, fp.as_ref()) => {
                tracing::warn!(file = %path.display(), inode, pos = e.pos, size = m.len(), "file truncated and rewritten, or replaced on the same inode, while the source was down (bytes it had read changed); reading it again from the beginning");
                // Truncated while running, with a fresh origin anchored on the new bytes,
                // before its position was saved: those lines keep their ids.
                origin = self.origins.anchored(inode, born, &path);
                (0, None)
            }
            Some(e) if e.pos <= m.len() => {
                if Path::new(&e.file) != path {
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
        self.by_path.insert(path.clone(), inode);
        let joiner = self.multiline.clone().map(Joiner::new);
        let mut t = TailFile::new(path, inode, pos, gi, mtime).with_joiner(joiner);
        t.fingerprint = fp;
        t.origin = origin;
        t.born_ns = born;
        self.files.insert(inode, t);
    }

    pub(super) fn forget(&mut self, inode: u64) {
        if let Some(t) = self.files.remove(&inode) {
            tracing::info!(file = %t.path.display(), inode, pos = t.pos, "stopped following file");
            if self.by_path.get(&t.path) == Some(&inode) {
                self.by_path.remove(&t.path);
            }
        }
        if self.current.map(|c| c.0) == Some(inode) {
            self.current = None;
        }
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

    /// Closes descriptors of files unchanged for `idleTimeout` and read to their end.
    pub(crate) fn close_idle(&mut self) {
        let idle = self.cfg.idle_timeout;
        for t in self.files.values_mut() {
            if t.is_open() && !t.pending && !t.holds_lines() && t.last_change.elapsed() >= idle {
                tracing::debug!(file = %t.path.display(), "closing idle file");
                t.close();
            }
        }
    }

    fn pick(&self) -> Option<u64> {
        if let Some((inode, count)) = self.current {
            if count < self.cfg.max_batch_count && self.files.get(&inode).is_some_and(|t| t.pending)
            {
                return Some(inode);
            }
        }
        let after = self.current.map_or(0, |c| c.0);
        self.files
            .range(after.saturating_add(1)..)
            .chain(self.files.range(..=after))
            .find(|(_, t)| t.pending)
            .map(|(i, _)| *i)
    }

    /// The compiled `multiline.*` settings, whose [`Rules::held`] counts the held bytes.
    pub(crate) fn multiline_rules(&self) -> Option<Arc<Rules>> {
        self.multiline.clone()
    }

    /// The next batch from a file with data, or `None` when no file has any.
    pub fn next_batch(&mut self) -> Option<Batch> {
        let (max, max_bytes) = (self.cfg.batch_size, self.cfg.max_batch_bytes);
        if let Some(rules) = &self.multiline {
            if rules.held().take_pressure() {
                // multiline.maxHeldBytes was reached: the largest held event goes out next.
                if let Some(t) = self.files.values_mut().max_by_key(|t| t.held_bytes()) {
                    t.release_held();
                }
            }
            let now = Instant::now();
            for t in self.files.values_mut() {
                if t.multiline_expired(now) {
                    t.pending = true;
                }
            }
        }
        while let Some(inode) = self.pick() {
            let Some(t) = self.files.get_mut(&inode) else {
                self.current = None;
                continue;
            };
            let read = match t.read(max, max_bytes, !t.matched) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(file = %t.path.display(), inode, error = %e, "cannot read followed file");
                    t.pending = false;
                    t.close();
                    if !t.matched {
                        self.forget(inode);
                    }
                    continue;
                }
            };
            if read.lines.len() < max || read.at_eof {
                t.pending = !read.at_eof;
            }
            let count = match self.current {
                Some((i, c)) if i == inode => c + 1,
                _ => 1,
            };
            self.current = Some((inode, count));
            if read.lines.is_empty() {
                if read.at_eof && !t.matched {
                    self.forget(inode);
                }
                continue;
            }
            let events = self.events(inode, read.lines, read.end);
            return Some(Batch {
                inode,
                events,
                end: read.end,
            });
        }
        None
    }

    /// The origin of `inode`'s event ids: its own, or a fresh one saved first, anchored at
    /// `end` (the end of the batch about to be handed out).
    fn origin_of(&mut self, inode: u64, end: u64) -> Option<u64> {
        let t = self.files.get(&inode)?;
        if t.origin.is_some() {
            return t.origin;
        }
        let (born, anchor) = (t.born_ns, t.fingerprint_at(end));
        let live: Vec<u64> = self.files.keys().copied().collect();
        let origin = self.origins.fresh(inode, born, anchor, &live);
        if let Some(t) = self.files.get_mut(&inode) {
            t.origin = origin;
        }
        origin
    }

    fn events(
        &mut self,
        inode: u64,
        lines: Vec<crate::agent::source::file_lines::Line>,
        end: u64,
    ) -> Vec<Event> {
        let origin = self.origin_of(inode, end);
        let Some(t) = self.files.get(&inode) else {
            return Vec::new();
        };
        let group_headers = self.groups.get(t.group).map(|g| &g.headers);
        let path = self.cfg.file_header.then(|| t.path.display().to_string());
        // The file's origin written once for the batch, each line's offsets after it.
        let prefix = origin.map(IdPrefix::new);
        lines
            .into_iter()
            .map(|l| {
                // Headers first, then the event: no copy-on-write check per header.
                let mut headers = Headers::new();
                if let Some(h) = group_headers {
                    headers.extend(h.iter());
                }
                if self.cfg.byte_offset_header {
                    headers.insert(BYTE_OFFSET_HEADER, l.offset.to_string());
                }
                if let Some(p) = &path {
                    headers.insert(&self.cfg.file_header_key, p);
                }
                if let Some(p) = prefix.as_ref().filter(|_| l.consumed > 0) {
                    headers.insert(EVENT_ID_HEADER, p.span(l.offset, l.offset + l.consumed));
                }
                Event::with_headers(headers, l.bytes)
            })
            .collect()
    }

    /// The batch read from `inode` up to `end` was committed.
    pub fn commit(&mut self, inode: u64, end: u64) {
        if let Some(t) = self.files.get_mut(&inode) {
            t.commit(end);
        }
    }
}
