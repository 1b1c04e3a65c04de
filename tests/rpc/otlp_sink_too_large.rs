//! A batch the receiver refuses as too large (HTTP 413: the collector's otlp source past its
//! `maxRequestBytes`) is split down to the one event it refuses alone (issue 87): that event
//! is dead-lettered, every other event of the batch arrives once.

use std::collections::BTreeMap;

use crate::support::multihop::{edge_conf, wait_for_all, Proc};
use crate::support::otel_support::{file_channel, otlp_source};
use crate::support::ports::free_port;

#[test]
fn a_batch_answered_413_is_split_and_only_the_event_too_large_is_dead_lettered() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let col_port = free_port();
    let mut col = String::from("col.sources = r1\ncol.channels = c1\ncol.sinks = k1\n");
    col += &otlp_source("col", "r1", "http", col_port, "c1");
    col += "col.sources.r1.maxRequestBytes = 65536\n";
    col += &file_channel(root, "col", "c1");
    col += &format!(
        "col.sinks.k1.type = file_roll\ncol.sinks.k1.channel = c1\n\
         col.sinks.k1.sink.directory = {r}/col/out\ncol.sinks.k1.sink.rollInterval = 0\n",
        r = root.display()
    );
    let collector = Proc::start(root, "col", &col, col_port, &[]);
    let port = free_port();
    let sink = format!(
        "edge.sinks.k1.type = otlp\nedge.sinks.k1.channel = c1\nedge.sinks.k1.protocol = http\n\
         edge.sinks.k1.endpoint = http://127.0.0.1:{col_port}/v1/logs\n\
         edge.sinks.k1.batchSize = 100\nedge.sinks.k1.deadLetter.directory = {}/dead\n\
         edge.sources.r1.max-line-length = 1048576\n",
        root.display()
    );
    let conf = edge_conf(root, port, "k1", &sink);
    let edge = Proc::start(root, "edge", &conf, port, &[]);
    let small: Vec<String> = (0..300).map(|i| format!("line-{i:04}")).collect();
    let big = format!("big-{}", "x".repeat(200 << 10));
    let mut lines = small[..50].to_vec();
    lines.push(big);
    lines.extend_from_slice(&small[50..]);
    assert_eq!(
        crate::support::lines_support::netcat_send(port, &lines),
        lines.len()
    );
    let got = wait_for_all(&[root.join("col/out")], &small, &[&edge, &collector]);
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for l in &got {
        *count.entry(l.as_str()).or_default() += 1;
    }
    assert!(count.values().all(|n| *n == 1), "a line twice");
    assert_eq!(got.len(), small.len(), "only the small lines arrive");
    let dead = std::fs::read_to_string(root.join("dead").join("k1.deadletter.jsonl")).unwrap();
    assert_eq!(dead.lines().count(), 1, "{:.300}", dead);
    assert!(dead.contains("413"), "{:.300}", dead);
}
