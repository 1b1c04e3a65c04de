//! Change events for TAILDIR from the `notify` crate (inotify on Linux): a write to a
//! followed file marks it as having data, anything else in a watched directory (create,
//! delete, rename) asks for a scan. Events only wake the source early; the periodic scan
//! stays the safety net, so a lost event (queue overflow, a file system without inotify)
//! costs latency, never data.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use notify::event::{EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher};
use parking_lot::Mutex;
use tokio::sync::Notify;

/// Most distinct paths remembered between two looks; past it a full scan is asked for.
pub(crate) const DIRTY_PATHS_MAX: usize = 10_000;

/// What changed since the last look.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// Files written to.
    pub paths: Vec<PathBuf>,
    /// A directory changed (or events were lost): scan.
    pub scan: bool,
}

#[derive(Debug, Default)]
struct Dirty {
    paths: HashSet<PathBuf>,
    scan: bool,
}

/// Watches the file groups' directories.
pub(crate) struct DirWatch {
    watcher: Option<notify::RecommendedWatcher>,
    watched: HashSet<PathBuf>,
    dirty: Arc<Mutex<Dirty>>,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for DirWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirWatch")
            .field("active", &self.watcher.is_some())
            .field("watched", &self.watched)
            .finish()
    }
}

impl DirWatch {
    /// Starts a watcher when `enabled` (`watchChanges`); without one (off, or no inotify
    /// instances left) the source polls.
    pub(crate) fn new(source: &str, enabled: bool) -> Self {
        let dirty = Arc::new(Mutex::new(Dirty::default()));
        let wake = Arc::new(Notify::new());
        if !enabled {
            tracing::info!(
                source,
                "watchChanges = false: no change notifications; polling"
            );
            return DirWatch {
                watcher: None,
                watched: HashSet::new(),
                dirty,
                wake,
            };
        }
        let (d, w) = (dirty.clone(), wake.clone());
        let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let mut g = d.lock();
            match res {
                Ok(ev) => match ev.kind {
                    EventKind::Access(_) => return,
                    EventKind::Modify(ModifyKind::Data(_))
                    | EventKind::Modify(ModifyKind::Any)
                    | EventKind::Modify(ModifyKind::Metadata(_)) => {
                        if g.paths.len() + ev.paths.len() > DIRTY_PATHS_MAX {
                            g.paths.clear();
                            g.scan = true;
                        } else {
                            g.paths.extend(ev.paths);
                        }
                    }
                    _ => g.scan = true,
                },
                Err(_) => g.scan = true,
            }
            drop(g);
            w.notify_one();
        });
        let watcher = match watcher {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(source, error = %e, "no change notifications; polling only");
                None
            }
        };
        DirWatch {
            watcher,
            watched: HashSet::new(),
            dirty,
            wake,
        }
    }

    /// Whether change events arrive.
    pub(crate) fn active(&self) -> bool {
        self.watcher.is_some()
    }

    /// Watches the directories not watched yet (one that does not exist yet is tried again
    /// on the next call).
    pub(crate) fn watch(&mut self, dirs: &[PathBuf]) {
        let Some(w) = self.watcher.as_mut() else {
            return;
        };
        for d in dirs {
            if self.watched.contains(d) || !Path::new(d).is_dir() {
                continue;
            }
            match w.watch(d, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    self.watched.insert(d.clone());
                }
                Err(e) => {
                    tracing::warn!(dir = %d.display(), error = %e, "cannot watch directory; it is polled");
                }
            }
        }
    }

    /// Watches exactly `dirs`: the ones not watched yet, and no more the ones watched that
    /// are not in it (a layout's directories gone).
    pub(crate) fn watch_only(&mut self, dirs: &[PathBuf]) {
        let keep: HashSet<&PathBuf> = dirs.iter().collect();
        if let Some(w) = self.watcher.as_mut() {
            self.watched.retain(|d| {
                let kept = keep.contains(d);
                if !kept {
                    // Gone with its directory, usually: the watch went with it.
                    let _ = w.unwatch(d);
                }
                kept
            });
        }
        self.watch(dirs);
    }

    /// Takes the changes seen so far.
    pub(crate) fn take(&self) -> Changes {
        let mut g = self.dirty.lock();
        Changes {
            paths: g.paths.drain().collect(),
            scan: std::mem::take(&mut g.scan),
        }
    }

    /// Resolves when an event arrived (possibly before this call). Cancel safe.
    pub(crate) async fn changed(&self) {
        self.wake.notified().await;
    }
}
