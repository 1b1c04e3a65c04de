//! The Prometheus exposition of a real agent, parsed by a real parser (the
//! `prometheus-parse` crate), carries the same values as Flume's JSON at the same moment.

use crate::support::status_support;

use prometheus_parse::{Scrape, Value};
use sluice::agent::prometheus::sample_name;
use status_support::{get, seq_memory_null, start_agent};

const TOTAL: u64 = 2_000;

fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

fn value(v: &Value) -> Option<f64> {
    match v {
        Value::Counter(x) | Value::Gauge(x) | Value::Untyped(x) => Some(*x),
        _ => None,
    }
}

/// Compares every JSON value that did not move during the scrape with its sample in
/// `scrape` (`body` its text); how many were compared.
fn compare_with_json(
    before: &serde_json::Value,
    after: &serde_json::Value,
    scrape: &Scrape,
    body: &str,
) -> usize {
    let mut compared = 0;
    for (key, attrs) in before.as_object().unwrap() {
        let (kind, component) = key.split_once('.').unwrap();
        for (attr, v) in attrs.as_object().unwrap() {
            let Some(json) = v.as_str().and_then(|s| s.parse::<f64>().ok()) else {
                continue;
            };
            if after[key][attr] != *v {
                continue; // moves even after the flow (empty takes, down time)
            }
            let names = [
                sample_name(kind, attr, true),
                sample_name(kind, attr, false),
            ];
            let sample = scrape.samples.iter().find(|s| {
                names.contains(&s.metric)
                    && s.labels.get("component") == Some(component)
                    && s.labels.get("type") == Some(kind)
                    && s.labels.get("agent") == Some("a1")
            });
            let sample = sample
                .unwrap_or_else(|| panic!("no sample {names:?} for {key}; exposition:\n{}", body));
            let shown = value(&sample.value).unwrap();
            let expect = if sample.metric.ends_with("_seconds") {
                json / 1000.0
            } else {
                json
            };
            assert!(
                (shown - expect).abs() <= 1e-9 * expect.abs().max(1.0),
                "{key} {attr}: json {json}, prometheus {} = {shown}",
                sample.metric
            );
            compared += 1;
        }
    }
    compared
}

/// A few samples by name: the totals as counters, the fill as a gauge, the batch sizes and
/// commit durations as histograms.
fn the_named_samples_have_their_values_and_types(scrape: &Scrape, body: &str) {
    let find = |metric: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == metric)
            .unwrap_or_else(|| panic!("no {metric}; exposition:\n{}", body))
    };
    assert_eq!(
        find("flume_channel_event_put_success_total").value,
        Value::Counter(TOTAL as f64)
    );
    assert_eq!(
        find("flume_source_event_accepted_total").value,
        Value::Counter(TOTAL as f64)
    );
    assert!(matches!(
        find("flume_channel_fill_percentage").value,
        Value::Gauge(_)
    ));
    // Histograms: every put transaction carried one seq batch of 50 events.
    let Value::Histogram(buckets) = &find("flume_channel_put_batch_size_events").value else {
        panic!("put batch size is not a histogram");
    };
    let le = |b: f64| {
        buckets
            .iter()
            .find(|c| c.less_than == b)
            .map(|c| c.count)
            .unwrap()
    };
    assert_eq!(le(20.0), 0.0);
    assert_eq!(le(50.0), (TOTAL / 50) as f64);
    assert_eq!(le(f64::INFINITY), (TOTAL / 50) as f64);
    assert_eq!(
        value(&find("flume_channel_take_batch_size_events_sum").value),
        Some(TOTAL as f64)
    );
    assert!(matches!(
        find("flume_channel_put_commit_duration_seconds").value,
        Value::Histogram(_)
    ));
}

#[test]
fn prometheus_text_parsed_by_a_real_parser_matches_the_json_after_the_flow_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let agent = start_agent(tmp.path(), &seq_memory_null(TOTAL));
    // The put side counts after its commit returns, which can be after the sink drained.
    let total = TOTAL.to_string();
    agent.wait_until("every event counted put and drained", || {
        let m = agent.json();
        [
            &m["SINK.k1"]["EventDrainSuccessCount"],
            &m["CHANNEL.c1"]["EventPutSuccessCount"],
            &m["SOURCE.r1"]["EventAcceptedCount"],
        ]
        .iter()
        .all(|v| v.as_str() == Some(&*total))
    });
    let before = agent.json();
    let answer = get(agent.http, "/metrics", Some("text/plain;version=0.0.4")).unwrap();
    let after = agent.json();
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let scrape = parse(&answer.body);

    let compared = compare_with_json(&before, &after, &scrape, &answer.body);
    assert!(compared >= 25, "only {compared} values compared");

    the_named_samples_have_their_values_and_types(&scrape, &answer.body);
}

#[test]
fn flume_json_is_unchanged_unless_prometheus_formats_are_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let agent = start_agent(tmp.path(), &seq_memory_null(10));
    // `/metrics` answers before the components are registered.
    agent.wait_until("the channel registered", || {
        agent.json()["CHANNEL.c1"]["Type"].as_str() == Some("CHANNEL")
    });
    for accept in [
        None,
        Some("*/*"),
        Some("application/json"),
        Some("text/plain"),
    ] {
        let a = get(agent.http, "/metrics", accept).unwrap();
        assert_eq!(a.status, 200);
        assert_eq!(
            a.header("content-type"),
            Some("application/json"),
            "{accept:?}"
        );
        let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(v["CHANNEL.c1"]["Type"], "CHANNEL");
    }
    let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let om = get(agent.http, "/metrics", Some(prom)).unwrap();
    assert_eq!(
        om.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(om.body.ends_with("# EOF\n"), "{}", om.body);
    assert!(om
        .body
        .contains("# TYPE flume_channel_event_put_success counter"));
    let always = get(agent.http, "/prometheus", None).unwrap();
    assert_eq!(always.status, 200);
    assert!(always
        .body
        .contains("# TYPE flume_channel_event_put_success_total counter"));
}
