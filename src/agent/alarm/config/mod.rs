//! Alarm rules and notifiers (`<agent>.alarms = ...`, `<agent>.notifiers = ...`): Sluice's
//! keys, parsed into [`AlarmsConfig`] with a line-numbered problem for each bad value, an
//! unknown metric component, an unknown notifier, `above` and `below` both set, a clear
//! threshold on the wrong side, a bad duration. Grammar and defaults: docs/alarms.md.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::agent::config::ctx::Ctx;
use crate::agent::config::duration;
use crate::agent::config::problem::Problem;
use crate::agent::config::raw::{RawAgent, Section};
use crate::agent::metrics::{CHANNEL_COUNTERS, SINK_COUNTERS, SOURCE_COUNTERS, SOURCE_GAUGES};

mod keys;
mod notifier;
mod threshold;
mod types;
use keys::dur;
use notifier::notifier;
use threshold::thresholds;
pub(crate) use types::{AlarmRule, AlarmSeverity, NotifierConfig, NotifierKind, Trigger};

/// Longest rate window.
pub(crate) const RATE_WINDOW_MAX: Duration = Duration::from_secs(24 * 3600);

/// Gauges the agent's components show beside Flume's counters (an alarm on another key is
/// allowed, with a warning: a memory channel or a future component may show it).
const CHANNEL_GAUGES: &[&str] = &[
    "ChannelSize",
    "ChannelCapacity",
    "ChannelFillPercentage",
    "ChannelSizeBytes",
    "ChannelCapacityBytes",
    "ChannelFullBytesCount",
    "ChannelBytesFull",
    "EventPutErrorCount",
    "EventTakeErrorCount",
    "CheckpointWriteErrorCount",
    "CheckpointBackupWriteErrorCount",
    "Unhealthy",
    "EventsLostOnOpen",
    "TailCacheHitCount",
    "TailCacheMissCount",
    "DataDirFreeBytes",
    "DataDirBelowMinimum",
    "CheckpointDirFreeBytes",
    "ReplayProgressRatio",
    "ReplayEvents",
    "EventDuplicateCount",
    "EventIdRefusedCount",
    "DedupOriginCount",
    "DedupOriginTurnedAwayCount",
    "EventDuplicateConflictCount",
    "SealedSegmentCount",
];
const SINK_GAUGES: &[&str] = &["ConnectionDownMillis", "OutputDownMillis"];

/// Every alarm rule and notifier of an agent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlarmsConfig {
    /// Rules by name.
    pub rules: BTreeMap<String, AlarmRule>,
    /// Notifiers by name.
    pub notifiers: BTreeMap<String, NotifierConfig>,
}

/// Reads the `alarms` and `notifiers` sections; problems go to `problems`.
pub(crate) fn build(raw: &RawAgent, problems: &mut Vec<Problem>) -> AlarmsConfig {
    let mut out = AlarmsConfig::default();
    for comp in raw.section(Section::Notifiers) {
        let mut cx = Ctx::new(comp, problems);
        let n = notifier(&mut cx, &comp.name);
        if cx.finish("a notifier") {
            if let Some(n) = n {
                out.notifiers.insert(comp.name.clone(), n);
            }
        }
    }
    let names =
        |s: Section| -> BTreeSet<String> { raw.section(s).map(|c| c.name.clone()).collect() };
    let components = Components {
        sources: names(Section::Sources),
        channels: names(Section::Channels),
        sinks: names(Section::Sinks),
        notifiers: names(Section::Notifiers),
    };
    for comp in raw.section(Section::Alarms) {
        let mut cx = Ctx::new(comp, problems);
        let r = rule(&mut cx, &comp.name, &components);
        if cx.finish("an alarm") {
            if let Some(r) = r {
                out.rules.insert(comp.name.clone(), r);
            }
        }
    }
    out
}

struct Components {
    sources: BTreeSet<String>,
    channels: BTreeSet<String>,
    sinks: BTreeSet<String>,
    notifiers: BTreeSet<String>,
}

fn rule(cx: &mut Ctx<'_>, name: &str, known: &Components) -> Option<AlarmRule> {
    let metric = cx.required("metric");
    let parsed = metric.as_deref().and_then(|m| metric_parts(cx, m, known));
    let (trigger, clear) = thresholds(cx);
    let hold = dur(cx, "for", Duration::ZERO);
    let rate = rate_window(cx);
    let notifiers = notifier_list(cx, known);
    let severity = severity(cx);
    let message = cx.get("message");
    let (component, key) = parsed?;
    let trigger = trigger?;
    let message = message.unwrap_or_else(|| {
        let (side, x) = match trigger {
            Trigger::Above(x) => ("above", x),
            Trigger::Below(x) => ("below", x),
        };
        let per = if rate.is_some() { " per minute" } else { "" };
        format!("{component}.{key}{per} is {side} {x}")
    });
    Some(AlarmRule {
        name: name.to_owned(),
        component,
        key,
        trigger,
        clear,
        hold,
        rate,
        notifiers,
        severity,
        message,
    })
}

/// `rate`: the window a counter's rate is taken over, 1 s to [`RATE_WINDOW_MAX`].
fn rate_window(cx: &mut Ctx<'_>) -> Option<Duration> {
    let v = cx.get("rate")?;
    match duration::parse(&v) {
        Ok(d) if d >= Duration::from_secs(1) && d <= RATE_WINDOW_MAX => Some(d),
        Ok(_) => {
            cx.error(
                "rate",
                format!("the rate window must be between 1s and 24h, got {v:?}"),
            );
            None
        }
        Err(e) => {
            cx.error("rate", e.to_string());
            None
        }
    }
}

/// `notifiers`: names from the agent's notifiers list.
fn notifier_list(cx: &mut Ctx<'_>, known: &Components) -> Option<Vec<String>> {
    let v = cx.get("notifiers")?;
    let list: Vec<String> = v.split_whitespace().map(str::to_owned).collect();
    for n in &list {
        if !known.notifiers.contains(n) {
            cx.error(
                "notifiers",
                format!("notifier {n} is not defined in the notifiers list"),
            );
        }
    }
    Some(list)
}

/// `severity`: info, warn (the default), error or critical.
fn severity(cx: &mut Ctx<'_>) -> AlarmSeverity {
    match cx.get("severity") {
        None => AlarmSeverity::Warn,
        Some(s) => AlarmSeverity::parse(&s).unwrap_or_else(|| {
            cx.error(
                "severity",
                format!("expected info, warn, error or critical, got {s:?}"),
            );
            AlarmSeverity::Warn
        }),
    }
}

/// `SOURCE|CHANNEL|SINK.name.Key` checked against the agent's components.
fn metric_parts(cx: &mut Ctx<'_>, m: &str, known: &Components) -> Option<(String, String)> {
    let mut parts = m.splitn(3, '.');
    let (Some(kind), Some(comp), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        cx.error(
            "metric",
            format!(
                "expected COMPONENT.name.Key (e.g. CHANNEL.c1.ChannelFillPercentage), got {m:?}"
            ),
        );
        return None;
    };
    let (names, counters, gauges, list) = match kind {
        "SOURCE" => (&known.sources, SOURCE_COUNTERS, SOURCE_GAUGES, "sources"),
        "CHANNEL" => (
            &known.channels,
            CHANNEL_COUNTERS,
            CHANNEL_GAUGES,
            "channels",
        ),
        "SINK" => (&known.sinks, SINK_COUNTERS, SINK_GAUGES, "sinks"),
        _ => {
            cx.error(
                "metric",
                format!(
                    "unknown component type {kind:?} in {m:?}; expected SOURCE, CHANNEL or SINK"
                ),
            );
            return None;
        }
    };
    if !names.contains(comp) {
        cx.error(
            "metric",
            format!("{kind}.{comp}: {comp} is not defined in the {list} list"),
        );
        return None;
    }
    if !counters.contains(&key) && !gauges.contains(&key) {
        cx.warn(
            "metric",
            format!(
                "{key} is not a metric Sluice's {list} are known to show; the alarm waits for it"
            ),
        );
    }
    Some((format!("{kind}.{comp}"), key.to_owned()))
}

#[cfg(test)]
mod tests;
