//! Prometheus exposition of the agent's metrics, encoded by the `prometheus-client` crate:
//! every Flume counter and gauge of every component as a typed metric, plus the
//! [histograms](crate::agent::histogram) Flume lacks.
//!
//! Names: `flume_<kind>_<key in snake case>` where `<kind>` is `source`, `channel` or
//! `sink`; a leading `<kind>_` of the key is dropped (`ChannelSize` -> `flume_channel_size`),
//! counters drop a trailing `_count` and get `_total` (`EventPutSuccessCount` ->
//! `flume_channel_event_put_success_total`), gauges trade a trailing `_count` for a plural
//! (`OpenConnectionCount` -> `flume_source_open_connections`: `promtool check metrics`
//! reserves `_count` for histograms), `...Millis` gauges are shown in seconds
//! (`ConnectionDownMillis` -> `flume_sink_connection_down_seconds`) and `StartTime` /
//! `StopTime` become `flume_<kind>_start_time_seconds` / `..._stop_time_seconds`.
//! Labels: `agent` (the `-n` name), `component` (`c1`), `type` (Flume's `SOURCE`,
//! `CHANNEL`, `SINK`). HELP texts are [`help`]'s; the agent-wide `sluice_build_info` and
//! `process_*` series are [`process`]'s. The full list is in docs/monitoring.md.
//!
//! Values come from the same [`CounterGroup::snapshot`] as Flume's JSON, so the two
//! agree at any moment. Two text formats: OpenMetrics 1.0 (what the crate writes) and the
//! Prometheus text format 0.0.4, derived from it line by line ([`to_text_004`]).

use std::collections::BTreeMap;

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use crate::agent::histogram::{HistogramSnapshot, HistogramUnit};
use crate::agent::metrics::{CounterGroup, Registry};

pub(crate) mod help;
pub(crate) mod process;

/// Content type of the OpenMetrics text.
pub(crate) const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Content type of the Prometheus text format 0.0.4.
pub(crate) const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Flume attributes kept in gauges that are really counters (they only grow).
const GAUGE_COUNTERS: &[&str] = &[
    "EventPutErrorCount",
    "EventTakeErrorCount",
    "CheckpointWriteErrorCount",
    "CheckpointBackupWriteErrorCount",
    "DeletedFilesClosedCount",
    "DeletedBytesSkippedCount",
    "TailCacheHitCount",
    "TailCacheMissCount",
    "CallsJoinedCount",
];

/// Flume counters that go down too, shown as gauges.
const COUNTER_GAUGES: &[&str] = &["OpenConnectionCount"];

/// The text format of an exposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// OpenMetrics 1.0 text.
    OpenMetrics,
    /// Prometheus text format 0.0.4.
    Text004,
}

impl Format {
    /// The format an `Accept` header asks for: OpenMetrics when it names
    /// `application/openmetrics-text`, text 0.0.4 when it names `text/plain` with
    /// `version=0.0.4`, `None` otherwise (Flume's JSON).
    pub(crate) fn from_accept(accept: &str) -> Option<Format> {
        let accept = accept.to_ascii_lowercase();
        if accept.contains("application/openmetrics-text") {
            return Some(Format::OpenMetrics);
        }
        let asks_004 = accept.split(',').any(|part| {
            let mut params = part.split(';').map(str::trim);
            params.next() == Some("text/plain")
                && params.any(|p| p.replace(' ', "") == "version=0.0.4")
        });
        asks_004.then_some(Format::Text004)
    }

    /// The content type to answer with.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Format::Text004 => TEXT_CONTENT_TYPE,
        }
    }
}

/// One sample value.
#[derive(Debug)]
enum Value {
    Counter(u64),
    Gauge(f64),
    Histogram(HistogramSnapshot),
}

impl Value {
    fn metric_type(&self) -> MetricType {
        match self {
            Value::Counter(_) => MetricType::Counter,
            Value::Gauge(_) => MetricType::Gauge,
            Value::Histogram(_) => MetricType::Histogram,
        }
    }

    fn encode(&self, enc: MetricEncoder) -> Result<(), std::fmt::Error> {
        match self {
            Value::Counter(v) => ConstCounter::new(*v).encode(enc),
            Value::Gauge(v) => ConstGauge::new(*v).encode(enc),
            Value::Histogram(h) => {
                let mut enc = enc;
                enc.encode_histogram::<NoLabelSet>(h.sum, h.count, &h.buckets, None)
            }
        }
    }
}

/// One metric family: every component's sample of one name.
#[derive(Debug)]
struct Family {
    help: String,
    unit: Option<Unit>,
    /// (component, type, value)
    samples: Vec<(String, &'static str, Value)>,
}

/// A snapshot of the whole registry, grouped by family name, ready to encode.
#[derive(Debug)]
struct Exposition {
    agent: String,
    families: BTreeMap<String, Family>,
}

impl prometheus_client::collector::Collector for Exposition {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for (name, fam) in &self.families {
            let Some((_, _, first)) = fam.samples.first() else {
                continue;
            };
            let mut m = encoder.encode_descriptor(
                name,
                &fam.help,
                fam.unit.as_ref(),
                first.metric_type(),
            )?;
            for (component, kind, v) in &fam.samples {
                let labels = [
                    ("agent", self.agent.as_str()),
                    ("component", component.as_str()),
                    ("type", *kind),
                ];
                v.encode(m.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

/// `EventPutSuccessCount` -> `event_put_success_count`.
fn snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let chars: Vec<char> = key.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower = i > 0 && !chars[i - 1].is_ascii_uppercase();
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_ascii_uppercase();
            if i > 0 && (prev_lower || (prev_upper && next_lower)) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(*c);
        } else {
            out.push('_');
        }
    }
    out
}

/// How a Flume attribute is shown: family name (without `_total`), unit, divisor, counter?
fn describe(kind: &str, key: &str, counter: bool) -> (String, Option<Unit>, f64) {
    let k = kind.to_ascii_lowercase();
    match key {
        "StartTime" => return (format!("flume_{k}_start_time"), Some(Unit::Seconds), 1e3),
        "StopTime" => return (format!("flume_{k}_stop_time"), Some(Unit::Seconds), 1e3),
        _ => {}
    }
    let mut s = snake(key);
    if let Some(rest) = s.strip_prefix(&format!("{k}_")) {
        s = rest.to_owned();
    }
    if let Some(rest) = s.strip_suffix("_millis") {
        return (format!("flume_{k}_{rest}"), Some(Unit::Seconds), 1e3);
    }
    if let Some(rest) = s.strip_suffix("_count") {
        s = if counter {
            rest.to_owned()
        } else {
            format!("{rest}s")
        };
    }
    (format!("flume_{k}_{s}"), None, 1.0)
}

/// The full name of a family as it appears on a sample line (with unit and `_total`).
pub fn sample_name(kind: &str, key: &str, counter: bool) -> String {
    let (name, unit, _) = describe(kind, key, counter);
    let mut n = match unit {
        Some(u) => format!("{name}_{}", u.as_str()),
        None => name,
    };
    if counter {
        n.push_str("_total");
    }
    n
}

/// Whether attribute `key` of `group` is shown as a counter.
pub(crate) fn is_counter(group: &CounterGroup, key: &str) -> bool {
    (group.is_counter(key) && !COUNTER_GAUGES.contains(&key)) || GAUGE_COUNTERS.contains(&key)
}

fn add(
    families: &mut BTreeMap<String, Family>,
    name: String,
    help: String,
    unit: Option<Unit>,
    sample: (String, &'static str, Value),
) {
    families
        .entry(name)
        .or_insert_with(|| Family {
            help,
            unit,
            samples: Vec::new(),
        })
        .samples
        .push(sample);
}

fn exposition(registry: &Registry) -> Exposition {
    let mut families = BTreeMap::new();
    for (key, group) in registry.groups() {
        let kind = group.kind();
        let component = key
            .strip_prefix(kind)
            .and_then(|r| r.strip_prefix('.'))
            .unwrap_or(&key)
            .to_owned();
        for (attr, text) in group.snapshot() {
            if attr == "Type" {
                continue;
            }
            let counter = is_counter(&group, &attr);
            let (name, unit, divisor) = describe(kind, &attr, counter);
            let value = match (counter, text.as_str()) {
                (_, "true") => Value::Gauge(1.0),
                (_, "false") => Value::Gauge(0.0),
                (true, t) => match t.parse::<u64>() {
                    Ok(v) => Value::Counter(v),
                    Err(_) => continue,
                },
                (false, t) => match t.parse::<f64>() {
                    Ok(v) if v.is_finite() => Value::Gauge(v / divisor),
                    _ => continue,
                },
            };
            let help = help::help(kind, &attr);
            add(
                &mut families,
                name,
                help,
                unit,
                (component.clone(), kind, value),
            );
        }
        for h in group.histograms() {
            let spec = h.spec();
            let k = kind.to_ascii_lowercase();
            let unit = match spec.unit {
                HistogramUnit::Seconds => Unit::Seconds,
                HistogramUnit::Events => Unit::Other(spec.unit.as_str().to_owned()),
            };
            let name = format!("flume_{k}_{}", spec.name);
            add(
                &mut families,
                name,
                spec.help.to_owned(),
                Some(unit),
                (component.clone(), kind, Value::Histogram(h.snapshot())),
            );
        }
    }
    Exposition {
        agent: registry.agent().to_owned(),
        families,
    }
}

/// The registry in OpenMetrics text (ends with `# EOF`).
pub(crate) fn openmetrics(registry: &Registry) -> String {
    let mut reg = prometheus_client::registry::Registry::default();
    reg.register_collector(Box::new(exposition(registry)));
    reg.register_collector(Box::new(process::AgentSeries {
        process: process::read_process(),
    }));
    let mut out = String::with_capacity(16 << 10);
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &reg) {
        // Writing to a String cannot fail; say so loudly if it ever does.
        tracing::error!(error = %e, "encoding the Prometheus exposition failed");
        out.clear();
        out.push_str("# EOF\n");
    }
    out
}

/// The registry in `format`.
pub(crate) fn render(registry: &Registry, format: Format) -> String {
    let om = openmetrics(registry);
    match format {
        Format::OpenMetrics => om,
        Format::Text004 => to_text_004(&om),
    }
}

/// OpenMetrics text -> Prometheus text 0.0.4: a counter family's `HELP`/`TYPE` lines name
/// the sample (`foo_total`), `# UNIT` and `# EOF` lines go. Samples are unchanged.
pub(crate) fn to_text_004(om: &str) -> String {
    let mut out = String::with_capacity(om.len());
    let mut help: Option<(&str, &str)> = None;
    for line in om.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            if let Some((h, _)) = help.take() {
                out.push_str(h);
                out.push('\n');
            }
            let name = rest.split(' ').next().unwrap_or("");
            help = Some((line, name));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.splitn(2, ' ');
            let name = parts.next().unwrap_or("");
            let typ = parts.next().unwrap_or("");
            let suffix = if typ == "counter" && !name.ends_with("_total") {
                "_total"
            } else {
                ""
            };
            if let Some((h, hname)) = help.take() {
                let text = h
                    .strip_prefix("# HELP ")
                    .and_then(|r| r.strip_prefix(hname))
                    .unwrap_or("");
                out.push_str(&format!("# HELP {hname}{suffix}{text}\n"));
            }
            out.push_str(&format!("# TYPE {name}{suffix} {typ}\n"));
            continue;
        }
        if let Some((h, _)) = help.take() {
            out.push_str(h);
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
