//! The synchronous heart of `spooldir`: picks the next file, reads it batch by batch (LINE or
//! BLOB), and completes it (rename, delete or marker) once its last batch was committed.
//! Runs on tokio's blocking pool; [`super::task`] drives it and talks to the channel.
//!
//! One file is read at a time. The task calls [`Spooler::next_step`] for a step, puts the events,
//! and only after the commit calls [`Spooler::committed`] (which persists the position) or,
//! for [`Step::Done`], [`Spooler::complete`]. A file that cannot be read on (malformed input
//! under FAIL, a name already completed, a file that shrank) is set aside: it keeps its name,
//! an error names it and the offset, and the other files go on; it is tried again when it
//! changes or after a restart. A file that shrank was rewritten in place (same inode): read
//! again, its lines get no event ids, since ids derive from the inode and the offsets and
//! its new lines at offsets already committed would repeat them (the file channel would drop
//! them as resends).
//!
//! Nothing is read, renamed or deleted through a symbolic link ([`super::scan`]): a file is
//! opened with `O_NOFOLLOW` and must still be the inode the scan found, and is completed only
//! while its name still names that inode.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use super::config::{DeletePolicy, Deserializer, SpoolDirConfig, TrackingPolicy};
use super::current::{check_size, origin_of, read_blobs, read_lines, Current, FileError};
use super::scan::{order, Candidate, Filter};
use super::tracker::{Position, Tracker, TrackerError};
use crate::agent::atomic_file;
use crate::agent::nofollow;
use crate::agent::source::file_lines::LineBuf;
use crate::agent::source::multiline::{Joiner, Rules};
use sluice_core::Event;

/// What to do next.
#[derive(Debug)]
pub enum Step {
    /// Put these events; after the commit call [`Spooler::committed`] with `pos`.
    Events {
        /// The batch.
        events: Vec<Event>,
        /// Input offset after the batch.
        pos: u64,
    },
    /// Every event of the current file was committed: call [`Spooler::complete`].
    Done,
    /// Nothing to read now.
    Idle,
}

/// A spooldir problem.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The spool directory cannot be listed.
    #[error("spool directory {path} cannot be read: {source}")]
    Dir {
        /// `spoolDir`.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The tracker failed.
    #[error(transparent)]
    Tracker(#[from] TrackerError),
    /// Completing a file failed.
    #[error("completing {path}: {source}")]
    Complete {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Reads a spool directory.
#[derive(Debug)]
pub struct Spooler {
    cfg: Arc<SpoolDirConfig>,
    filter: Filter,
    tracker: Tracker,
    resume: Option<Position>,
    current: Option<Current>,
    /// The rest of the last scan, in consume order.
    queue: Vec<Candidate>,
    set_aside: HashMap<PathBuf, (u64, u64, SystemTime)>,
    /// Files (path, inode) that shrank: rewritten in place, so read again without ids.
    rewritten: HashSet<(PathBuf, u64)>,
    /// `multiline.*`, compiled once.
    multiline: Option<std::sync::Arc<Rules>>,
}

impl Spooler {
    /// A spooler; loads the tracker (a damaged one is reported and ignored).
    pub fn new(cfg: Arc<SpoolDirConfig>) -> Result<Self, regex::Error> {
        let filter = Filter::new(&cfg)?;
        let multiline = cfg.multiline.as_ref().map(Rules::new).transpose()?;
        let tracker = Tracker::new(cfg.tracker_dir.clone());
        let resume = match tracker.load() {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "spooldir tracker unreadable; the file in progress starts again from its beginning");
                None
            }
        };
        Ok(Spooler {
            cfg,
            filter,
            tracker,
            resume,
            current: None,
            queue: Vec::new(),
            set_aside: HashMap::new(),
            rewritten: HashSet::new(),
            multiline,
        })
    }

    fn blob(&self) -> bool {
        matches!(self.cfg.deserializer, Deserializer::Blob { .. })
    }

    fn completed_name(&self, c: &Candidate) -> PathBuf {
        let mut n = c.path.as_os_str().to_owned();
        n.push(&self.cfg.file_suffix);
        PathBuf::from(n)
    }

    fn aside(&mut self, c: &Candidate, why: &str) {
        tracing::error!(file = %c.path.display(), "{why}; the file keeps its name and is skipped until it changes or the agent restarts");
        // Remembered as it is now: it is tried again only once it changes.
        let now = std::fs::metadata(&c.path).map_or((c.inode, c.size, c.mtime), |m| {
            (
                m.ino(),
                m.len(),
                m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            )
        });
        self.set_aside.insert(c.path.clone(), now);
    }

    /// The next candidates: the rest of the last scan, or a new scan when it is used up
    /// (as Flume, so a directory of many files is not listed once per file).
    fn candidates(&mut self) -> Result<Vec<Candidate>, SpoolError> {
        if self.queue.is_empty() || self.resume.is_some() {
            return self
                .filter
                .scan(&self.cfg.spool_dir)
                .map_err(|source| SpoolError::Dir {
                    path: self.cfg.spool_dir.clone(),
                    source,
                });
        }
        // Re-check the rest of the last scan: files may have gone or changed since.
        let rest = std::mem::take(&mut self.queue);
        Ok(rest
            .into_iter()
            .filter_map(|mut c| {
                let m = std::fs::symlink_metadata(&c.path).ok()?;
                c.inode = m.ino();
                c.size = m.len();
                c.mtime = m.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                m.is_file().then_some(c)
            })
            .collect())
    }

    /// Opens the next file to read (the one a tracker position resumes first), setting
    /// aside the ones that cannot be; `false` when none is ready.
    fn open_next(&mut self) -> Result<bool, SpoolError> {
        let mut files = self.ready_files()?;
        let resume = self.resume.take();
        if let Some(r) = &resume {
            if let Some(i) = files
                .iter()
                .position(|c| c.rel == r.file && c.inode == r.inode)
            {
                let c = files.remove(i);
                files.insert(0, c);
            }
        }
        let mut files = files.into_iter();
        while let Some(c) = files.next() {
            let renames = self.cfg.delete_policy == DeletePolicy::Never
                && self.cfg.tracking_policy == TrackingPolicy::Rename;
            if renames && self.completed_name(&c).exists() {
                let why = format!(
                    "file name reused: {} already exists, so this file cannot be completed",
                    self.completed_name(&c).display()
                );
                self.aside(&c, &why);
                continue;
            }
            let file = match nofollow::open_read(&c.path) {
                Ok(f) if f.metadata().is_ok_and(|m| m.ino() == c.inode) => f,
                Ok(_) => {
                    self.aside(
                        &c,
                        "replaced by another file since the directory was listed",
                    );
                    continue;
                }
                Err(e) => {
                    self.aside(&c, &format!("cannot open: {e}"));
                    continue;
                }
            };
            let (mut start, mut origin) = start_of(&c, &file, resume.as_ref());
            if self.rewritten.contains(&(c.path.clone(), c.inode)) {
                tracing::warn!(file = %c.path.display(), "reading a spool file that was rewritten in place from its beginning, its lines without event ids (at least once)");
                (start, origin) = (0, None);
            }
            self.current = Some(self.current_at(c, file, start, origin));
            self.queue = files.collect();
            return Ok(true);
        }
        Ok(false)
    }

    /// The spool directory's files in consuming order, without the ones set aside (unchanged
    /// since) and, with a tracker directory, the ones it marks completed.
    fn ready_files(&mut self) -> Result<Vec<Candidate>, SpoolError> {
        let mut files = self.candidates()?;
        files.retain(|c| self.set_aside.get(&c.path) != Some(&(c.inode, c.size, c.mtime)));
        if self.cfg.delete_policy == DeletePolicy::Never
            && self.cfg.tracking_policy == TrackingPolicy::TrackerDir
        {
            files.retain(|c| !self.tracker.marker(&c.rel, &self.cfg.file_suffix).exists());
        }
        order(&mut files, self.cfg.consume_order);
        Ok(files)
    }

    /// The file `c` being read from `start`, with the origin its event ids derive from.
    fn current_at(&self, c: Candidate, file: File, start: u64, origin: Option<u64>) -> Current {
        let max = match self.cfg.deserializer {
            Deserializer::Line {
                max_line_length, ..
            } => max_line_length,
            Deserializer::Blob { .. } => 1,
        };
        Current {
            lines: LineBuf::new(start, max, false),
            blob_pos: start,
            eof: c.size == 0,
            failed: None,
            grew_logged: false,
            cut_logged: false,
            joiner: self.multiline.clone().map(Joiner::new),
            origin,
            cand: c,
            file,
        }
    }

    /// The next step (see [`Step`]).
    pub fn next_step(&mut self) -> Result<Step, SpoolError> {
        let blob = self.blob();
        let cfg = self.cfg.clone();
        loop {
            if self.current.is_none() && !self.open_next()? {
                return Ok(Step::Idle);
            }
            let Some(cur) = self.current.as_mut() else {
                return Ok(Step::Idle);
            };
            let outcome = if let Some(why) = cur.failed.take() {
                Err(why)
            } else if cur.eof {
                // Everything read was committed: make sure nothing was added meanwhile.
                match check_size(cur, blob) {
                    Ok(false) => return Ok(Step::Done),
                    Ok(true) => {
                        cur.eof = false;
                        continue;
                    }
                    Err(why) => Err(why),
                }
            } else if blob {
                read_blobs(cur, &cfg)
            } else {
                read_lines(cur, &cfg)
            };
            match outcome {
                Ok((events, _)) if events.is_empty() => continue,
                Ok((events, pos)) => return Ok(Step::Events { events, pos }),
                Err(why) => {
                    let c = cur.cand.clone();
                    self.current = None;
                    if matches!(why, FileError::Shrank { .. }) {
                        self.rewritten.insert((c.path.clone(), c.inode));
                        // After a restart too: a position past any size reads it from 0
                        // without ids (`start_of`), until another file's commit replaces it.
                        self.tracker.save(&Position {
                            file: c.rel.clone(),
                            inode: c.inode,
                            pos: u64::MAX,
                        })?;
                    }
                    self.aside(&c, &why.to_string());
                }
            }
        }
    }

    /// A batch of the current file can never be put (an event larger than a channel's
    /// record limit): the file is set aside as other per-file errors are (it keeps its name
    /// and is tried again only when it changes or after a restart); the next file goes on.
    pub(crate) fn set_aside_current(&mut self, why: &str) {
        if let Some(cur) = self.current.take() {
            self.aside(&cur.cand, why);
        }
    }

    /// Records that everything before `pos` in the current file was committed (durably).
    pub fn committed(&mut self, pos: u64) -> Result<(), SpoolError> {
        let Some(cur) = &self.current else {
            return Ok(());
        };
        self.tracker.save(&Position {
            file: cur.cand.rel.clone(),
            inode: cur.cand.inode,
            pos,
        })?;
        Ok(())
    }

    /// Completes the current file: renamed to `<name><fileSuffix>`, deleted, or marked in
    /// `trackerDir`, durably; then the tracker is cleared. Safe to call again after an error.
    pub fn complete(&mut self) -> Result<(), SpoolError> {
        let Some(cur) = &self.current else {
            return Ok(());
        };
        let c = cur.cand.clone();
        let err = |source| SpoolError::Complete {
            path: c.path.clone(),
            source,
        };
        // Only the file that was read: not a link or another file put in its place since.
        let same = std::fs::symlink_metadata(&c.path)
            .map(|m| m.file_type().is_file() && m.ino() == c.inode);
        if let Ok(false) = same {
            tracing::warn!(file = %c.path.display(), "spool file replaced while it was read: its events were sent; what its name names now is left as it is");
            self.rewritten.remove(&(c.path.clone(), c.inode));
            self.current = None;
            self.tracker.clear()?;
            return Ok(());
        }
        match (self.cfg.delete_policy, self.cfg.tracking_policy) {
            (DeletePolicy::Immediate, _) => {
                match std::fs::remove_file(&c.path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(err(e)),
                }
                atomic_file::sync_parent(&c.path).map_err(err)?;
                tracing::info!(file = %c.path.display(), "spool file deleted");
            }
            (DeletePolicy::Never, TrackingPolicy::Rename) => {
                let to = self.completed_name(&c);
                if to.exists() {
                    self.current = None;
                    let why = format!("file name reused: {} appeared while the file was read; its events were sent but the file stays", to.display());
                    self.aside(&c, &why);
                    self.tracker.clear()?;
                    return Ok(());
                }
                std::fs::rename(&c.path, &to).map_err(err)?;
                atomic_file::sync_parent(&to).map_err(err)?;
                tracing::info!(file = %c.path.display(), to = %to.display(), "spool file completed");
            }
            (DeletePolicy::Never, TrackingPolicy::TrackerDir) => {
                self.tracker.mark_done(&c.rel, &self.cfg.file_suffix)?;
                tracing::info!(file = %c.path.display(), "spool file completed (marked in trackerDir)");
            }
        }
        self.rewritten.remove(&(c.path.clone(), c.inode));
        self.current = None;
        self.tracker.clear()?;
        Ok(())
    }
}

/// Where reading `c` starts: the tracker's position when it resumes this file and lies
/// within it, else 0; and the origin of its event ids (none when the file is read again from
/// the beginning, as other bytes were at the offsets read before).
fn start_of(c: &Candidate, file: &File, resume: Option<&Position>) -> (u64, Option<u64>) {
    let mut start = 0;
    let mut origin = file.metadata().ok().and_then(|m| origin_of(&m));
    if let Some(r) = resume.filter(|r| r.file == c.rel && r.inode == c.inode) {
        if r.pos <= c.size {
            start = r.pos;
            tracing::info!(file = %c.path.display(), pos = start, "resuming spool file");
        } else {
            tracing::warn!(file = %c.path.display(), pos = r.pos, size = c.size, "tracker position beyond the end of the file; reading it from the beginning");
            // Other bytes at the offsets read before: their ids must not repeat.
            origin = None;
        }
    }
    (start, origin)
}
