//! The synchronous heart of TAILDIR: which files are followed (scans of the file groups'
//! directories), which have data (scans, change events), and batches read from them in
//! Flume's order (up to `maxBatchCount` batches from one file, then the next), with the live
//! file's turns while the source catches up (`turns.rs`).
//!
//! Files are read oldest first: in the order the scans first saw them, and by their mtime
//! then (a rotated `app.log.1` before the `app.log` that replaced it; after a restart the
//! spooled files, then `app.log.3` before `app.log.2` ...), not by inode.
//!
//! Files are known by inode. A scan finds: a known inode under a new name (rename rotation:
//! followed on), a known inode shorter than what was read (copytruncate: from 0 again), an
//! unknown inode (a new file: from its saved position unless its fingerprint says it was
//! rewritten meanwhile, else from 0, or its end with `skipToEnd`), and known inodes no
//! longer matched (rotated away or deleted: read to their end through the open descriptor,
//! then forgotten).
//!
//! Here: the tailer and its batches; `scan.rs` the scans and change events, `events.rs` a
//! batch's events and their ids.

mod copies;
mod events;
mod forgotten;
mod give_up;
mod laid;
mod scan;
mod turns;
mod unseen;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use regex::Regex;

use super::config::TaildirConfig;
use super::fingerprint::Fingerprint;
use super::origins::Origins;
use super::position::PosEntry;
use super::spool::Spool;
use super::tail_file::TailFile;
use crate::agent::source::multiline::Rules;
use sluice_core::Event;

/// Most files followed at once (a limit on descriptors and memory).
pub(crate) const FOLLOWED_FILES_MAX: usize = 100_000;
/// Flume's header for `byteOffsetHeader`.
pub(crate) const BYTE_OFFSET_HEADER: &str = "byteoffset";

#[derive(Debug)]
struct Group {
    dir: PathBuf,
    regex: Arc<Regex>,
    headers: BTreeMap<String, String>,
    /// Cached listing: (directory mtime, when listed, matching paths).
    cache: Option<(SystemTime, SystemTime, Vec<PathBuf>)>,
    /// A layout's directory no longer there: not listed, its slot reused once no followed
    /// file is of it.
    retired: bool,
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
    /// The reading cursor: the file read last and batches in a row ([`turns`]; while
    /// catching up, the backlog's).
    current: turns::Cursor,
    /// While catching up, the live files' cursor, and whether a live file reads next.
    live_cursor: turns::Cursor,
    live_turn: bool,
    scanned_once: bool,
    /// `multiline.*`, compiled once for every file.
    multiline: Option<Arc<Rules>>,
    /// What the deleted-file limits did (shown as the source's gauges).
    pub(super) deleted: Arc<super::deleted_stats::DeletedStats>,
    /// The origins of the files' event ids (`<positionFile>.origins`).
    origins: Origins,
    /// The followed files in reading order: (scan that first saw it, its mtime then, inode).
    order: BTreeSet<(u64, SystemTime, u64)>,
    /// Scans made (the first is 1; files restored from the spool come before it, as 0).
    scans: u64,
    /// Scanning between the retries of a refused batch: a copytruncate waits for a later scan.
    refused: bool,
    /// Hard links to the files not finished ([`super::spool`]).
    pub(super) spool: Spool,
    /// Files forgotten whose last batch is not committed yet: their position and spool link
    /// are kept until it is ([`Releasing`]).
    releasing: BTreeMap<u64, Releasing>,
    /// The end of the last batch handed out from each file, until committed.
    handed: HashMap<u64, u64>,
    /// Loss at the source ([`super::loss`]): counters and totals.
    pub(super) lost: super::loss::Lost,
    /// Files read to their end and forgotten, known again if seen under a new name.
    forgotten: forgotten::ForgottenFiles,
    /// Symbolic links matching a pattern, skipped (`followSymlinks = false`) and named once.
    links_skipped: std::collections::HashSet<PathBuf>,
    /// A layout's directories by path: their group's index (`laid.rs`).
    laid: HashMap<PathBuf, usize>,
    /// Saved positions whose inode now holds another file (reused while the source was
    /// down), with their fingerprints: their content may be found elsewhere (`copies.rs`).
    displaced: Vec<(PosEntry, Option<Fingerprint>)>,
    /// The live files and the backlog ([`turns::Lanes`]), kept from one scan or forgotten
    /// file to the next: with thousands of files, working them out per batch was a quarter
    /// of the source's CPU.
    lanes: Option<turns::Lanes>,
    /// When the held multiline events were last checked for their time-out.
    expiry_checked: Option<Instant>,
    /// Files given a fresh origin not saved yet ([`Tailer::seal`] saves them).
    unsaved: Vec<u64>,
}

/// A forgotten file whose last batch is still in flight.
#[derive(Debug)]
struct Releasing {
    pos: u64,
    end: u64,
    file: String,
    link: Option<PathBuf>,
}

/// How often the held multiline events are checked for their time-out.
const EXPIRY_CHECK_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

impl Tailer {
    /// A tailer starting from the saved positions (patterns were validated).
    pub fn new(cfg: Arc<TaildirConfig>, saved: Vec<PosEntry>) -> Result<Self, regex::Error> {
        let mut groups = Vec::new();
        for g in &cfg.filegroups {
            groups.push(Group {
                dir: g.dir.clone(),
                regex: Arc::new(g.regex()?),
                headers: g.headers.clone(),
                cache: None,
                retired: false,
            });
        }
        let mut multiline = cfg.multiline.as_ref().map(Rules::new).transpose()?;
        if let Some(l) = &cfg.layout {
            multiline = multiline.or_else(|| l.0.rules());
        }
        Ok(Tailer {
            deleted: Arc::default(),
            multiline,
            groups,
            files: BTreeMap::new(),
            by_path: HashMap::new(),
            saved: saved.into_iter().map(|e| (e.inode, e)).collect(),
            fingerprints: HashMap::new(),
            current: None,
            live_cursor: None,
            live_turn: false,
            scanned_once: false,
            origins: Origins::default(),
            order: BTreeSet::new(),
            scans: 0,
            refused: false,
            spool: Spool::new(&cfg.position_file, cfg.spool_bytes),
            releasing: BTreeMap::new(),
            handed: HashMap::new(),
            lost: Default::default(),
            forgotten: Default::default(),
            links_skipped: Default::default(),
            laid: HashMap::new(),
            displaced: Vec::new(),
            lanes: None,
            expiry_checked: None,
            unsaved: Vec::new(),
            cfg,
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

    /// Whether a followed file has a fingerprint whose inode is not in `saved`.
    pub fn has_fingerprint_outside(&self, saved: &std::collections::HashSet<u64>) -> bool {
        self.files.values().any(|t| {
            t.fingerprint
                .as_ref()
                .is_some_and(|f| !saved.contains(&f.inode))
        })
    }

    /// Number of followed files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file is followed.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The committed positions, in Flume's form (with the files forgotten whose last batch
    /// is in flight).
    pub fn positions(&self) -> Vec<PosEntry> {
        let followed = self.files.values().map(|t| PosEntry {
            inode: t.inode,
            pos: t.pos,
            file: t.path.display().to_string(),
        });
        let releasing = self.releasing.iter().map(|(i, r)| PosEntry {
            inode: *i,
            pos: r.pos,
            file: r.file.clone(),
        });
        followed.chain(releasing).collect()
    }

    /// The inodes whose positions are kept (followed, or their last batch in flight).
    pub(super) fn live_inodes(&self) -> Vec<u64> {
        self.files
            .keys()
            .chain(self.releasing.keys())
            .copied()
            .collect()
    }

    /// Stops following `inode`; its spool link goes now, or once its last batch handed out
    /// is committed (`given_up`: never, the file is not to be read).
    pub(super) fn forget(&mut self, inode: u64, given_up: bool) {
        if let Some(t) = self.files.remove(&inode) {
            self.lanes = None;
            tracing::info!(file = %t.path.display(), inode, pos = t.pos, "stopped following file");
            if self.by_path.get(&t.path) == Some(&inode) {
                self.by_path.remove(&t.path);
            }
            self.order.remove(&(t.age.0, t.age.1, inode));
            let handed = self.handed.remove(&inode);
            if given_up {
                self.forgotten.drop_inode(inode);
            } else {
                self.forgotten.remember(forgotten::Forgotten {
                    inode,
                    pos: t.pos,
                    read: handed.unwrap_or(t.pos).max(t.pos),
                    born_ns: t.born_ns,
                    fingerprint: t.fingerprint.clone(),
                    origin: t.origin,
                });
            }
            match handed.filter(|e| *e > t.pos && !given_up) {
                Some(end) => {
                    let file = t.path.display().to_string();
                    let (pos, link) = (t.pos, t.spool);
                    self.releasing.insert(
                        inode,
                        Releasing {
                            pos,
                            end,
                            file,
                            link,
                        },
                    );
                }
                None => {
                    if let Some(l) = &t.spool {
                        super::spool::unlink(l);
                    }
                }
            }
        }
        if self.current.map(|c| c.0) == Some(inode) {
            self.current = None;
        }
        if self.live_cursor.map(|c| c.0) == Some(inode) {
            self.live_cursor = None;
        }
    }

    /// The compiled `multiline.*` settings, whose [`Rules::held`] counts the held bytes.
    pub(crate) fn multiline_rules(&self) -> Option<Arc<Rules>> {
        self.multiline.clone()
    }

    /// The next batch from a file with data, or `None` when no file has any. Its ids may name
    /// a fresh origin not saved yet: [`Tailer::seal`] the batches read before handing them out.
    pub fn next_batch(&mut self) -> Option<Batch> {
        let (max, max_bytes) = (self.cfg.batch_size, self.cfg.max_batch_bytes);
        if let Some(rules) = &self.multiline {
            if rules.held().take_pressure() {
                // multiline.maxHeldBytes was reached: the largest held event goes out next.
                if let Some(t) = self.files.values_mut().max_by_key(|t| t.held_bytes()) {
                    t.release_held();
                }
            }
            // Held events are looked at every few ms, not per batch (a pass over every
            // file): a time-out is met at most that much late.
            let now = Instant::now();
            let due = self
                .expiry_checked
                .is_none_or(|at| now.duration_since(at) >= EXPIRY_CHECK_EVERY);
            if due {
                self.expiry_checked = Some(now);
                for t in self.files.values_mut() {
                    if t.multiline_expired(now) {
                        t.pending = true;
                    }
                }
            }
        }
        while let Some((inode, lane)) = self.pick() {
            let Some(t) = self.files.get_mut(&inode) else {
                self.current = None;
                self.live_cursor = None;
                continue;
            };
            let read = match t.read(max, max_bytes, !t.matched) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(file = %t.path.display(), inode, error = %e, "cannot read followed file");
                    t.pending = false;
                    t.close();
                    if !t.matched {
                        self.give_up(inode, "it could not be read after it left its name");
                    }
                    continue;
                }
            };
            if read.lines.len() < max || read.at_eof {
                t.pending = !read.at_eof && !read.waiting;
            }
            let (matched, vanished) = (t.matched, t.vanished);
            self.moved(inode, lane);
            if read.lines.is_empty() {
                if read.at_eof && !matched && vanished {
                    self.give_up(
                        inode,
                        "it was deleted before it was opened (not held, not spooled)",
                    );
                } else if read.at_eof && !matched {
                    self.forget(inode, false);
                }
                continue;
            }
            self.handed.insert(inode, read.end);
            self.lost.read(&read.lines);
            let events = self.events(inode, read.lines, read.end);
            return Some(Batch {
                inode,
                events,
                end: read.end,
            });
        }
        None
    }

    /// The batch read from `inode` up to `end` was committed.
    pub fn commit(&mut self, inode: u64, end: u64) {
        if self.handed.get(&inode).is_some_and(|e| *e <= end) {
            self.handed.remove(&inode);
        }
        if let Some(t) = self.files.get_mut(&inode) {
            t.commit(end);
        } else if let Some(r) = self.releasing.get_mut(&inode) {
            r.pos = r.pos.max(end);
            if r.pos >= r.end {
                if let Some(l) = self.releasing.remove(&inode).and_then(|r| r.link) {
                    super::spool::unlink(&l);
                }
            }
        }
    }
}
