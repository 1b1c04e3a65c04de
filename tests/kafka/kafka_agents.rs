//! Agents on Kafka, against a real broker (tansu, or `SLUICE_KAFKA_BOOTSTRAP`): an edge
//! (netcat -> memory -> kafka sink) writing a topic that a collector (kafka source -> memory
//! -> kafka sink) copies to a second topic the test reads, with and without
//! `useFlumeEventFormat`; headers arrive both ways (inside the Avro event, or as Kafka
//! record headers through `header.NAME`).

use crate::support::kafka_support;

use std::path::Path;
use std::time::Duration;

use kafka_support::*;

/// An edge agent: netcat on `port` -> memory -> kafka sink into `topic`, every event tagged
/// `dc=eu` by a static interceptor.
fn edge_conf(b: &Broker, port: u16, topic: &str, flume_format: bool) -> String {
    format!(
        "edge.sources = r1\nedge.channels = c1\nedge.sinks = k1\n\
         edge.sources.r1.type = netcat\nedge.sources.r1.bind = 127.0.0.1\n\
         edge.sources.r1.port = {port}\nedge.sources.r1.channels = c1\n\
         edge.sources.r1.interceptors = i1\nedge.sources.r1.interceptors.i1.type = static\n\
         edge.sources.r1.interceptors.i1.key = dc\nedge.sources.r1.interceptors.i1.value = eu\n\
         edge.channels.c1.type = memory\nedge.channels.c1.capacity = 10000\n\
         edge.channels.c1.transactionCapacity = 1000\n\
         edge.sinks.k1.type = kafka\nedge.sinks.k1.channel = c1\n\
         edge.sinks.k1.kafka.bootstrap.servers = {bs}\nedge.sinks.k1.kafka.topic = {topic}\n\
         edge.sinks.k1.kafka.producer.acks = all\n\
         edge.sinks.k1.useFlumeEventFormat = {flume_format}\n\
         edge.sinks.k1.header.dc = dc\n",
        bs = b.bootstrap
    )
}

/// A collector: kafka source on `topic` -> memory -> kafka sink into `out` (the topic header
/// the source sets must not send the events back to `topic`: allowTopicOverride = false).
fn collector_conf(b: &Broker, topic: &str, out: &str, group: &str, flume_format: bool) -> String {
    format!(
        "col.sources = r1\ncol.channels = c1\ncol.sinks = k1\n\
         col.sources.r1.type = kafka\ncol.sources.r1.channels = c1\n\
         col.sources.r1.kafka.bootstrap.servers = {bs}\ncol.sources.r1.kafka.topics = {topic}\n\
         col.sources.r1.kafka.consumer.group.id = {group}\n\
         col.sources.r1.batchDurationMillis = 200\n\
         col.sources.r1.useFlumeEventFormat = {flume_format}\n\
         col.channels.c1.type = memory\ncol.channels.c1.capacity = 10000\n\
         col.channels.c1.transactionCapacity = 1000\n\
         col.sinks.k1.type = kafka\ncol.sinks.k1.channel = c1\n\
         col.sinks.k1.kafka.bootstrap.servers = {bs}\ncol.sinks.k1.kafka.topic = {out}\n\
         col.sinks.k1.allowTopicOverride = false\ncol.sinks.k1.flumeBatchSize = 1000\n\
         col.sinks.k1.header.dc = dc\ncol.sinks.k1.header.topic = from\n",
        bs = b.bootstrap
    )
}

fn round_trip(root: &Path, flume_format: bool) {
    let b = Broker::start(root);
    let (topic, out) = (unique("edge"), unique("out"));
    b.create_topic(&topic, 2);
    b.create_topic(&out, 1);
    let nc = free_port();
    let edge = Agent::start(
        root,
        "edge",
        &edge_conf(&b, nc, &topic, flume_format),
        Some(nc),
    );
    let col = Agent::start(
        root,
        "col",
        &collector_conf(&b, &topic, &out, &unique("g"), flume_format),
        None,
    );
    let sent = lines("x", 0..300);
    assert_eq!(send_lines(nc, &sent), sent.len());
    let got = b.consume_all(&out, sent.len(), Duration::from_secs(30));
    let bodies: std::collections::BTreeSet<String> = got
        .iter()
        .map(|(v, _)| String::from_utf8(v.clone()).unwrap())
        .collect();
    let want: std::collections::BTreeSet<String> = sent.iter().cloned().collect();
    assert_eq!(
        bodies,
        want,
        "edge log:\n{}\ncollector log:\n{}",
        edge.log_text(),
        col.log_text()
    );
    for (_, h) in &got {
        assert_eq!(h.get("dc").map(String::as_str), Some("eu"), "{h:?}");
        assert_eq!(
            h.get("from"),
            Some(&topic),
            "the source's topic header: {h:?}"
        );
    }
}

#[test]
fn events_cross_two_agents_through_kafka_with_the_flume_event_format() {
    let tmp = tempfile::tempdir().unwrap();
    round_trip(tmp.path(), true);
}

#[test]
fn events_cross_two_agents_through_kafka_as_plain_bodies_with_kafka_headers() {
    let tmp = tempfile::tempdir().unwrap();
    round_trip(tmp.path(), false);
}
