//! An `otlp` sink with `ssl = true` but no truststore, towards a collector whose certificate
//! the test CA signed (so only the public web roots are trusted, and they do not sign it):
//! over gRPC and HTTP the sink logs a failure naming the endpoint and the certificate
//! problem, and takes nothing: every event stays in the edge's channel, none reaches the
//! collector.

use std::time::{Duration, Instant};

use crate::otlp_sink::{collector_conf, edge_conf, endpoint};
use crate::support::multihop::{logs_of, metrics, Proc, WAIT};
use crate::support::otel_support::*;
use crate::support::ports::free_port;

fn untrusted(protocol: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let port = free_port();
    let mut col = Proc::start(
        root,
        "col",
        &collector_conf(root, protocol, port, true),
        port,
        &[],
    );
    let (http, mon) = (free_port(), free_port());
    let args = [
        "-Dflume.monitoring.type=http".to_owned(),
        format!("-Dflume.monitoring.port={mon}"),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut conf = edge_conf(root, http, protocol, &endpoint(protocol, port, true));
    conf += "edge.sinks.k1.ssl = true\n";
    let mut edge = Proc::start(root, "edge", &conf, http, &args);
    let n = 40;
    let json: Vec<_> = (0..n)
        .map(|i| serde_json::json!({"headers": {"n": i.to_string()}, "body": format!("b{i}")}))
        .collect();
    assert_eq!(
        post_json(http, &serde_json::Value::from(json).to_string()),
        200
    );
    let want = format!("TLS handshake with 127.0.0.1:{port} failed");
    let end = Instant::now() + WAIT;
    // Two failed deliveries: the first rolled back and the sink tried again.
    while edge.log_text().matches(&want).count() < 2 {
        assert!(
            Instant::now() < end,
            "{protocol}: no handshake failure logged\n{}",
            logs_of([&edge, &col])
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = edge.log_text();
    let line = log.lines().find(|l| l.contains(&want)).unwrap_or_default();
    assert!(
        line.contains("not signed by a CA in the truststore")
            && line.contains("no truststore is set"),
        "{protocol}: the failure names the certificate problem: {line}"
    );
    let m = metrics(mon);
    assert_eq!(
        m["CHANNEL.c1"]["ChannelSize"].as_str(),
        Some(n.to_string().as_str()),
        "{protocol}: every event stays in the edge's channel: {m}"
    );
    assert_eq!(
        m["SINK.k1"]["EventDrainSuccessCount"].as_str(),
        Some("0"),
        "{m}"
    );
    edge.stop();
    col.stop();
    assert!(
        dump(root, "col", "c1").is_empty(),
        "{protocol}: nothing reached the collector"
    );
}

#[test]
fn an_otlp_grpc_sink_without_the_truststore_names_the_certificate_problem_and_takes_nothing() {
    untrusted("grpc");
}

#[test]
fn an_otlp_http_sink_without_the_truststore_names_the_certificate_problem_and_takes_nothing() {
    untrusted("http");
}
