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
use crate::agent::metrics::{CHANNEL_COUNTERS, SINK_COUNTERS, SOURCE_COUNTERS};

mod types;
pub(crate) use types::{AlarmRule, AlarmSeverity, NotifierConfig, NotifierKind, Trigger};

/// Default notifier request timeout.
pub(crate) const NOTIFY_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);
/// Default retries after a failed notification.
pub(crate) const NOTIFY_RETRIES_DEFAULT: u64 = 3;
/// Most retries a notifier may be configured with.
pub(crate) const NOTIFY_RETRIES_MAX: u64 = 100;
/// Default first pause before a retry (doubling each time).
pub(crate) const NOTIFY_BACKOFF_DEFAULT: Duration = Duration::from_secs(1);
/// Default longest pause between retries.
pub(crate) const NOTIFY_BACKOFF_MAX_DEFAULT: Duration = Duration::from_secs(30);
/// Longest rate window.
pub(crate) const RATE_WINDOW_MAX: Duration = Duration::from_secs(24 * 3600);

/// Gauges the agent's components show beside Flume's counters (an alarm on another key is
/// allowed, with a warning: a memory channel or a future component may show it).
const CHANNEL_GAUGES: &[&str] = &[
    "ChannelSize",
    "ChannelCapacity",
    "ChannelFillPercentage",
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
    "SealedSegmentCount",
];
const SINK_GAUGES: &[&str] = &["ConnectionDownMillis"];
const SOURCE_GAUGES: &[&str] = &["OpenConnectionCount", "UpstreamPeerCount"];

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

fn dur(cx: &mut Ctx<'_>, key: &str, default: Duration) -> Duration {
    match cx.get(key) {
        None => default,
        Some(v) => duration::parse(&v).unwrap_or_else(|e| {
            cx.error(key, e.to_string());
            default
        }),
    }
}

fn number(cx: &mut Ctx<'_>, key: &str) -> Option<f64> {
    let v = cx.get(key)?;
    match v.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Some(x),
        _ => {
            cx.error(key, format!("expected a number, got {v:?}"));
            None
        }
    }
}

fn notifier(cx: &mut Ctx<'_>, name: &str) -> Option<NotifierConfig> {
    let t = cx.required("type")?;
    let kind = match t.to_ascii_lowercase().as_str() {
        "webhook" => NotifierKind::Webhook,
        "dingtalk" => NotifierKind::DingTalk,
        "log" => NotifierKind::Log,
        _ => {
            cx.error(
                "type",
                format!("unknown notifier type {t:?}; supported: webhook, dingtalk, log"),
            );
            return None;
        }
    };
    let url = if kind == NotifierKind::Log {
        None
    } else {
        let u = cx.required("url")?;
        match u.parse::<hyper::Uri>() {
            Ok(uri) if matches!(uri.scheme_str(), Some("http") | Some("https")) => {}
            _ => {
                cx.error(
                    "url",
                    format!("expected an http:// or https:// URL, got {u:?}"),
                );
                return None;
            }
        }
        Some(u)
    };
    let secret = cx.get("secret");
    if secret.is_some() && kind != NotifierKind::DingTalk {
        cx.warn(
            "secret",
            "only dingtalk notifiers sign their requests; ignored",
        );
    }
    let timeout = dur(cx, "timeout", NOTIFY_TIMEOUT_DEFAULT);
    if timeout.is_zero() {
        cx.error("timeout", "must be more than 0");
    }
    let retries = cx.u64("retries", NOTIFY_RETRIES_DEFAULT, 0, NOTIFY_RETRIES_MAX);
    let backoff = dur(cx, "backoff", NOTIFY_BACKOFF_DEFAULT);
    let max_backoff = dur(cx, "maxBackoff", NOTIFY_BACKOFF_MAX_DEFAULT);
    if max_backoff < backoff {
        cx.error("maxBackoff", "must not be shorter than backoff");
    }
    Some(NotifierConfig {
        name: name.to_owned(),
        kind,
        url,
        secret,
        timeout,
        retries,
        backoff,
        max_backoff,
    })
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

/// The trigger (`above` or `below`, exactly one) and the clearing threshold on the other side
/// of it (`clearBelow` for `above`, `clearAbove` for `below`), not beyond the trigger's.
fn thresholds(cx: &mut Ctx<'_>) -> (Option<Trigger>, Option<f64>) {
    let above = number(cx, "above");
    let below = number(cx, "below");
    let clear_below = number(cx, "clearBelow");
    let clear_above = number(cx, "clearAbove");
    let trigger = match (above, below) {
        (Some(_), Some(_)) => {
            cx.error(
                "below",
                "above and below are both set; an alarm has one threshold",
            );
            None
        }
        (Some(x), None) => Some(Trigger::Above(x)),
        (None, Some(x)) => Some(Trigger::Below(x)),
        (None, None) => {
            cx.error("above", "required key is missing (set above or below)");
            None
        }
    };
    let clear = match trigger {
        Some(Trigger::Above(x)) => clear_threshold(cx, x, clear_below, clear_above, Side::Below),
        Some(Trigger::Below(x)) => clear_threshold(cx, x, clear_above, clear_below, Side::Above),
        None => None,
    };
    (trigger, clear)
}

/// A side of a threshold: an alarm raised on one side clears on the other.
#[derive(Clone, Copy)]
enum Side {
    Below,
    Above,
}

impl Side {
    fn word(self) -> &'static str {
        match self {
            Side::Below => "below",
            Side::Above => "above",
        }
    }

    fn other(self) -> Side {
        match self {
            Side::Below => Side::Above,
            Side::Above => Side::Below,
        }
    }

    /// The key of a clearing threshold on this side.
    fn clear_key(self) -> &'static str {
        match self {
            Side::Below => "clearBelow",
            Side::Above => "clearAbove",
        }
    }

    /// Whether clearing on this side at `c` would clear an alarm raised at `x` while raised.
    fn beyond(self, c: f64, x: f64) -> bool {
        match self {
            Side::Below => c > x,
            Side::Above => c < x,
        }
    }
}

/// The clearing threshold `clear` of an alarm raised at `x` that clears on `side`; a
/// clearing threshold on the raising side (`wrong`) is an error, and so is one beyond `x`.
fn clear_threshold(
    cx: &mut Ctx<'_>,
    x: f64,
    clear: Option<f64>,
    wrong: Option<f64>,
    side: Side,
) -> Option<f64> {
    let raised = side.other();
    if wrong.is_some() {
        let (r, s) = (raised.word(), side.word());
        let msg = format!(
            "an alarm raised {r} a threshold clears {s} one: use {}",
            side.clear_key()
        );
        cx.error(raised.clear_key(), msg);
    }
    let c = clear?;
    if side.beyond(c, x) {
        let r = raised.word();
        let msg = format!(
            "must not be {r} the threshold {x} (the alarm would clear while raised), got {c}"
        );
        cx.error(side.clear_key(), msg);
    }
    Some(c)
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
