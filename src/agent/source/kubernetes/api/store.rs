//! What the watch knows, shared with the layout: the node's pods by uid ([`PodMeta`]), whether
//! the API server answers (and why not, for the WARN, `/health` and the gauges), and the count
//! of events sent without the API's metadata.
//!
//! Memory is bounded by the node's pods: only pods of this node are listed and watched, a
//! deleted pod is marked and dropped once its directory is gone from the tree and no file of
//! it is still read ([`Store::prune`]), and a relist marks every pod it no longer holds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use super::pod::PodMeta;

/// Gauge: events sent without the API's metadata (the pod unknown when its lines were read).
pub(crate) const EVENTS_WITHOUT_API_METADATA: &str = "EventsWithoutApiMetadataCount";
/// Gauge: milliseconds the API server has not answered as it should (0 while it does).
pub(crate) const API_DOWN_MILLIS: &str = "ApiServerDownMillis";
/// Text gauge: why, naming the API server and the HTTP status (empty while it answers).
pub(crate) const API_DOWN_REASON: &str = "ApiServerDownReason";
/// Gauge: pods whose metadata the source holds.
pub(crate) const PODS_KNOWN: &str = "PodsWithMetadata";

/// One pod, and whether the API said it was deleted.
#[derive(Debug)]
struct Entry {
    meta: Arc<PodMeta>,
    deleted: bool,
}

/// The shared state of one source's watch (see the module docs).
#[derive(Debug)]
pub(crate) struct Store {
    /// The API server, as logs and `/health` name it.
    pub server: String,
    /// How long an unknown pod's files wait for its metadata.
    pub wait: Duration,
    pods: RwLock<HashMap<String, Entry>>,
    /// Moved on at every change of `pods` (the layout's caches check it).
    generation: AtomicU64,
    /// Since when and why the API server does not answer as it should.
    down: Mutex<Option<(Instant, String)>>,
    without: AtomicU64,
    /// Whether a list was taken.
    synced: AtomicBool,
}

impl Store {
    /// An empty store for `server`.
    pub(crate) fn new(server: String, wait: Duration) -> Store {
        Store {
            server,
            wait,
            pods: RwLock::default(),
            generation: AtomicU64::new(1),
            down: Mutex::new(None),
            without: AtomicU64::new(0),
            synced: AtomicBool::new(false),
        }
    }

    /// The store's generation (moved on at every change of the pods).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The metadata of the pod `uid`, if the watch knows it (deleted or not).
    pub(crate) fn get(&self, uid: &str) -> Option<Arc<PodMeta>> {
        self.pods.read().get(uid).map(|e| e.meta.clone())
    }

    /// A pod added or changed.
    pub(crate) fn upsert(&self, meta: PodMeta) {
        let uid = meta.uid.clone();
        let e = Entry {
            meta: Arc::new(meta),
            deleted: false,
        };
        self.pods.write().insert(uid, e);
        self.changed();
    }

    /// A pod deleted: its metadata is kept until [`Store::prune`] finds its files done.
    pub(crate) fn delete(&self, meta: PodMeta) {
        let uid = meta.uid.clone();
        let e = Entry {
            meta: Arc::new(meta),
            deleted: true,
        };
        self.pods.write().insert(uid, e);
        self.changed();
    }

    /// A full list: every pod of it added or changed, every other marked deleted.
    pub(crate) fn relisted(&self, pods: Vec<PodMeta>) {
        let mut map = self.pods.write();
        for e in map.values_mut() {
            e.deleted = true;
        }
        for m in pods {
            let uid = m.uid.clone();
            map.insert(
                uid,
                Entry {
                    meta: Arc::new(m),
                    deleted: false,
                },
            );
        }
        drop(map);
        self.synced.store(true, Ordering::Release);
        self.changed();
    }

    /// Whether a list of the node's pods was taken.
    pub(crate) fn synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    /// Drops the deleted pods `keep` does not hold (their directory gone from the tree, no
    /// file of them still read).
    pub(crate) fn prune(&self, keep: impl Fn(&str) -> bool) {
        let mut map = self.pods.write();
        let before = map.len();
        map.retain(|uid, e| !e.deleted || keep(uid));
        if map.len() != before {
            drop(map);
            self.changed();
        }
    }

    /// The API server answered as it should: logged at INFO when it did not before.
    pub(crate) fn set_up(&self) {
        if let Some((since, why)) = self.down.lock().take() {
            tracing::info!(
                api_server = %self.server,
                down_s = since.elapsed().as_secs(),
                "the API server answers again; pod metadata follows (it did not: {why})"
            );
        }
    }

    /// The API server did not answer as it should: `why` names it and the HTTP status;
    /// logged at WARN when the reason changes.
    pub(crate) fn set_down(&self, why: String) {
        let mut d = self.down.lock();
        if d.as_ref().is_some_and(|(_, w)| *w == why) {
            return;
        }
        tracing::warn!(
            api_server = %self.server,
            "{why}; lines go on with their path's metadata (counted in {EVENTS_WITHOUT_API_METADATA})"
        );
        let since = d.as_ref().map_or_else(Instant::now, |(s, _)| *s);
        *d = Some((since, why));
    }

    /// Whether the API server does not answer as it should now.
    pub(crate) fn is_down(&self) -> bool {
        self.down.lock().is_some()
    }

    /// Counts one event sent without the API's metadata.
    pub(crate) fn count_without(&self, n: u64) {
        self.without.fetch_add(n, Ordering::Relaxed);
    }

    /// The store's gauges.
    pub(crate) fn gauges(&self) -> Vec<(&'static str, String)> {
        let (ms, why) = match &*self.down.lock() {
            Some((since, why)) => (since.elapsed().as_millis().max(1), why.clone()),
            None => (0, String::new()),
        };
        vec![
            (
                EVENTS_WITHOUT_API_METADATA,
                self.without.load(Ordering::Relaxed).to_string(),
            ),
            (API_DOWN_MILLIS, ms.to_string()),
            (API_DOWN_REASON, why),
            (PODS_KNOWN, self.pods.read().len().to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(uid: &str) -> PodMeta {
        PodMeta {
            uid: uid.to_owned(),
            headers: Vec::new(),
            excluded: false,
            excluded_containers: Vec::new(),
        }
    }

    #[test]
    fn a_deleted_pod_is_kept_until_prune_finds_its_files_done_and_a_relist_marks_the_missing() {
        let s = Store::new("https://k".into(), Duration::from_secs(5));
        s.upsert(meta("a"));
        s.upsert(meta("b"));
        s.delete(meta("a"));
        s.prune(|uid| uid == "a");
        assert!(s.get("a").is_some());
        s.prune(|_| false);
        assert!(s.get("a").is_none() && s.get("b").is_some());
        s.relisted(vec![meta("c")]);
        s.prune(|_| false);
        assert!(s.get("b").is_none() && s.get("c").is_some());
    }

    #[test]
    fn down_is_served_as_gauges_until_up() {
        let s = Store::new("https://k".into(), Duration::from_secs(5));
        s.set_down("HTTP 401".into());
        assert!(s.is_down());
        let g = s.gauges();
        assert!(g
            .iter()
            .any(|(k, v)| *k == API_DOWN_REASON && v == "HTTP 401"));
        s.set_up();
        assert!(!s.is_down());
    }
}
