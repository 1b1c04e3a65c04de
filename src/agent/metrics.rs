//! Flume's monitoring counters: one [`CounterGroup`] per component, named as Flume names
//! them (`SOURCE.r1` with `EventReceivedCount`, ...), kept in a [`Registry`] that renders
//! Flume's JSON (every value a string). The registry also holds the agent's alarm board
//! ([`crate::agent::alarm`]), so every part that sees the metrics sees the alarms.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::agent::histogram::{Histogram, HistogramSpec};

/// Source counter names (Flume's SourceCounter).
pub const SOURCE_COUNTERS: &[&str] = &[
    "EventReceivedCount",
    "EventAcceptedCount",
    "AppendReceivedCount",
    "AppendAcceptedCount",
    "AppendBatchReceivedCount",
    "AppendBatchAcceptedCount",
    "OpenConnectionCount",
    "EventReadFail",
    "ChannelWriteFail",
    "GenericProcessingFail",
    "ConnectionRefusedCount",
];

/// Channel counter names (Flume's ChannelCounter); gauges come from the channel.
pub const CHANNEL_COUNTERS: &[&str] = &[
    "EventPutAttemptCount",
    "EventPutSuccessCount",
    "EventTakeAttemptCount",
    "EventTakeSuccessCount",
];

/// Sink counter names (Flume's SinkCounter).
pub const SINK_COUNTERS: &[&str] = &[
    "ConnectionCreatedCount",
    "ConnectionClosedCount",
    "ConnectionFailedCount",
    "BatchEmptyCount",
    "BatchUnderflowCount",
    "BatchCompleteCount",
    "EventDrainAttemptCount",
    "EventDrainSuccessCount",
    "EventWriteFail",
    "ChannelReadFail",
    "EventPoisonCount",
    "EventDeadLetterCount",
];

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
    pub fn new(kind: &'static str, names: &'static [&'static str]) -> Arc<Self> {
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
    pub fn channel() -> Arc<Self> {
        Self::new("CHANNEL", CHANNEL_COUNTERS)
    }

    /// A sink group.
    pub fn sink() -> Arc<Self> {
        Self::new("SINK", SINK_COUNTERS)
    }

    /// Adds `n` to counter `name` (unknown names are a programming error, ignored in release).
    pub fn add(&self, name: &str, n: u64) {
        match self.names.iter().position(|x| *x == name) {
            Some(i) => {
                self.values[i].fetch_add(n, Ordering::Relaxed);
            }
            None => debug_assert!(false, "unknown counter {name}"),
        }
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
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Whether `name` is one of this group's own counters (not a gauge).
    pub fn is_counter(&self, name: &str) -> bool {
        self.names.contains(&name)
    }

    /// The histogram of `spec` in this group, created on first use. Callers keep the `Arc`
    /// and observe into it without touching the group again.
    pub fn histogram(&self, spec: &'static HistogramSpec) -> Arc<Histogram> {
        let mut hs = self.histograms.lock();
        if let Some(h) = hs.iter().find(|h| std::ptr::eq(h.spec(), spec)) {
            return h.clone();
        }
        let h = Arc::new(Histogram::new(spec));
        hs.push(h.clone());
        h
    }

    /// The group's histograms.
    pub fn histograms(&self) -> Vec<Arc<Histogram>> {
        self.histograms.lock().clone()
    }

    /// Sets the gauges shown next to the counters.
    pub fn set_gauges(&self, g: Gauges) {
        *self.gauges.lock() = Some(g);
    }

    /// Records the stop time.
    pub fn stopped(&self) {
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
    pub fn value(&self, key: &str) -> Option<f64> {
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

/// Every component's counters, keyed `TYPE.name`.
#[derive(Debug, Default)]
pub struct Registry {
    groups: Mutex<BTreeMap<String, Arc<CounterGroup>>>,
    /// The agent's name (`-n`), the `agent` label of the Prometheus exposition.
    agent: String,
    alarms: Arc<crate::agent::alarm::AlarmBoard>,
}

impl Registry {
    /// An empty registry of agent `name`.
    pub fn for_agent(name: &str) -> Self {
        Registry {
            groups: Mutex::default(),
            agent: name.to_owned(),
            alarms: Arc::default(),
        }
    }

    /// The agent's name ("" when not given).
    pub fn agent(&self) -> &str {
        &self.agent
    }

    /// Every group with its key `TYPE.name`, in key order.
    pub fn groups(&self) -> Vec<(String, Arc<CounterGroup>)> {
        self.groups
            .lock()
            .iter()
            .map(|(k, g)| (k.clone(), g.clone()))
            .collect()
    }

    /// Registers (or replaces, after a restart) the group of component `name`.
    pub fn register(&self, name: &str, group: Arc<CounterGroup>) {
        let key = format!("{}.{name}", group.kind);
        self.groups.lock().insert(key, group);
    }

    /// Removes a component's group.
    pub fn remove(&self, kind: &str, name: &str) {
        self.groups.lock().remove(&format!("{kind}.{name}"));
    }

    /// The group registered under `TYPE.name`.
    pub fn get(&self, key: &str) -> Option<Arc<CounterGroup>> {
        self.groups.lock().get(key).cloned()
    }

    /// Flume's JSON: `{"SOURCE.r1": {"EventReceivedCount": "3", ...}, ...}`.
    pub fn to_json(&self) -> String {
        let snap: BTreeMap<String, BTreeMap<String, String>> = self
            .groups
            .lock()
            .iter()
            .map(|(k, g)| (k.clone(), g.snapshot()))
            .collect();
        serde_json::to_string(&snap).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The number `key` of component `component` (`CHANNEL.c1`, `ChannelFillPercentage`):
    /// a counter, or a gauge parsed as a number; `None` when not shown.
    pub fn value(&self, component: &str, key: &str) -> Option<f64> {
        self.get(component)?.value(key)
    }

    /// The agent's alarm board (active alarms, notifiers, upstreams).
    pub fn alarms(&self) -> Arc<crate::agent::alarm::AlarmBoard> {
        self.alarms.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_flume_keys_and_string_values() {
        let r = Registry::default();
        let g = CounterGroup::source();
        g.add("EventReceivedCount", 3);
        r.register("r1", g);
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["SOURCE.r1"]["EventReceivedCount"], "3");
        assert_eq!(v["SOURCE.r1"]["Type"], "SOURCE");
    }
}
