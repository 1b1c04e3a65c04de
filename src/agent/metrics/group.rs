//! One component's metrics: its counters (typed: [`Counter`], one enum per component kind),
//! the gauges it computes on demand and its histograms, rendered with Flume's names.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use super::channel::CHANNEL_COUNTERS;
use super::counter::Counter;
use super::sink::SINK_COUNTERS;
use super::source::SOURCE_COUNTERS;
use crate::agent::histogram::{Histogram, HistogramSpec};

/// Gauges computed on demand (channel size, capacity, ...).
pub type Gauges = Box<dyn Fn() -> Vec<(&'static str, String)> + Send + Sync>;

/// The counters of one component.
pub struct CounterGroup {
    kind: &'static str,
    names: &'static [&'static str],
    values: Vec<AtomicU64>,
    start_ms: AtomicU64,
    stop_ms: AtomicU64,
    gauges: Mutex<Option<Gauges>>,
    /// Histograms Flume lacks (commit latency, batch sizes, RPC latency), by spec.
    histograms: Mutex<Vec<Arc<Histogram>>>,
}

impl std::fmt::Debug for CounterGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CounterGroup")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl CounterGroup {
    /// A group of type `kind` (`SOURCE`, `CHANNEL`, `SINK`) with the given counters, started now.
    pub(crate) fn new(kind: &'static str, names: &'static [&'static str]) -> Arc<Self> {
        Arc::new(CounterGroup {
            kind,
            names,
            values: names.iter().map(|_| AtomicU64::new(0)).collect(),
            start_ms: AtomicU64::new(now_ms()),
            stop_ms: AtomicU64::new(0),
            gauges: Mutex::new(None),
            histograms: Mutex::new(Vec::new()),
        })
    }

    /// A source group.
    pub fn source() -> Arc<Self> {
        Self::new("SOURCE", SOURCE_COUNTERS)
    }

    /// A channel group.
    pub(crate) fn channel() -> Arc<Self> {
        Self::new("CHANNEL", CHANNEL_COUNTERS)
    }

    /// A sink group.
    pub fn sink() -> Arc<Self> {
        Self::new("SINK", SINK_COUNTERS)
    }

    /// Adds `n` to counter `c` (a counter of another kind of group is a programming error:
    /// caught in debug builds, and by each kind's test of its indices).
    pub(crate) fn add<C: Counter>(&self, c: C, n: u64) {
        let i = c.index();
        debug_assert_eq!(
            (self.kind, self.names.get(i).copied()),
            (C::KIND, Some(c.flume_name())),
            "counter {c:?} is not one of this group's"
        );
        if let Some(v) = self.values.get(i) {
            v.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// The value of counter `c`.
    #[cfg(test)]
    pub(crate) fn count<C: Counter>(&self, c: C) -> u64 {
        self.values
            .get(c.index())
            .map_or(0, |v| v.load(Ordering::Relaxed))
    }

    /// The value of counter `name` (0 if unknown).
    pub fn get(&self, name: &str) -> u64 {
        self.names
            .iter()
            .position(|x| *x == name)
            .map(|i| self.values[i].load(Ordering::Relaxed))
            .unwrap_or(0)
    }

    /// `SOURCE`, `CHANNEL` or `SINK`.
    pub(crate) fn kind(&self) -> &'static str {
        self.kind
    }

    /// Whether `name` is one of this group's own counters (not a gauge).
    pub(crate) fn is_counter(&self, name: &str) -> bool {
        self.names.contains(&name)
    }

    /// The histogram of `spec` in this group, created on first use. Callers keep the `Arc`
    /// and observe into it without touching the group again.
    pub(crate) fn histogram(&self, spec: &'static HistogramSpec) -> Arc<Histogram> {
        let mut hs = self.histograms.lock();
        if let Some(h) = hs.iter().find(|h| std::ptr::eq(h.spec(), spec)) {
            return h.clone();
        }
        let h = Arc::new(Histogram::new(spec));
        hs.push(h.clone());
        h
    }

    /// The group's histograms.
    pub(crate) fn histograms(&self) -> Vec<Arc<Histogram>> {
        self.histograms.lock().clone()
    }

    /// Sets the gauges shown next to the counters.
    pub(crate) fn set_gauges(&self, g: Gauges) {
        *self.gauges.lock() = Some(g);
    }

    /// Records the stop time.
    pub(crate) fn stopped(&self) {
        self.stop_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// Every attribute as a string, as Flume's JSON reporter shows it.
    pub fn snapshot(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("Type".into(), self.kind.to_owned());
        m.insert(
            "StartTime".into(),
            self.start_ms.load(Ordering::Relaxed).to_string(),
        );
        m.insert(
            "StopTime".into(),
            self.stop_ms.load(Ordering::Relaxed).to_string(),
        );
        for (n, v) in self.names.iter().zip(&self.values) {
            m.insert((*n).to_owned(), v.load(Ordering::Relaxed).to_string());
        }
        if let Some(g) = self.gauges.lock().as_ref() {
            for (k, v) in g() {
                m.insert(k.to_owned(), v);
            }
        }
        m
    }

    /// The value of counter or gauge `key` as a number (`true`/`false` as 1/0), if shown.
    pub(crate) fn value(&self, key: &str) -> Option<f64> {
        if let Some(i) = self.names.iter().position(|x| *x == key) {
            return Some(self.values[i].load(Ordering::Relaxed) as f64);
        }
        let gauges = self.gauges.lock();
        let g = gauges.as_ref()?;
        let (_, v) = g().into_iter().find(|(k, _)| *k == key)?;
        match v.as_str() {
            "true" => Some(1.0),
            "false" => Some(0.0),
            v => v.parse().ok(),
        }
    }
}
