//! The node's tree of container logs as a TAILDIR layout (`taildir/layout.rs`): every
//! `<podLogsDir>/<pod dir>/<container>` directory that `include`/`exclude` let through is
//! followed (its `<n>.log` and rotated `<n>.log.<time>`), partial lines are joined
//! ([`super::format::is_partial`], split at `maxLineBytes`), and each joined line becomes its
//! messages with the path's metadata ([`super::path`]) and, with an API server, the pod's
//! ([`super::join`]: which pods are followed, the headers added, a deleted pod's metadata kept
//! while its files are read).
//!
//! Directories are listed without following links: a symbolic link planted in the tree (a
//! pod or container directory that is a link) is not entered, only named once at WARN (with
//! `followSymlinks = true` it is). A pod directory's listing is cached while its mtime holds.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::Mutex;
use regex::Regex;
use sluice_core::Headers;

use super::format::{self, Message};
use super::join::{Follow, Join};
use super::path::{self, names};
use crate::agent::source::file_lines::Line;
use crate::agent::source::multiline::Rules;
use crate::agent::source::taildir::layout::{LaidDir, Layout};

/// The node's tree, as the layout reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NodeConfig {
    /// `podLogsDir` (default `/var/log/pods`).
    pub pod_logs_dir: PathBuf,
    /// `include`: globs on `namespace/pod/container`; empty = every container.
    pub include: Vec<String>,
    /// `exclude`: globs on `namespace/pod/container`, applied after `include`.
    pub exclude: Vec<String>,
    /// `maxLineBytes` (default 1 MiB): partial lines are joined up to
    /// this; a longer line goes out in events of at most this many bytes, each marked.
    pub max_line_bytes: usize,
    /// `followSymlinks` (default false): whether links in the tree are entered.
    pub follow_symlinks: bool,
    /// `fileHeader` (default false, as TAILDIR's): whether each event carries its file's path
    /// in `log.file.path` (the pod, container and restart headers already name the file).
    pub file_header: bool,
}

/// Most bytes of partial lines all files may hold at once (the joiner's `maxHeldBytes`).
pub(crate) const HELD_BYTES_MAX: u64 = 64 << 20;
/// How long the first parts of a line wait for its last before they go out alone (cut).
pub(crate) const PARTIAL_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The headers every event of one file carries (the path's metadata, the pod's from the API,
/// the restart count and, with `fileHeader`, the file's path), made once per file and store generation and
/// copied per event, which adds only its stream, time and marks.
#[derive(Debug)]
struct FileHeaders {
    path: PathBuf,
    /// The store's generation they were made at (0 without an API server).
    generation: u64,
    headers: Headers,
    /// Whether they hold the pod's metadata from the API (else each event is counted).
    from_api: bool,
}

/// Pairs and text bytes an event adds to its file's headers: `log.iostream`, `timestamp`, and
/// a mark (`log.parse_error` or `log.cut`).
const EVENT_PAIRS: usize = 3;
const EVENT_TEXT: usize = 100;

/// The layout of one `kubernetes` source.
#[derive(Debug)]
pub(crate) struct NodeLayout {
    cfg: NodeConfig,
    regex: Arc<Regex>,
    rules: Arc<Rules>,
    /// Pod directories' container listings, with the mtime they were listed at.
    pods: Mutex<HashMap<PathBuf, (SystemTime, Vec<String>)>>,
    /// The container directories followed now, and a generation moved on when they change.
    followed: Mutex<(u64, Vec<PathBuf>)>,
    /// The headers of the file whose lines were turned into events last.
    last: Mutex<Option<Arc<FileHeaders>>>,
    /// Links and unparsable names already named at WARN.
    warned: Mutex<HashSet<PathBuf>>,
    /// Lines that were neither CRI nor json-file (sent whole).
    unparsed: AtomicU64,
    /// Events that hold a cut line's part.
    cut: AtomicU64,
    /// The API's metadata (`None`: `apiServer = none`).
    join: Option<Join>,
}

/// Gauge: lines that were neither format, sent whole with `log.parse_error`.
pub(crate) const LINES_UNPARSED: &str = "LinesUnparsedCount";
/// Gauge: events holding part of a line cut at `maxLineBytes` (or left open).
pub(crate) const LINES_CUT: &str = "LinesCutCount";

impl NodeLayout {
    /// The layout of `cfg`.
    pub(crate) fn new(
        cfg: NodeConfig,
        store: Option<Arc<super::api::Store>>,
    ) -> Result<Self, regex::Error> {
        let rules = Rules::split_by(
            format::is_partial,
            cfg.max_line_bytes,
            PARTIAL_WAIT,
            HELD_BYTES_MAX,
        );
        Ok(NodeLayout {
            regex: Arc::new(Regex::new(path::LOG_FILE_PATTERN)?),
            rules,
            cfg,
            pods: Mutex::default(),
            followed: Mutex::default(),
            last: Mutex::default(),
            warned: Mutex::default(),
            unparsed: AtomicU64::new(0),
            cut: AtomicU64::new(0),
            join: store.map(Join::new),
        })
    }

    /// Names `what` at WARN once.
    fn warn_once(&self, p: &Path, what: &str) {
        let mut w = self.warned.lock();
        if w.len() < 10_000 && w.insert(p.to_path_buf()) {
            tracing::warn!(path = %p.display(), "{what}");
        }
    }

    /// The subdirectories of `dir` (not links, unless `followSymlinks`).
    fn subdirs(&self, dir: &Path) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            let is_dir = if ft.is_symlink() {
                if !self.cfg.follow_symlinks {
                    self.warn_once(&e.path(), "a symbolic link in the pod log tree; not followed (followSymlinks = false)");
                    continue;
                }
                e.path().is_dir()
            } else {
                ft.is_dir()
            };
            if is_dir {
                if let Some(n) = e.file_name().to_str() {
                    out.push(n.to_owned());
                }
            }
        }
        out.sort();
        out
    }

    /// The container directories of the pod directory `pod` (cached while its mtime holds),
    /// its listing kept in `seen`.
    fn containers(
        &self,
        pod: &Path,
        seen: &mut HashMap<PathBuf, (SystemTime, Vec<String>)>,
    ) -> Vec<String> {
        let mtime = std::fs::symlink_metadata(pod)
            .and_then(|m| m.modified())
            .ok();
        let cached = self
            .pods
            .lock()
            .get(pod)
            .filter(|(cmt, _)| Some(*cmt) == mtime)
            .map(|(_, l)| l.clone());
        let list = cached.unwrap_or_else(|| self.subdirs(pod));
        if let Some(mt) = mtime {
            seen.insert(pod.to_path_buf(), (mt, list.clone()));
        }
        list
    }

    /// Whether `namespace/pod/container` passes `include` and `exclude`.
    fn wanted(&self, key: &str) -> bool {
        let inc = &self.cfg.include;
        (inc.is_empty() || inc.iter().any(|g| path::glob(g, key)))
            && !self.cfg.exclude.iter().any(|g| path::glob(g, key))
    }

    /// The headers of the file `p`'s events (cached for the file read last, while the
    /// store's generation holds).
    fn file_headers(&self, p: &Path) -> Arc<FileHeaders> {
        let generation = self.join.as_ref().map_or(0, Join::generation);
        let mut last = self.last.lock();
        if let Some(f) = last.as_ref() {
            // Bytes, not `Path`'s component-wise `==`: this runs per line.
            if f.path.as_os_str() == p.as_os_str() && f.generation == generation {
                return f.clone();
            }
        }
        let restart = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(path::restart_count);
        let cdir = p.parent();
        let container = cdir
            .and_then(|d| d.file_name())
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let pod = cdir
            .and_then(|d| d.parent())
            .and_then(|d| d.file_name())
            .and_then(|n| n.to_str())
            .and_then(path::pod_dir);
        let mut h = Headers::with_capacity(16);
        if let Some(pd) = &pod {
            h.insert(names::NAMESPACE, &pd.namespace);
            h.insert(names::POD, &pd.pod);
            h.insert(names::POD_UID, &pd.uid);
        }
        h.insert(names::CONTAINER, container);
        let from_api = match (&self.join, &pod) {
            (Some(j), Some(pd)) => j.pod_headers(&pd.uid, &mut h),
            _ => false,
        };
        if let Some(r) = restart {
            h.insert(names::RESTART_COUNT, r.to_string());
        }
        if self.cfg.file_header {
            h.insert(names::FILE_PATH, p.to_string_lossy());
        }
        // Kept in key order, so the pairs each event adds after them (`log.iostream`,
        // `timestamp`) keep the text in key order too and the WAL's encoder iterates it
        // without sorting.
        let mut sorted = Headers::with_capacity(h.len() + EVENT_PAIRS);
        for (k, v) in h.iter() {
            sorted.insert(k, v);
        }
        let f = Arc::new(FileHeaders {
            path: p.to_path_buf(),
            generation,
            headers: sorted,
            from_api,
        });
        *last = Some(f.clone());
        f
    }

    /// An event's headers: its file's, then its stream, time and marks.
    fn headers(&self, file: &FileHeaders, m: &Message) -> Headers {
        let mut h = file.headers.clone_with_room(EVENT_PAIRS, EVENT_TEXT);
        if let Some(s) = m.stream {
            h.insert(names::IOSTREAM, s.as_str());
        }
        if let Some(t) = m.time_ms {
            h.insert("timestamp", itoa::Buffer::new().format(t));
        }
        if m.unparsed {
            self.unparsed.fetch_add(1, Ordering::Relaxed);
            h.insert(
                PARSE_ERROR,
                "neither a CRI nor a docker json-file line; sent whole",
            );
        }
        if m.cut {
            self.cut.fetch_add(1, Ordering::Relaxed);
            h.insert(CUT, "true");
        }
        h
    }
}

/// Header on a line that was neither format.
pub(crate) const PARSE_ERROR: &str = "log.parse_error";
/// Header on an event holding part of a line (cut at `maxLineBytes`, or left open).
pub(crate) const CUT: &str = "log.cut";

impl Layout for NodeLayout {
    fn dirs(&self) -> Vec<LaidDir> {
        let root = &self.cfg.pod_logs_dir;
        let mut seen = HashMap::new();
        let mut dirs = Vec::new();
        let now = std::time::Instant::now();
        let mut uids = HashSet::new();
        let first = self.join.as_ref().is_some_and(Join::first_scan);
        for pod_name in self.subdirs(root) {
            let pod_path = root.join(&pod_name);
            let pod = path::pod_dir(&pod_name);
            if pod.is_none() {
                self.warn_once(&pod_path, "a directory in podLogsDir whose name is not <namespace>_<pod>_<uid>; its logs are read without pod metadata");
            }
            let follow = match (&self.join, &pod) {
                (Some(j), Some(p)) => {
                    uids.insert(p.uid.clone());
                    j.follow(&p.uid, now, first)
                }
                _ => Follow::Yes(None),
            };
            let meta = match follow {
                Follow::Wait | Follow::Skip => continue,
                Follow::Yes(m) => m,
            };
            let skip: &[String] = meta
                .as_ref()
                .map_or(&[][..], |m| m.excluded_containers.as_slice());
            for c in self.containers(&pod_path, &mut seen) {
                if skip.contains(&c) {
                    continue;
                }
                let key = match &pod {
                    Some(p) => format!("{}/{}/{c}", p.namespace, p.pod),
                    None => format!("/{pod_name}/{c}"),
                };
                if self.wanted(&key) {
                    dirs.push(LaidDir {
                        dir: pod_path.join(&c),
                        regex: self.regex.clone(),
                    });
                }
            }
        }
        *self.pods.lock() = seen;
        if let Some(j) = &self.join {
            j.scanned(&uids);
        }
        let mut f = self.followed.lock();
        let now: Vec<PathBuf> = dirs.iter().map(|d| d.dir.clone()).collect();
        if f.1 != now {
            f.0 += 1;
            f.1 = now;
        }
        dirs
    }

    fn watched_since(&self, generation: &mut u64) -> Option<Vec<PathBuf>> {
        let f = self.followed.lock();
        if f.0 == *generation && *generation != 0 {
            return None;
        }
        *generation = f.0.max(1);
        let mut dirs = vec![self.cfg.pod_logs_dir.clone()];
        let pods: HashSet<&Path> = f.1.iter().filter_map(|d| d.parent()).collect();
        dirs.extend(pods.into_iter().map(Path::to_path_buf));
        dirs.extend(f.1.iter().cloned());
        Some(dirs)
    }

    fn rules(&self) -> Option<Arc<Rules>> {
        Some(self.rules.clone())
    }

    fn events(
        &self,
        path: &Path,
        lines: Vec<Line>,
        out: &mut Vec<(Headers, Vec<u8>)>,
        per_line: &mut Vec<usize>,
    ) {
        let file = self.file_headers(path);
        let start = out.len();
        let mut msgs = Vec::new();
        for line in lines {
            let (cut, before) = (!line.complete, out.len());
            match format::whole_cri_line(line.bytes, cut) {
                Ok(m) => out.push((self.headers(&file, &m), m.body)),
                Err(bytes) => {
                    format::messages(&bytes, cut, &mut msgs);
                    for m in msgs.drain(..) {
                        out.push((self.headers(&file, &m), m.body));
                    }
                }
            }
            per_line.push(out.len() - before);
        }
        if let (Some(j), false) = (&self.join, file.from_api) {
            j.count_without((out.len() - start) as u64);
        }
    }

    fn uncompress(
        &self,
        saved: &crate::agent::source::taildir::position::PosEntry,
        fp: Option<&crate::agent::source::taildir::fingerprint::Fingerprint>,
        into: &Path,
    ) -> Option<PathBuf> {
        super::gunzip::uncompress(&self.cfg.pod_logs_dir, saved, fp, into)
    }

    fn unseen(&self, held: &[PathBuf], since: Option<SystemTime>) -> Vec<PathBuf> {
        let root = &self.cfg.pod_logs_dir;
        let mut out = super::gunzip::unseen(root, held);
        if let Some(since) = since {
            let dirs = self.followed.lock().1.clone();
            for gz in super::gunzip::of_new_dirs(root, &dirs, since) {
                if !out.contains(&gz) {
                    out.push(gz);
                }
            }
        }
        out
    }

    fn uncompress_whole(&self, found: &Path, into: &Path) -> std::io::Result<u64> {
        super::gunzip::whole(&self.cfg.pod_logs_dir, found, into)
    }

    fn still_read(&self, dirs: &[PathBuf]) {
        if let Some(j) = &self.join {
            j.still_read(dirs);
        }
    }

    fn gauges(&self) -> Vec<(&'static str, String)> {
        let mut g = vec![
            (
                LINES_UNPARSED,
                self.unparsed.load(Ordering::Relaxed).to_string(),
            ),
            (LINES_CUT, self.cut.load(Ordering::Relaxed).to_string()),
        ];
        if let Some(j) = &self.join {
            g.extend(j.gauges());
        }
        g
    }
}
