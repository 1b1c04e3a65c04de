//! The `otlp` sink in real agent processes: an edge (http source -> file channel -> otlp
//! sink) exports to a collector (otlp source -> file channel) over gRPC and over
//! HTTP/protobuf; every event arrives with exactly its headers and body, and the records the
//! collector rejects through `partial_success` (over its `maxEventBytes`) are exactly those
//! in the edge's dead-letter file, while every other event arrives once. The same over TLS
//! both ways: the collector's source with `ssl = true` and the test keystore, the edge's
//! sink with `ssl = true`, an `https://` endpoint and the test CA as its truststore.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::multihop::{logs_of, metrics, Proc, WAIT};
use crate::support::otel_support::*;
use crate::support::ports::free_port;

/// A file of the test TLS material (tests/support/net_support/tls).
pub fn tls_file(name: &str) -> String {
    format!(
        "{}/tests/support/net_support/tls/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

pub fn collector_conf(root: &Path, protocol: &str, port: u16, tls: bool) -> String {
    let mut c = String::from("col.sources = r1\ncol.channels = c1\n");
    c += &otlp_source("col", "r1", protocol, port, "c1");
    c += "col.sources.r1.maxEventBytes = 2000\n";
    if tls {
        c += &format!(
            "col.sources.r1.ssl = true\ncol.sources.r1.keystore = {}\n",
            tls_file("keystore.pem")
        );
    }
    c += &file_channel(root, "col", "c1");
    c
}

pub fn edge_conf(root: &Path, http: u16, protocol: &str, endpoint: &str) -> String {
    let mut c = String::from("edge.sources = r1\nedge.channels = c1\nedge.sinks = k1\n");
    c += &format!(
        "edge.sources.r1.type = http\nedge.sources.r1.bind = 127.0.0.1\n\
         edge.sources.r1.port = {http}\nedge.sources.r1.channels = c1\n"
    );
    c += &file_channel(root, "edge", "c1");
    c += &format!(
        "edge.sinks.k1.type = otlp\nedge.sinks.k1.channel = c1\nedge.sinks.k1.protocol = {protocol}\n\
         edge.sinks.k1.endpoint = {endpoint}\nedge.sinks.k1.batchSize = 50\n\
         edge.sinks.k1.requestTimeout = 20000\n\
         edge.sinks.k1.deadLetter.directory = {}/dead\n",
        root.display()
    );
    c
}

/// Event `i`: headers that look like the mapping's own and some that do not, and a body;
/// every 7th event's body is too large for the collector.
fn event(i: usize) -> (BTreeMap<String, String>, String) {
    let mut h = BTreeMap::new();
    h.insert("n".to_owned(), i.to_string());
    h.insert("host".to_owned(), format!("web-{}", i % 3));
    h.insert(
        "otel.resource.service.name".to_owned(),
        format!("svc{}", i % 2),
    );
    h.insert("otel.scope.name".to_owned(), "lib".to_owned());
    h.insert(
        "timestamp".to_owned(),
        if i % 5 == 0 {
            "0042".to_owned()
        } else {
            (1_700_000_000_000u64 + i as u64).to_string()
        },
    );
    h.insert("otel.severity_number".to_owned(), (i % 24 + 1).to_string());
    h.insert(
        "otel.trace_id".to_owned(),
        if i % 2 == 0 {
            format!("{:032x}", i + 1)
        } else {
            "not hex".to_owned()
        },
    );
    h.insert("empty".to_owned(), String::new());
    let body = if i % 7 == 3 {
        format!("big-{i} {}", "x".repeat(3000))
    } else {
        format!("body-{i} ü \t\"q\"")
    };
    (h, body)
}

/// Reads `<root>/dead/k1.deadletter.jsonl`: the `n` header of each whole line (the sink may
/// be writing the last one while the test reads).
fn dead_letters(root: &Path) -> Vec<usize> {
    let text = std::fs::read_to_string(root.join("dead/k1.deadletter.jsonl")).unwrap_or_default();
    text.split_inclusive('\n')
        .filter_map(|l| l.strip_suffix('\n'))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(
                v["reason"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("maxEventBytes"),
                "{l}"
            );
            v["headers"]["n"].as_str().unwrap().parse().unwrap()
        })
        .collect()
}

/// The sink's endpoint for a collector on `port`.
pub fn endpoint(protocol: &str, port: u16, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    match protocol {
        "grpc" => format!("{scheme}://127.0.0.1:{port}"),
        _ => format!("{scheme}://127.0.0.1:{port}/v1/logs"),
    }
}

/// The edge: http source on `http` -> file channel -> otlp sink to the collector on `port`
/// (over TLS when `tls`), its metrics on `mon`.
fn start_edge(
    root: &Path,
    protocol: &str,
    (port, tls): (u16, bool),
    (http, mon): (u16, u16),
) -> Proc {
    let endpoint = endpoint(protocol, port, tls);
    let args = [
        "-Dflume.monitoring.type=http".to_owned(),
        format!("-Dflume.monitoring.port={mon}"),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut conf = edge_conf(root, http, protocol, &endpoint);
    if tls {
        conf += &format!(
            "edge.sinks.k1.ssl = true\nedge.sinks.k1.truststore = {}\n\
             edge.sinks.k1.truststore-type = PEM\n",
            tls_file("ca.pem")
        );
    }
    Proc::start(root, "edge", &conf, http, &args)
}

/// Each event the collector holds is the one sent, headers and body exactly, with the id
/// the edge's file channel gave it.
fn each_event_arrived_whole(
    protocol: &str,
    got: Vec<(serde_json::Value, String)>,
    all: &[(BTreeMap<String, String>, String)],
) {
    for (headers, body) in got {
        let i: usize = headers["n"].as_str().unwrap().parse().unwrap();
        let (want_h, want_b) = &all[i];
        let mut got_h: BTreeMap<String, String> = serde_json::from_value(headers).unwrap();
        // The edge's file channel gave the event its id, and it travels (exactly-once).
        let id = got_h.remove(sluice_core::dedup::EVENT_ID_HEADER);
        assert!(
            id.as_deref()
                .and_then(sluice_core::dedup::IdSpan::parse)
                .is_some(),
            "{protocol}: event {i} lost its id over OTLP: {id:?}"
        );
        assert_eq!(&got_h, want_h, "{protocol}: event {i}'s headers");
        assert_eq!(&body, want_b, "{protocol}: event {i}'s body");
    }
}

fn round_trip(protocol: &str, tls: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let port = free_port();
    let mut col = Proc::start(
        root,
        "col",
        &collector_conf(root, protocol, port, tls),
        port,
        &[],
    );
    let (http, mon) = (free_port(), free_port());
    let mut edge = start_edge(root, protocol, (port, tls), (http, mon));
    let n = 300;
    let all: Vec<_> = (0..n).map(event).collect();
    for chunk in all.chunks(60) {
        let json: Vec<_> = chunk
            .iter()
            .map(|(h, b)| serde_json::json!({"headers": h, "body": b}))
            .collect();
        assert_eq!(
            post_json(http, &serde_json::Value::from(json).to_string()),
            200
        );
    }
    let big: Vec<usize> = (0..n).filter(|i| i % 7 == 3).collect();
    let end = std::time::Instant::now() + WAIT;
    let drained = || metrics(mon)["CHANNEL.c1"]["ChannelSize"].as_str() == Some("0");
    while dead_letters(root).len() < big.len() || !drained() {
        assert!(
            std::time::Instant::now() < end,
            "{protocol}: not drained\n{}",
            logs_of([&edge, &col])
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    edge.stop();
    col.stop();
    let mut dead = dead_letters(root);
    dead.sort_unstable();
    assert_eq!(
        dead, big,
        "{protocol}: exactly the rejected records are dead-lettered"
    );
    let got = dump(root, "col", "c1");
    assert_eq!(
        got.len(),
        n - big.len(),
        "{protocol}: every other event once"
    );
    each_event_arrived_whole(protocol, got, &all);
}

#[test]
fn sluice_to_sluice_over_otlp_grpc_keeps_headers_and_bodies_exactly() {
    round_trip("grpc", false);
}

#[test]
fn sluice_to_sluice_over_otlp_http_keeps_headers_and_bodies_exactly() {
    round_trip("http", false);
}

#[test]
fn sluice_to_sluice_over_otlp_grpc_with_tls_both_ways_keeps_headers_and_bodies_exactly() {
    round_trip("grpc", true);
}

#[test]
fn sluice_to_sluice_over_otlp_http_with_tls_both_ways_keeps_headers_and_bodies_exactly() {
    round_trip("http", true);
}
