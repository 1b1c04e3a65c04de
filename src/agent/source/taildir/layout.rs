//! A layout: what a source built on TAILDIR's machinery (positions after commit, rotation by
//! rename, the spool, loss counted to the line) changes in it, the `kubernetes` source's
//! node tree being the one there is. A layout names the directories to follow (asked again
//! before every scan: pods and containers come and go), joins the lines (runtime partial
//! lines), turns each joined line into its events (parsed body, metadata headers) and, at
//! start, finds the content of a file that left its name while the source was down (kubelet
//! gzipped it): see `tailer/copies.rs` for how such a copy is read on from the saved position.
//!
//! A layout keeps no position and reads no file for the tailer: the tailer reads, the task
//! commits and moves positions exactly as for `TAILDIR`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use regex::Regex;
use sluice_core::Headers;

use super::fingerprint::Fingerprint;
use super::position::PosEntry;
use crate::agent::source::file_lines::Line;
use crate::agent::source::multiline::Rules;

/// One directory to follow now, with the pattern its files' names match.
#[derive(Debug, Clone)]
pub(crate) struct LaidDir {
    /// The directory.
    pub dir: PathBuf,
    /// The file-name pattern (matched against the whole name): one shared by every
    /// directory, since a clone of a `Regex` has its own pool of match caches and a node's
    /// thousands of directories each held one.
    pub regex: std::sync::Arc<Regex>,
}

/// What a source built on TAILDIR changes in it (see the module docs).
pub(crate) trait Layout: Send + Sync + std::fmt::Debug {
    /// The directories to follow now (called before every scan).
    fn dirs(&self) -> Vec<LaidDir>;
    /// The directories to watch for changes, when they changed since `generation` (which
    /// is moved on); `None` when they did not.
    fn watched_since(&self, generation: &mut u64) -> Option<Vec<PathBuf>>;
    /// The rules joining a file's lines into events, if any.
    fn rules(&self) -> Option<Arc<Rules>>;
    /// The events of (joined) lines read from the file named `path`, one batch of them:
    /// headers and body each, in order, appended to `out`, at least one per line, with how
    /// many each line made pushed to `per_line` (a batch, not a line, per call: what a file's
    /// events share is found once).
    fn events(
        &self,
        path: &Path,
        lines: Vec<Line>,
        out: &mut Vec<(Headers, Vec<u8>)>,
        per_line: &mut Vec<usize>,
    );
    /// Writes to `into` (fsynced) the whole content of the file `saved` names when that name
    /// no longer holds it but its content is found elsewhere (kubelet's `.gz`), checked
    /// against `fp` when there is one; where it was found.
    fn uncompress(
        &self,
        saved: &PosEntry,
        fp: Option<&Fingerprint>,
        into: &Path,
    ) -> Option<PathBuf>;
    /// Files never seen under a name that came after those in `held` (where
    /// [`Layout::uncompress`] found the content of saved live files): kubelet's `.gz` files of
    /// the same container rotated later, oldest first; and, when the source gave its last
    /// origin at `since` (before this start), the `.gz` files of the directories it reads
    /// that were made after that, none of whose lines can have been sent.
    fn unseen(&self, held: &[PathBuf], since: Option<std::time::SystemTime>) -> Vec<PathBuf>;
    /// Writes the whole content of `found` (one of [`Layout::unseen`]) to `into` (fsynced);
    /// the origin its events' ids take, the same for the same file and content.
    fn uncompress_whole(&self, found: &Path, into: &Path) -> std::io::Result<u64>;
    /// The directories that left the layout's [`Layout::dirs`] whose files are still read
    /// (through held descriptors), told after every scan.
    fn still_read(&self, _dirs: &[PathBuf]) {}
    /// The layout's own gauges (name, value).
    fn gauges(&self) -> Vec<(&'static str, String)>;
}

/// A layout in a [`super::TaildirConfig`]: equal only to itself.
#[derive(Clone)]
pub(crate) struct LayoutRef(pub Arc<dyn Layout>);

impl std::fmt::Debug for LayoutRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for LayoutRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for LayoutRef {}
