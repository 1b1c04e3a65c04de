//! The trust boundary of exactly-once (issue 64, item 4), on the real binary: an http or otlp
//! client that posts an event with a forged `sluiceId` covering an edge's future ids is
//! answered 200, but its id is removed (those sources do not trust their peers' ids), so the
//! collector still writes every later line of the edge; and a forged id of a channel's own
//! origin near `u64::MAX`, from a source told to trust its peers, is refused by the channel
//! (numbered afresh), so neither a panic nor a lost line follows a restart.

use std::path::Path;
use std::time::Duration;

use crate::support::agent_proc::{counter, HttpAgent, Proc};
use crate::support::lines_support::netcat_send;
use crate::support::multihop::{avro_sink, edge_conf, lines, wait_for_all};
use crate::support::otel_support::post_json_to as post;
use crate::support::ports::free_port;
use crate::support::wait::wait_until;

/// One http-source event (Flume's JSON handler) carrying `id`.
fn http_event(id: &str, body: &str) -> String {
    serde_json::json!([{"headers": {"sluiceId": id}, "body": body}]).to_string()
}

/// One OTLP/HTTP JSON log record whose attribute `sluiceId` is `id` (a header, by the
/// source's mapping).
fn otlp_record(id: &str, body: &str) -> String {
    serde_json::json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [{
        "body": {"stringValue": body},
        "attributes": [{"key": "sluiceId", "value": {"stringValue": id}}]
    }]}]}]})
    .to_string()
}

/// A collector: avro `r1` (also into a memory channel whose logger shows the ids), http
/// `r2` and otlp/http `r3`, all into file channel c1 -> file_roll `<root>/col/out`.
fn collector_conf(root: &Path, avro: u16, http: u16, otlp: u16) -> String {
    format!(
        "col.sources = r1 r2 r3\ncol.channels = c1 c2\ncol.sinks = k1 k2\n\
         col.sources.r1.type = avro\ncol.sources.r1.bind = 127.0.0.1\ncol.sources.r1.port = {avro}\n\
         col.sources.r1.channels = c1 c2\ncol.sources.r1.selector.optional = c2\n\
         col.sources.r2.type = http\ncol.sources.r2.bind = 127.0.0.1\ncol.sources.r2.port = {http}\n\
         col.sources.r2.channels = c1\n\
         col.sources.r3.type = otlp\ncol.sources.r3.protocol = http\n\
         col.sources.r3.bind = 127.0.0.1\ncol.sources.r3.port = {otlp}\ncol.sources.r3.channels = c1\n\
         col.channels.c1.type = file\ncol.channels.c1.checkpointDir = {r}/col/ck\n\
         col.channels.c1.dataDirs = {r}/col/data\ncol.channels.c1.minimumRequiredSpace = 1048576\n\
         col.channels.c2.type = memory\n\
         col.sinks.k1.type = file_roll\ncol.sinks.k1.channel = c1\n\
         col.sinks.k1.sink.directory = {r}/col/out\ncol.sinks.k1.sink.rollInterval = 0\n\
         col.sinks.k2.type = logger\ncol.sinks.k2.channel = c2\ncol.sinks.k2.keepEventId = true\n",
        r = root.display()
    )
}

/// The origin of the edge's ids, from the collector logger's line of the first event.
fn edge_origin(col: &Proc) -> String {
    let mut origin = None;
    wait_until(
        Duration::from_secs(60),
        || {
            origin = col.log_text().lines().find_map(|l| {
                let at = l.find("sluiceId=")? + "sluiceId=".len();
                l.get(at..at + 16).map(str::to_owned)
            });
            origin.is_some()
        },
        || format!("the logger never showed an id:\n{}", col.log_text()),
    );
    origin.unwrap_or_default()
}

#[test]
fn ids_forged_over_http_and_otlp_are_removed_so_every_later_line_of_the_edge_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (avro, http, otlp, col_mon) = (free_port(), free_port(), free_port(), free_port());
    let col = HttpAgent::spawn(
        root,
        "col",
        &collector_conf(root, avro, http, otlp),
        vec!["--no-reload-conf".into()],
        col_mon,
        Some(otlp),
    );
    let edge_port = free_port();
    let edge = Proc::start(
        root,
        "edge",
        &edge_conf(root, edge_port, "k1", &avro_sink("k1", avro)),
        edge_port,
        &[],
    );
    let first = lines("first", 0..1);
    assert_eq!(netcat_send(edge_port, &first), 1);
    let origin = edge_origin(&col);
    // Every id of the edge's origin from 5 on, claimed by one event each way.
    let forged = format!("{origin}:5-{}", u64::MAX);
    assert_eq!(post(http, "/", &http_event(&forged, "forged-http")), 200);
    assert_eq!(
        post(otlp, "/v1/logs", &otlp_record(&forged, "forged-otlp")),
        200
    );
    let later = lines("later", 0..2_000);
    assert_eq!(netcat_send(edge_port, &later), later.len());
    let mut want = first;
    want.extend(later);
    want.push("forged-http".into());
    want.push("forged-otlp".into());
    let got = wait_for_all(&[root.join("col/out")], &want, &[&col, &edge]);
    assert_eq!(got.len(), want.len(), "each line once");
    assert_eq!(counter(col_mon, "CHANNEL.c1", "EventDuplicateCount"), 0);
    assert_eq!(counter(col_mon, "SOURCE.r2", "EventIdStrippedCount"), 1);
    assert_eq!(counter(col_mon, "SOURCE.r3", "EventIdStrippedCount"), 1);
    let log = col.log_text();
    assert!(
        log.contains("removed the sluiceId header"),
        "the removal is logged:\n{log}"
    );
}

#[test]
fn an_own_id_near_the_limit_from_a_trusted_peer_is_refused_and_a_restart_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (avro, col_http, col_otlp, col_mon) = (free_port(), free_port(), free_port(), free_port());
    let col = HttpAgent::spawn(
        root,
        "col",
        &collector_conf(root, avro, col_http, col_otlp),
        vec!["--no-reload-conf".into()],
        col_mon,
        Some(col_otlp),
    );
    // The edge also has an http source told to trust its peers' ids: a compromised or
    // careless upstream, whose forgeries only the channel's own checks stop.
    let (edge_port, edge_http, edge_mon) = (free_port(), free_port(), free_port());
    let edge_conf = edge_conf(root, edge_port, "k1", &avro_sink("k1", avro)).replace(
        "edge.sources = r1\n",
        &format!(
            "edge.sources = r1 r2\nedge.sources.r2.type = http\nedge.sources.r2.bind = 127.0.0.1\n\
             edge.sources.r2.port = {edge_http}\nedge.sources.r2.channels = c1\n\
             edge.sources.r2.trustEventIds = true\n"
        ),
    );
    let mut edge = HttpAgent::spawn(
        root,
        "edge",
        &edge_conf,
        vec!["--no-reload-conf".into()],
        edge_mon,
        Some(edge_port),
    );
    let first = lines("first", 0..1);
    assert_eq!(netcat_send(edge_port, &first), 1);
    let origin = edge_origin(&col);
    for (i, id) in [
        format!("{origin}:{}-{}", u64::MAX - 1, u64::MAX),
        format!("{origin}:{}", i64::MAX),
        format!("{origin}:1000000"),
    ]
    .iter()
    .enumerate()
    {
        let status = post(edge_http, "/", &http_event(id, &format!("forged{i}")));
        assert_eq!(status, 200, "{id}");
    }
    assert_eq!(counter(edge_mon, "CHANNEL.c1", "EventIdRefusedCount"), 3);
    edge.proc.kill9();
    edge.proc.restart();
    let later = lines("later", 0..950);
    assert_eq!(netcat_send(edge_port, &later), later.len());
    let mut want = first;
    want.extend(later);
    want.extend((0..3).map(|i| format!("forged{i}")));
    let got = wait_for_all(&[root.join("col/out")], &want, &[&col, &edge]);
    // The kill may make the edge resend a batch the collector had committed: dropped as a
    // duplicate, so every line is still written once.
    assert_eq!(got.len(), want.len(), "each line once");
    let log = edge.log_text();
    assert!(!log.contains("panicked"), "{log}");
    assert!(
        log.contains("does not take"),
        "the refusal is logged:\n{log}"
    );
}
