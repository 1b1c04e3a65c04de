//! Where the API's metadata meets the node's tree (used by the layout, `node.rs`):
//!
//! - **Which pod directories are followed.** A pod the watch knows is followed unless it is
//!   annotated `sluice.io/exclude: "true"`, and its containers listed in
//!   `sluice.io/exclude-containers` are not. A pod the watch does not know yet is not
//!   followed for up to `metadataWait` after it was first seen (its lines wait in its files:
//!   nothing is lost), then followed with its path's metadata alone; while the API server does
//!   not answer it is followed at once. The first scan waits (up to `metadataWait`, on the
//!   blocking pool) for the first list, and follows every pod then in the tree at once, known
//!   or not: the files of a pod deleted while the agent was down keep their saved positions
//!   (a scan that does not find a saved file counts it lost).
//! - **Each file's headers.** The pod's headers ([`PodMeta::headers`]) are added to the
//!   path's (once per file and store generation, `node.rs`); an event of a pod the watch does
//!   not know is counted (`EventsWithoutApiMetadataCount`).
//! - **How long a deleted pod's metadata is kept**: until its directory is gone from the
//!   tree and no file of it is still read through a held descriptor ([`Join::still_read`]).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sluice_core::Headers;

use super::api::pod::PodMeta;
use super::api::Store;
use super::path;

/// Whether a pod directory is followed now.
#[derive(Debug)]
pub(crate) enum Follow {
    /// Not yet: its metadata may still come.
    Wait,
    /// Never: `sluice.io/exclude`.
    Skip,
    /// Yes, with the pod's metadata when the watch knows it.
    Yes(Option<Arc<PodMeta>>),
}

/// The API's side of one layout (see the module docs).
#[derive(Debug)]
pub(crate) struct Join {
    store: Arc<Store>,
    /// Pods in the tree the watch did not know yet, and when each was first seen.
    first_seen: Mutex<HashMap<String, Instant>>,
    /// Pods whose files are still read though their directory left the tree.
    reading: Mutex<HashSet<String>>,
    /// Whether the first scan happened.
    started: AtomicBool,
}

impl Join {
    /// The join of `store`.
    pub(crate) fn new(store: Arc<Store>) -> Join {
        Join {
            store,
            first_seen: Mutex::default(),
            reading: Mutex::default(),
            started: AtomicBool::new(false),
        }
    }

    /// Whether this is the first scan; if so, waits (up to `metadataWait`) for the first
    /// list of the node's pods, or for the API server to fail.
    pub(crate) fn first_scan(&self) -> bool {
        if self.started.swap(true, Ordering::AcqRel) {
            return false;
        }
        let end = Instant::now() + self.store.wait;
        while !self.store.synced() && !self.store.is_down() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }

    /// Whether the pod `uid` is followed now (`first`: in the first scan).
    pub(crate) fn follow(&self, uid: &str, now: Instant, first: bool) -> Follow {
        if let Some(m) = self.store.get(uid) {
            self.first_seen.lock().remove(uid);
            return if m.excluded {
                Follow::Skip
            } else {
                Follow::Yes(Some(m))
            };
        }
        if first || self.store.is_down() {
            return Follow::Yes(None);
        }
        let mut seen = self.first_seen.lock();
        let first = *seen.entry(uid.to_owned()).or_insert(now);
        if now.saturating_duration_since(first) < self.store.wait {
            Follow::Wait
        } else {
            Follow::Yes(None)
        }
    }

    /// After a scan that found the pods `in_tree`: forgets the others' first sightings and
    /// drops the deleted pods no file of which is still read.
    pub(crate) fn scanned(&self, in_tree: &HashSet<String>) {
        self.first_seen
            .lock()
            .retain(|uid, _| in_tree.contains(uid));
        let reading = self.reading.lock().clone();
        self.store
            .prune(|uid| in_tree.contains(uid) || reading.contains(uid));
    }

    /// The container directories whose files are still read though they left the tree.
    pub(crate) fn still_read(&self, dirs: &[PathBuf]) {
        let uids = dirs
            .iter()
            .filter_map(|d| d.parent()?.file_name()?.to_str())
            .filter_map(path::pod_dir)
            .map(|p| p.uid)
            .collect();
        *self.reading.lock() = uids;
    }

    /// The store's generation: moved on at every change of the pods, so headers made from
    /// it are made again after one.
    pub(crate) fn generation(&self) -> u64 {
        self.store.generation()
    }

    /// Adds the pod `uid`'s metadata to `h`; false when the watch does not know the pod.
    pub(crate) fn pod_headers(&self, uid: &str, h: &mut Headers) -> bool {
        match self.store.get(uid) {
            Some(m) => {
                for (k, v) in &m.headers {
                    h.insert(k, v);
                }
                true
            }
            None => false,
        }
    }

    /// Counts `n` events that went without the API's metadata.
    pub(crate) fn count_without(&self, n: u64) {
        self.store.count_without(n);
    }

    /// The store's gauges.
    pub(crate) fn gauges(&self) -> Vec<(&'static str, String)> {
        self.store.gauges()
    }
}
