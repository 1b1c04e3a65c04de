//! `GET /health` and `GET /ready` of the metrics server, for probes (systemd, Kubernetes,
//! load balancers).
//!
//! Health is decided from the same gauges the status page and alarm rules read, in one place
//! ([`problems`]): a channel that is `Unhealthy` (refusing writes after an I/O failure),
//! closed, full (`ChannelFillPercentage` at 100, or `ChannelBytesFull` at 1: a file channel
//! refusing puts at its `capacityBytes`) or whose data directory is under its
//! `minimumRequiredSpace` (`DataDirBelowMinimum`); a sink whose connection is down
//! (`ConnectionDownMillis` above 0: the avro and thrift sinks, between failed connection
//! attempts; the nats sink's `ConnectionDownReason` text, naming the stream and the servers,
//! is quoted after it); a sink that cannot write its output (`OutputDownMillis` above 0:
//! file_roll's directory, a local `hdfs.path` or an S3 sink's staging directory cannot be
//! created, a file opened or written; `OutputDownReason`, naming the key, quoted after it); a
//! plugin that cannot start (a user's class the registry's plugin host runs:
//! its configure or start threw, a class is missing), named with its class and exception. 200 with
//! `{"status":"ok",...}` when there is none, else 503 naming each component and why.
//!
//! Degraded ([`degraded`]): the agent works but lost data recently: a TAILDIR source that gave
//! up lines unread within its `lossWindow` (`LinesLostRecently` or `BytesLostRecently` above
//! 0). 200 with `{"status":"degraded","degraded":[...]}` naming the source and the count (a
//! probe that restarts on 503 must not restart an agent for lines it already lost); with a
//! problem too, the 503 lists both. A `kubernetes` source whose API server does not answer
//! (`ApiServerDownMillis` above 0, `ApiServerDownReason` naming it and the HTTP status) is
//! degraded too: its lines flow without the pods' metadata.
//!
//! Readiness ([`Readiness`]) is set once the agent logs `agent started` (channels replayed,
//! every component running, every source accepting input) and stays set through reloads;
//! an agent that started without every source accepting input answers why (the source and
//! its error: `cannot listen on 127.0.0.1:44444: Address already in use`);
//! `/ready` answers 503 while a Java plugin's first JVM starts or while it cannot start, and
//! 200 again once it starts.

use std::sync::atomic::{AtomicBool, Ordering};

use hyper::StatusCode;
use serde_json::json;

use crate::agent::metrics::Registry;

/// Whether the agent has started; shared by the CLI (which sets it) and the metrics server.
/// When it started without every source accepting input, the CLI leaves why (each source
/// and its error: the address whose port is taken), which `/ready` answers with.
#[derive(Debug, Default)]
pub struct Readiness(AtomicBool, parking_lot::Mutex<Option<String>>);

impl Readiness {
    /// Marks the agent started (`agent started` was logged).
    pub fn set_ready(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// The agent runs, but not every source accepts input: `why` names each and its error
    /// (`source r1: cannot listen on 127.0.0.1:44444: Address already in use`).
    pub fn set_not_accepting(&self, why: String) {
        *self.1.lock() = Some(why);
    }

    /// Whether the agent has started.
    pub(crate) fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Why the agent runs without every source accepting input, if it does.
    fn not_accepting(&self) -> Option<String> {
        self.1.lock().clone()
    }
}

/// One unhealthy component: its key (`SINK.k1`) and why.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Problem {
    /// `TYPE.name` as in Flume's JSON.
    pub component: String,
    /// What is wrong, for a person.
    pub reason: String,
}

/// A gauge at or above `at`.
fn at_least(v: Option<f64>, at: f64) -> bool {
    v.is_some_and(|v| v >= at)
}

/// Why a channel is unhealthy, if it is.
fn channel_problem(value: impl Fn(&str) -> Option<f64>) -> Option<String> {
    if at_least(value("Unhealthy"), 1.0) {
        return Some("refuses writes after an I/O failure (Unhealthy = 1)".to_owned());
    }
    if at_least(value("Closed"), 1.0) {
        return Some("is closed".to_owned());
    }
    if at_least(value("ChannelFillPercentage"), 100.0) {
        return Some("is full (ChannelFillPercentage = 100)".to_owned());
    }
    if at_least(value("ChannelBytesFull"), 1.0) {
        let size = value("ChannelSizeBytes").unwrap_or(0.0);
        let bound = value("ChannelCapacityBytes").unwrap_or(0.0);
        return Some(format!(
            "is full at capacityBytes (ChannelBytesFull = 1: its files take {size:.0} of \
             {bound:.0} bytes; puts are refused until its sinks take events)"
        ));
    }
    if at_least(value("DataDirBelowMinimum"), 1.0) {
        return Some("a data directory has less free space than minimumRequiredSpace".to_owned());
    }
    None
}

/// A sink's text gauge saying why its connection is down (the nats sink: the stream and the
/// servers), quoted after the reason.
const DOWN_REASON: &str = "ConnectionDownReason";

/// Why a sink is unhealthy, if it is, and the text gauge that says more (quoted after it).
fn sink_problem(value: impl Fn(&str) -> Option<f64>) -> Option<(String, &'static str)> {
    use crate::agent::sink::output_down::{OUTPUT_DOWN_MILLIS, OUTPUT_DOWN_REASON};
    if let Some(ms) = value(OUTPUT_DOWN_MILLIS).filter(|ms| *ms > 0.0) {
        let why = format!("cannot write its output for {:.1} s", ms / 1000.0);
        return Some((why, OUTPUT_DOWN_REASON));
    }
    let down_ms = value("ConnectionDownMillis").filter(|ms| *ms > 0.0)?;
    let why = format!(
        "cannot deliver: its connection has been down for {:.1} s",
        down_ms / 1000.0
    );
    Some((why, DOWN_REASON))
}

/// Why a source is degraded, if it is: lines given up unread within its `lossWindow`.
fn source_degraded(value: impl Fn(&str) -> Option<f64>) -> Option<String> {
    use crate::agent::metrics::source::{BYTES_LOST_RECENTLY, LINES_LOST_RECENTLY};
    let lines = value(LINES_LOST_RECENTLY).unwrap_or(0.0);
    let bytes = value(BYTES_LOST_RECENTLY).unwrap_or(0.0);
    if lines <= 0.0 && bytes <= 0.0 {
        return None;
    }
    Some(format!(
        "gave up {lines} lines ({bytes} bytes) unread within its lossWindow (the WARN \
         \"file given up before it was read to its end\" names each file; LinesLostUnreadCount \
         has the total)"
    ))
}

/// Why a `kubernetes` source's pod metadata is missing, if it is: its API server has not
/// answered as it should for a while (`ApiServerDownMillis`), with the text gauge naming the
/// server and the HTTP status (`ApiServerDownReason`).
fn api_degraded(
    value: impl Fn(&str) -> Option<f64>,
    text: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    use crate::agent::source::kubernetes::api::store::{API_DOWN_MILLIS, API_DOWN_REASON};
    let ms = value(API_DOWN_MILLIS).filter(|ms| *ms > 0.0)?;
    let why = text(API_DOWN_REASON).unwrap_or_default();
    Some(format!(
        "pod metadata missing for {:.1} s: {why}; lines go on with their path's metadata \
         (EventsWithoutApiMetadataCount)",
        ms / 1000.0
    ))
}

/// Every degraded source of `registry`, in key order.
pub(crate) fn degraded(registry: &Registry) -> Vec<Problem> {
    registry
        .groups()
        .into_iter()
        .filter(|(_, g)| g.kind() == "SOURCE")
        .filter_map(|(key, group)| {
            let value = |k: &str| group.value(k);
            let text = |k: &str| group.snapshot().get(k).cloned();
            let reasons: Vec<String> = source_degraded(value)
                .into_iter()
                .chain(api_degraded(value, text))
                .collect();
            (!reasons.is_empty()).then(|| Problem {
                component: key,
                reason: reasons.join("; "),
            })
        })
        .collect()
}

/// Every plugin of the process that cannot start.
fn plugin_problems() -> Vec<Problem> {
    crate::agent::registry::plugins::failing()
        .into_iter()
        .map(|d| Problem {
            component: d.component,
            reason: d.reason,
        })
        .collect()
}

/// Every unhealthy channel and sink of `registry`, in key order.
pub(crate) fn problems(registry: &Registry) -> Vec<Problem> {
    registry
        .groups()
        .into_iter()
        .filter_map(|(key, group)| {
            let value = |k: &str| group.value(k);
            let reason = match group.kind() {
                "CHANNEL" => channel_problem(value),
                "SINK" => sink_problem(value).map(|(r, more)| match group.snapshot().get(more) {
                    Some(why) if !why.is_empty() => format!("{r}: {why}"),
                    _ => r,
                }),
                _ => None,
            }?;
            Some(Problem {
                component: key,
                reason,
            })
        })
        .collect()
}

/// The answer to `GET /health`.
pub(crate) fn health_answer(registry: &Registry) -> (StatusCode, &'static str, String) {
    answer_health(registry, plugin_problems())
}

/// The answer to `GET /health` given the Java plugins that cannot start (`java`).
fn answer_health(registry: &Registry, java: Vec<Problem>) -> (StatusCode, &'static str, String) {
    let mut found = problems(registry);
    found.extend(java);
    let checked = registry
        .groups()
        .iter()
        .filter(|(_, g)| matches!(g.kind(), "CHANNEL" | "SINK"))
        .count();
    let listed = |v: &[Problem]| -> Vec<serde_json::Value> {
        v.iter()
            .map(|p| json!({"component": p.component, "reason": p.reason}))
            .collect()
    };
    let lost = degraded(registry);
    if found.is_empty() {
        let body = if lost.is_empty() {
            json!({"status": "ok", "checked": checked})
        } else {
            json!({"status": "degraded", "checked": checked, "degraded": listed(&lost)})
        };
        return (StatusCode::OK, "application/json", format!("{body}\n"));
    }
    let mut body = json!({"status": "unhealthy", "checked": checked, "problems": listed(&found)});
    if !lost.is_empty() {
        body["degraded"] = json!(listed(&lost));
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "application/json",
        format!("{body}\n"),
    )
}

/// The answer to `GET /ready`: 503 before `agent started`, while a Java plugin's first JVM
/// is starting and while a Java plugin cannot start.
pub(crate) fn ready_answer(ready: &Readiness) -> (StatusCode, &'static str, String) {
    let down: Vec<Problem> = crate::agent::registry::plugins::not_started()
        .into_iter()
        .map(|d| Problem {
            component: d.component,
            reason: d.reason,
        })
        .collect();
    answer_ready(ready, &down)
}

/// The answer to `GET /ready` given the Java plugins that cannot start (`down`).
fn answer_ready(ready: &Readiness, down: &[Problem]) -> (StatusCode, &'static str, String) {
    if ready.is_ready() && !down.is_empty() {
        let reason: Vec<String> = down
            .iter()
            .map(|p| format!("{}: {}", p.component, p.reason))
            .collect();
        let body = json!({"status": "degraded", "reason": reason.join("; ")});
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "application/json",
            format!("{body}\n"),
        );
    }
    if ready.is_ready() {
        (
            StatusCode::OK,
            "application/json",
            "{\"status\":\"ready\"}\n".to_owned(),
        )
    } else if let Some(why) = ready.not_accepting() {
        let reason = format!("not every source accepts input: {why}");
        let body = json!({"status": "starting", "reason": reason});
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "application/json",
            format!("{body}\n"),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "application/json",
            "{\"status\":\"starting\",\"reason\":\"the agent has not started yet (channels replaying or components starting)\"}\n"
                .to_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::metrics::CounterGroup;

    fn with_gauges(g: std::sync::Arc<CounterGroup>, v: Vec<(&'static str, &'static str)>) {
        g.set_gauges(Box::new(move || {
            v.iter().map(|(k, x)| (*k, (*x).to_owned())).collect()
        }));
    }

    #[test]
    fn healthy_channels_and_sinks_answer_200() {
        let r = Registry::for_agent("a1");
        let c = CounterGroup::channel();
        with_gauges(
            c.clone(),
            vec![("ChannelFillPercentage", "12.5"), ("Unhealthy", "0")],
        );
        r.register("c1", c);
        let (status, _, body) = answer_health(&r, Vec::new());
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("\"checked\":1"), "{body}");
    }

    #[test]
    fn a_full_channel_and_a_down_sink_are_named_with_their_reasons() {
        let r = Registry::for_agent("a1");
        let c = CounterGroup::channel();
        with_gauges(c.clone(), vec![("ChannelFillPercentage", "100.0")]);
        r.register("c1", c);
        let k = CounterGroup::sink();
        with_gauges(k.clone(), vec![("ConnectionDownMillis", "2500")]);
        r.register("k1", k);
        let p = problems(&r);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].component, "CHANNEL.c1");
        assert!(p[0].reason.contains("full"), "{p:?}");
        assert_eq!(p[1].component, "SINK.k1");
        assert!(p[1].reason.contains("2.5 s"), "{p:?}");
        let (status, _, body) = answer_health(&r, Vec::new());
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["problems"][1]["component"], "SINK.k1");
    }

    #[test]
    fn a_sink_that_cannot_write_its_output_is_named_with_the_key_to_fix() {
        let r = Registry::for_agent("a1");
        let k = CounterGroup::sink();
        let why = "sink k1: cannot create sink.directory /x/out: Not a directory (os error 20)";
        with_gauges(
            k.clone(),
            vec![("OutputDownMillis", "1500"), ("OutputDownReason", why)],
        );
        r.register("k1", k);
        let p = problems(&r);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].component, "SINK.k1");
        assert!(
            p[0].reason.contains("cannot write its output for 1.5 s"),
            "{p:?}"
        );
        assert!(p[0].reason.contains("sink.directory /x/out"), "{p:?}");
        assert_eq!(
            answer_health(&r, Vec::new()).0,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn a_channel_full_at_capacity_bytes_is_named_with_the_byte_bound() {
        let r = Registry::for_agent("a1");
        let c = CounterGroup::channel();
        let gauges = vec![
            ("ChannelFillPercentage", "40.0"),
            ("ChannelBytesFull", "1"),
            ("ChannelSizeBytes", "16000000"),
            ("ChannelCapacityBytes", "16777216"),
        ];
        with_gauges(c.clone(), gauges);
        r.register("c1", c);
        let p = problems(&r);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].component, "CHANNEL.c1");
        assert!(p[0].reason.contains("full at capacityBytes"), "{p:?}");
        assert!(p[0].reason.contains("16000000 of 16777216"), "{p:?}");
        let (status, _, _) = answer_health(&r, Vec::new());
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn a_source_that_lost_lines_recently_is_named_degraded_with_its_count() {
        let r = Registry::for_agent("a1");
        let s = CounterGroup::source();
        with_gauges(
            s.clone(),
            vec![("LinesLostRecently", "42"), ("BytesLostRecently", "4200")],
        );
        r.register("r1", s);
        let (status, _, body) = answer_health(&r, Vec::new());
        assert_eq!(status, StatusCode::OK, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "degraded", "{body}");
        assert_eq!(v["degraded"][0]["component"], "SOURCE.r1", "{body}");
        let reason = v["degraded"][0]["reason"].as_str().unwrap();
        assert!(reason.contains("42 lines (4200 bytes)"), "{reason}");
        with_gauges(
            r.groups()[0].1.clone(),
            vec![("LinesLostRecently", "0"), ("BytesLostRecently", "0")],
        );
        let (_, _, body) = answer_health(&r, Vec::new());
        assert!(body.contains("\"status\":\"ok\""), "{body}");
    }

    #[test]
    fn ready_is_503_until_set() {
        let r = Readiness::default();
        assert_eq!(answer_ready(&r, &[]).0, StatusCode::SERVICE_UNAVAILABLE);
        r.set_ready();
        assert_eq!(answer_ready(&r, &[]).0, StatusCode::OK);
    }

    #[test]
    fn ready_names_the_source_that_does_not_accept_input_and_why() {
        let r = Readiness::default();
        r.set_not_accepting(
            "source r1: cannot listen on 127.0.0.1:44444: Address already in use".to_owned(),
        );
        let (status, _, body) = answer_ready(&r, &[]);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body.contains("source r1: cannot listen on 127.0.0.1:44444"),
            "{body}"
        );
        assert!(!body.contains("replaying"), "{body}");
    }

    #[test]
    fn a_java_plugin_that_cannot_start_makes_the_agent_unhealthy_and_not_ready() {
        let down = vec![Problem {
            component: "INTERCEPTOR.i1".into(),
            reason: "Java plugin a.B$Builder cannot start: configure failed: \
                     java.lang.NoClassDefFoundError: com/google/common/base/Strings"
                .into(),
        }];
        let r = Readiness::default();
        r.set_ready();
        let (status, _, body) = answer_ready(&r, &down);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body.contains("INTERCEPTOR.i1") && body.contains("degraded"),
            "{body}"
        );
        let (status, _, body) = answer_health(&Registry::for_agent("a1"), down);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["problems"][0]["component"], "INTERCEPTOR.i1");
        let reason = v["problems"][0]["reason"].as_str().unwrap();
        assert!(reason.contains("NoClassDefFoundError"), "{reason}");
    }
}
