//! The upstream-gone alarm on the real binary, with `clientGoneAfter = 2s`: a Sluice edge
//! agent (avro sink `k1` of agent `edge`) and a raw Flume-protocol client (`sluice
//! avro-client`, no call metadata) send to a collector's avro source. The raw client leaves
//! and the edge is killed with SIGKILL: each raises `r1.upstreamGone` with its IP (and, for
//! the edge, its agent and sink names), at `GET /alarms` and at the webhook; each clears when
//! its client connects again; `DELETE /alarms/upstreams` forgets them.

use crate::support::alarm_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use alarm_support::*;
use serde_json::Value;

fn collector_conf(root: &Path, avro: u16, hook: &Webhook) -> String {
    format!(
        "col.sources = r1\ncol.channels = c1\ncol.sinks = k1\n\
         col.sources.r1.type = avro\ncol.sources.r1.bind = 127.0.0.1\n\
         col.sources.r1.port = {avro}\ncol.sources.r1.channels = c1\n\
         col.sources.r1.clientGoneAfter = 2s\ncol.sources.r1.clientForgetAfter = 1h\n\
         col.channels.c1.type = memory\ncol.channels.c1.capacity = 10000\n\
         col.channels.c1.transactionCapacity = 1000\n\
         col.sinks.k1.type = file_roll\ncol.sinks.k1.channel = c1\n\
         col.sinks.k1.sink.directory = {}\ncol.sinks.k1.sink.rollInterval = 0\n\
         col.notifiers = hook\ncol.notifiers.hook.type = webhook\ncol.notifiers.hook.url = {}\n",
        root.join("out").display(),
        hook.url()
    )
}

fn edge_conf(nc: u16, avro: u16) -> String {
    format!(
        "edge.sources = r1\nedge.channels = c1\nedge.sinks = k1\n\
         edge.sources.r1.type = netcat\nedge.sources.r1.bind = 127.0.0.1\n\
         edge.sources.r1.port = {nc}\nedge.sources.r1.channels = c1\n\
         edge.channels.c1.type = memory\nedge.channels.c1.capacity = 10000\n\
         edge.channels.c1.transactionCapacity = 1000\n\
         edge.sinks.k1.type = avro\nedge.sinks.k1.channel = c1\n\
         edge.sinks.k1.hostname = 127.0.0.1\nedge.sinks.k1.port = {avro}\n\
         edge.sinks.k1.connect-timeout = 1000\nedge.sinks.k1.request-timeout = 2000\n\
         edge.sinks.k1.max-reconnect-backoff = 1000\n"
    )
}

/// Sends `lines` through the edge's netcat source (retrying until it listens).
fn through_edge(nc: u16, lines: &[String]) {
    let end = std::time::Instant::now() + WAIT;
    while netcat_send(nc, lines) != lines.len() {
        assert!(
            std::time::Instant::now() < end,
            "the edge never took the lines"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `sluice avro-client`: a raw Flume-protocol client sending `lines`.
fn raw_client(root: &Path, avro: u16, lines: &[String]) {
    let f = root.join("raw.txt");
    std::fs::write(&f, lines.join("\n") + "\n").unwrap();
    let st = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "avro-client",
            "-H",
            "127.0.0.1",
            "-p",
            &avro.to_string(),
            "-F",
        ])
        .arg(&f)
        .status()
        .unwrap();
    assert!(st.success(), "avro-client failed: {st}");
}

fn is_edge(a: &Value) -> bool {
    a["clientAgent"] == "edge" && a["clientSink"] == "k1"
}

fn is_raw(a: &Value) -> bool {
    a["clientAgent"].is_null() && a["clientSink"].is_null()
}

#[test]
fn an_upstream_gone_alarm_names_the_client_and_clears_when_it_returns() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("out")).unwrap();
    let hook = Webhook::start(Answer::Ok);
    let (avro, col_http, nc, edge_http) = (free_port(), free_port(), free_port(), free_port());
    let col = Agent::start_reloading(root, "col", &collector_conf(root, avro, &hook), col_http);
    let mut edge = Agent::start_reloading(root, "edge", &edge_conf(nc, avro), edge_http);

    let first = lines("e", 0..20);
    through_edge(nc, &first);
    wait_written(&root.join("out"), &first, &col);
    let raw_lines = lines("raw", 0..5);
    raw_client(root, avro, &raw_lines);
    wait_written(&root.join("out"), &raw_lines, &col);

    // The raw client left: gone after 2 s, with its IP and no names.
    let active = col.wait_alarms("the raw client's alarm", |a| a.iter().any(is_raw));
    let raw = active.iter().find(|a| is_raw(a)).unwrap();
    assert_eq!(raw["name"], "r1.upstreamGone");
    assert_eq!(raw["clientIp"], "127.0.0.1");
    assert_eq!(raw["source"], "r1");
    assert!(
        raw["raisedAt"].is_string() && raw["message"].is_string(),
        "{raw}"
    );
    // The edge keeps its connection open: not gone.
    assert!(!active.iter().any(is_edge), "{active:?}");

    // SIGKILL the edge: gone after 2 s, with its agent and sink names.
    edge.kill9();
    let active = col.wait_alarms("the edge's alarm", |a| a.iter().any(is_edge));
    let e = active.iter().find(|a| is_edge(a)).unwrap();
    assert_eq!(e["clientIp"], "127.0.0.1");
    assert_eq!(e["name"], "r1.upstreamGone");

    // The edge comes back and sends: its alarm clears (the raw client's stays).
    edge.restart();
    let again = lines("e", 20..30);
    through_edge(nc, &again);
    let active = col.wait_alarms("the edge's clear", |a| !a.iter().any(is_edge));
    assert!(active.iter().any(is_raw), "{active:?}");
    let bodies = hook.wait("the edge's raise and clear", |b| {
        b.iter().any(|x| is_edge(x) && x["state"] == "cleared")
    });
    let edge_states: Vec<&str> = bodies
        .iter()
        .filter(|x| is_edge(x))
        .map(|x| x["state"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(edge_states, ["raised", "cleared"]);
    let raised = bodies.iter().find(|x| is_edge(x)).unwrap();
    assert_eq!(raised["agent"], "col");
    assert_eq!(raised["source"], "r1");
    assert_eq!(raised["clientIp"], "127.0.0.1");

    // The raw client connects again: its alarm clears (and is raised again 2 s after it left).
    raw_client(root, avro, &lines("raw", 5..10));
    hook.wait("the raw client's clear", |b| {
        b.iter().any(|x| is_raw(x) && x["state"] == "cleared")
    });

    // An admin forgets the upstreams of 127.0.0.1: no upstream alarm is left, none comes back.
    let (code, body) = http(col_http, "DELETE", "/alarms/upstreams?ip=127.0.0.1");
    assert_eq!(code, 200, "{body}");
    let n: Value = serde_json::from_str(&body).unwrap();
    assert!(n["forgotten"].as_u64().is_some_and(|n| n >= 2), "{body}");
    assert!(col.alarms().is_empty(), "{:?}", col.alarms());
    std::thread::sleep(Duration::from_secs(3));
    assert!(col.alarms().is_empty(), "{:?}", col.alarms());
    let (code, _) = http(col_http, "DELETE", "/alarms/upstreams");
    assert_eq!(code, 400);
}
