//! Alarms: rules on metrics ([`rule`], sampled by [`evaluator`]), the upstream-gone alarm of
//! the RPC sources ([`upstreams`]), the lines-lost alarm of the file sources ([`loss`]), and the [`AlarmBoard`] that holds the active alarms,
//! writes a log line per raise (WARN, ERROR for `error`/`critical`) and per clear (INFO), and
//! hands a [`Notice`] to the notifiers ([`notify`]: bounded queues, never blocking the caller).
//! `GET /alarms` lists the board ([`http`]).
//!
//! The runtime creates one board per agent and hands it to the metrics server, the sources
//! and the evaluator; the board reads the metrics registry, never the other way round. It is
//! in memory only: an agent restart forgets the active alarms and the remembered upstreams.

pub(crate) mod body;
pub(crate) mod config;
pub(crate) mod evaluator;
pub(crate) mod http;
pub(crate) mod loss;
pub(crate) mod notice;
pub(crate) mod notify;
pub(crate) mod rule;
pub(crate) mod upstreams;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use crate::agent::alarm::config::{AlarmSeverity, NotifierConfig};
use crate::agent::metrics::CounterGroup;
pub(crate) use notice::{
    now_ms, Alarm, AlarmCounter, Notice, NoticeState, UpstreamAlarm, ALARM_COUNTERS,
};
use upstreams::{UpstreamChange, UpstreamKey, Upstreams};

/// The active alarms of an agent and where their notices go.
pub struct AlarmBoard {
    agent: Mutex<String>,
    active: Mutex<BTreeMap<String, Alarm>>,
    dispatcher: Mutex<Option<notify::Dispatcher>>,
    upstreams: Mutex<BTreeMap<String, Arc<Mutex<Upstreams>>>>,
    /// The loss windows of the file sources, by source ([`loss`]).
    losses: Mutex<BTreeMap<String, Arc<Mutex<loss::LossWindow>>>>,
    counters: Arc<CounterGroup>,
}

impl Default for AlarmBoard {
    fn default() -> Self {
        AlarmBoard {
            agent: Mutex::new(String::new()),
            active: Mutex::new(BTreeMap::new()),
            dispatcher: Mutex::new(None),
            upstreams: Mutex::new(BTreeMap::new()),
            losses: Mutex::new(BTreeMap::new()),
            counters: CounterGroup::new("ALARMS", ALARM_COUNTERS),
        }
    }
}

impl std::fmt::Debug for AlarmBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlarmBoard")
            .field("active", &self.active.lock().len())
            .finish_non_exhaustive()
    }
}

impl AlarmBoard {
    /// The counters (`ALARMS.notifiers`).
    pub(crate) fn counters(&self) -> Arc<CounterGroup> {
        self.counters.clone()
    }

    /// The agent's name, put in every alarm.
    pub(crate) fn agent(&self) -> String {
        self.agent.lock().clone()
    }

    /// Sets the agent name and (re)starts the notifiers when their configuration changed.
    /// Must run inside the tokio runtime.
    pub(crate) fn configure(&self, agent: &str, notifiers: &BTreeMap<String, NotifierConfig>) {
        *self.agent.lock() = agent.to_owned();
        let mut d = self.dispatcher.lock();
        if d.as_ref().is_some_and(|d| d.configs() == notifiers) {
            return;
        }
        if let Some(old) = d.take() {
            old.stop();
        }
        *d = Some(notify::Dispatcher::start(notifiers, self.counters.clone()));
    }

    /// Stops the notifiers (notices still queued are not sent).
    pub(crate) fn shutdown(&self) {
        if let Some(d) = self.dispatcher.lock().take() {
            d.stop();
        }
    }

    /// Raises `alarm` unless an alarm with its id is active.
    pub(crate) fn raise(&self, alarm: Alarm) {
        {
            let mut active = self.active.lock();
            if active.contains_key(&alarm.id) {
                return;
            }
            active.insert(alarm.id.clone(), alarm.clone());
        }
        self.counters.add(AlarmCounter::Raised, 1);
        let u = alarm.upstream.as_ref();
        let (ip, ca, cs) = (
            u.map(|u| u.key.ip.to_string()),
            u.and_then(|u| u.key.agent.clone()),
            u.and_then(|u| u.key.sink.clone()),
        );
        if alarm.severity >= AlarmSeverity::Error {
            tracing::error!(alarm = %alarm.id, severity = alarm.severity.word(), value = ?alarm.value, client_ip = ?ip, client_agent = ?ca, client_sink = ?cs, "alarm raised: {}", alarm.message);
        } else {
            tracing::warn!(alarm = %alarm.id, severity = alarm.severity.word(), value = ?alarm.value, client_ip = ?ip, client_agent = ?ca, client_sink = ?cs, "alarm raised: {}", alarm.message);
        }
        self.send(Notice {
            value: alarm.value,
            alarm,
            state: NoticeState::Raised,
            cleared_at_ms: None,
        });
    }

    /// Clears the active alarm `id` (nothing if it is not active).
    pub(crate) fn clear(&self, id: &str, value: Option<f64>, why: &str) {
        let Some(alarm) = self.active.lock().remove(id) else {
            return;
        };
        self.counters.add(AlarmCounter::Cleared, 1);
        tracing::info!(alarm = %id, value = ?value, "alarm cleared ({why}): {}", alarm.message);
        self.send(Notice {
            alarm,
            state: NoticeState::Cleared,
            cleared_at_ms: Some(now_ms()),
            value,
        });
    }

    /// Whether alarm `id` is active.
    pub fn is_active(&self, id: &str) -> bool {
        self.active.lock().contains_key(id)
    }

    /// The active alarms, oldest first.
    pub fn active(&self) -> Vec<Alarm> {
        let mut v: Vec<Alarm> = self.active.lock().values().cloned().collect();
        v.sort_by(|a, b| (a.raised_at_ms, &a.id).cmp(&(b.raised_at_ms, &b.id)));
        v
    }

    fn send(&self, n: Notice) {
        if let Some(d) = self.dispatcher.lock().as_ref() {
            d.send(&n);
        }
    }

    /// The upstream table of RPC source `source`, created on first use and kept across
    /// restarts of the source; `gone_after` zero turns its alarm off (active ones clear).
    pub(crate) fn upstream_table(
        &self,
        source: &str,
        gone_after: std::time::Duration,
        forget_after: std::time::Duration,
    ) -> Arc<Mutex<Upstreams>> {
        let t = self
            .upstreams
            .lock()
            .entry(source.to_owned())
            .or_default()
            .clone();
        t.lock().configure(gone_after, forget_after);
        if gone_after.is_zero() {
            let prefix = format!("{source}.upstreamGone[");
            let ids: Vec<String> = self
                .active
                .lock()
                .keys()
                .filter(|k| k.starts_with(&prefix))
                .cloned()
                .collect();
            for id in ids {
                self.clear(&id, None, "clientGoneAfter = 0");
            }
        }
        t
    }

    /// A connection of `key` to `source` opened.
    pub(crate) fn upstream_opened(
        &self,
        source: &str,
        table: &Mutex<Upstreams>,
        key: &UpstreamKey,
    ) {
        let changes = table.lock().opened(key, Instant::now());
        self.apply(source, changes);
    }

    /// A connection of `key` to `source` closed.
    pub(crate) fn upstream_closed(&self, table: &Mutex<Upstreams>, key: &UpstreamKey) {
        table.lock().closed(key, Instant::now());
    }

    /// Raises and clears upstream-gone alarms as time passes (called every second or so).
    pub(crate) fn tick_upstreams(&self, now: Instant) {
        let tables: Vec<(String, Arc<Mutex<Upstreams>>)> = self
            .upstreams
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (source, t) in tables {
            let changes = t.lock().tick(now);
            self.apply(&source, changes);
        }
    }

    /// Forgets the upstreams matching the filter (`None` matches any) in every source (or in
    /// `source`); how many were forgotten.
    pub(crate) fn forget_upstreams(
        &self,
        source: Option<&str>,
        ip: Option<IpAddr>,
        agent: Option<&str>,
        sink: Option<&str>,
    ) -> usize {
        let tables: Vec<(String, Arc<Mutex<Upstreams>>)> = self
            .upstreams
            .lock()
            .iter()
            .filter(|(k, _)| source.is_none_or(|s| s == k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut n = 0;
        for (s, t) in tables {
            let changes = t.lock().forget(ip, agent, sink);
            n += changes.len();
            self.apply(&s, changes);
        }
        n
    }

    /// Drops the tables of sources no longer configured (their alarms clear).
    pub(crate) fn retain_upstream_sources(&self, sources: &BTreeSet<String>) {
        for s in gone_sources(&self.upstreams, sources) {
            self.forget_upstreams(Some(&s), None, None, None);
            self.upstreams.lock().remove(&s);
        }
    }

    fn apply(&self, source: &str, changes: Vec<UpstreamChange>) {
        for c in changes {
            match c {
                UpstreamChange::Gone(key) => self.raise(self.upstream_alarm(source, key)),
                UpstreamChange::Back(key) => self.clear(
                    &upstream_id(source, &key),
                    None,
                    "the upstream connected again",
                ),
                UpstreamChange::Forgotten(key, was_gone) => {
                    tracing::info!(source, upstream = %key.label(), "upstream forgotten");
                    if was_gone {
                        self.clear(
                            &upstream_id(source, &key),
                            None,
                            "the upstream was forgotten",
                        );
                    }
                }
            }
        }
    }

    fn upstream_alarm(&self, source: &str, key: UpstreamKey) -> Alarm {
        let gone_for = self
            .upstreams
            .lock()
            .get(source)
            .map(|t| t.lock().gone_after())
            .unwrap_or_default();
        let who = match (&key.agent, &key.sink) {
            (Some(a), Some(s)) => format!("{} (agent {a}, sink {s})", key.ip),
            _ => key.ip.to_string(),
        };
        Alarm {
            id: upstream_id(source, &key),
            name: format!("{source}.upstreamGone"),
            severity: AlarmSeverity::Warn,
            message: format!(
                "upstream {who} has had no connection to source {source} for {} s",
                gone_for.as_secs_f64()
            ),
            agent: self.agent(),
            raised_at_ms: now_ms(),
            metric: None,
            value: None,
            threshold: None,
            notifiers: None,
            upstream: Some(UpstreamAlarm {
                source: source.to_owned(),
                key,
            }),
        }
    }
}

/// The id of the upstream-gone alarm of `key` at `source`.
pub(crate) fn upstream_id(source: &str, key: &UpstreamKey) -> String {
    format!("{source}.upstreamGone[{}]", key.label())
}

/// The sources `tables` holds that are not in `sources` (no longer configured), for the
/// upstream tables and the loss windows alike.
fn gone_sources<V>(tables: &Mutex<BTreeMap<String, V>>, sources: &BTreeSet<String>) -> Vec<String> {
    let held = tables.lock();
    held.keys()
        .filter(|k| !sources.contains(*k))
        .cloned()
        .collect()
}
