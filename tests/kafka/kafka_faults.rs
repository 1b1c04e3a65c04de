//! Kafka tiers under faults, against a real broker: two collectors in one consumer group with
//! one killed (kill -9), a broker restarted under a sink's backlog, a broker that refuses the
//! connection, a topic that does not exist, and records that are not Flume events.

use crate::support::kafka_support;

use std::path::Path;
use std::time::Duration;

use kafka_support::*;
use sluice_core::Event;

/// An edge: netcat on `port` -> memory -> kafka sink into `topic` (short timeouts so a dead
/// broker fails batches quickly).
fn edge_conf(bootstrap: &str, port: u16, topic: &str) -> String {
    format!(
        "edge.sources = r1\nedge.channels = c1\nedge.sinks = k1\n\
         edge.sources.r1.type = netcat\nedge.sources.r1.bind = 127.0.0.1\n\
         edge.sources.r1.port = {port}\nedge.sources.r1.channels = c1\n\
         edge.channels.c1.type = memory\nedge.channels.c1.capacity = 10000\n\
         edge.channels.c1.transactionCapacity = 1000\n\
         edge.sinks.k1.type = kafka\nedge.sinks.k1.channel = c1\n\
         edge.sinks.k1.kafka.bootstrap.servers = {bootstrap}\nedge.sinks.k1.kafka.topic = {topic}\n\
         edge.sinks.k1.kafka.producer.acks = all\n\
         edge.sinks.k1.kafka.producer.message.timeout.ms = 2000\n\
         edge.sinks.k1.kafka.producer.reconnect.backoff.max.ms = 500\n"
    )
}

/// A collector `name`: kafka source -> file channel -> file_roll into `<root>/<name>/out`.
fn collector_conf(
    root: &Path,
    name: &str,
    b: &Broker,
    topic: &str,
    group: &str,
    extra: &str,
) -> String {
    format!(
        "{name}.sources = r1\n{name}.channels = c1\n{name}.sinks = k1\n\
         {name}.sources.r1.type = kafka\n{name}.sources.r1.channels = c1\n\
         {name}.sources.r1.kafka.bootstrap.servers = {bs}\n{name}.sources.r1.kafka.topics = {topic}\n\
         {name}.sources.r1.kafka.consumer.group.id = {group}\n\
         {name}.sources.r1.kafka.consumer.session.timeout.ms = 6000\n\
         {name}.sources.r1.kafka.consumer.heartbeat.interval.ms = 500\n\
         {name}.sources.r1.batchDurationMillis = 100\n{name}.sources.r1.batchSize = 100\n{extra}\
         {name}.channels.c1.type = file\n{name}.channels.c1.checkpointDir = {r}/{name}/ck\n\
         {name}.channels.c1.dataDirs = {r}/{name}/data\n\
         {name}.channels.c1.minimumRequiredSpace = 1048576\n\
         {name}.sinks.k1.type = file_roll\n{name}.sinks.k1.channel = c1\n\
         {name}.sinks.k1.sink.directory = {r}/{name}/out\n{name}.sinks.k1.sink.rollInterval = 0\n",
        bs = b.bootstrap,
        r = root.display()
    )
}

fn values(lines: &[String]) -> Vec<Vec<u8>> {
    lines.iter().map(|l| l.as_bytes().to_vec()).collect()
}

#[test]
fn two_collectors_in_one_group_share_partitions_and_lose_nothing_when_one_is_killed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let b = Broker::start(root);
    let (topic, group) = (unique("shared"), unique("collectors"));
    b.create_topic(&topic, 4);
    let mut a = Agent::start(
        root,
        "ca",
        &collector_conf(root, "ca", &b, &topic, &group, ""),
        None,
    );
    let cb = Agent::start(
        root,
        "cb",
        &collector_conf(root, "cb", &b, &topic, &group, ""),
        None,
    );
    let (out_a, out_b) = (root.join("ca/out"), root.join("cb/out"));
    // Trickle records until both collectors wrote some: the group shares the partitions.
    // Each record is a record batch of its own: a collector's batch may end inside a producer's
    // batch, and tansu 0.6 cannot resume from inside one (docs/kafka.md, "tansu"; the source
    // reports such a gap, and tests/kafka/kafka_kill_rounds/ checks that report). This test is
    // about the group sharing and taking over partitions, so every committed offset must be a
    // place the broker can resume from.
    let mut sent = Vec::new();
    let mut wave = 0;
    while written(&out_a).is_empty() || written(&out_b).is_empty() {
        assert!(
            wave < 300,
            "the partitions were never shared:\n{}\n{}",
            a.log_text(),
            cb.log_text()
        );
        let l = lines(&format!("w{wave}"), 0..20);
        b.produce_unbatched(&topic, &values(&l));
        sent.extend(l);
        wave += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    // More records while one collector dies mid-stream.
    let l = lines("before-kill", 0..500);
    b.produce_unbatched(&topic, &values(&l));
    sent.extend(l);
    a.kill9();
    let l = lines("after-kill", 0..1000);
    b.produce_unbatched(&topic, &values(&l));
    sent.extend(l);
    // The survivor should take over the dead one's partitions from their committed offsets
    // once the session times out (6 s). tansu 0.6 was seen to rebalance without handing the
    // dead member's partitions over, so this is reported, not required; the restart below is.
    let end = std::time::Instant::now() + Duration::from_secs(20);
    let tail = lines("after-kill", 0..1000);
    let taken_over = loop {
        let have: std::collections::BTreeSet<String> = written(&out_b).into_iter().collect();
        if tail.iter().all(|l| have.contains(l)) {
            break true;
        }
        if std::time::Instant::now() >= end {
            break false;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    eprintln!("the survivor took over every partition by itself: {taken_over}");
    // The killed collector restarts: its file channel still holds what it had committed.
    a.restart_on(None);
    let got = wait_for_all(&[out_a, out_b], &sent, &[&a, &cb]);
    let dups = duplicates(&got);
    eprintln!(
        "{} records, {} delivered, {dups} duplicates",
        sent.len(),
        got.len()
    );
    assert!(
        dups <= 1000,
        "more duplicates than the uncommitted batches can explain: {dups}"
    );
}

#[test]
fn the_sink_drains_its_backlog_by_itself_after_the_broker_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut b = Broker::start(root);
    if !b.is_local() {
        eprintln!("skipped: the broker is external ({BOOTSTRAP_ENV}) and cannot be restarted");
        return;
    }
    let topic = unique("restart");
    b.create_topic(&topic, 1);
    let nc = free_port();
    let edge = Agent::start(root, "edge", &edge_conf(&b.bootstrap, nc, &topic), Some(nc));
    let first = lines("first", 0..50);
    assert_eq!(send_lines(nc, &first), first.len());
    assert_eq!(b.consume_all(&topic, 50, Duration::from_secs(20)).len(), 50);
    b.kill();
    let backlog = lines("backlog", 0..500);
    assert_eq!(
        send_lines(nc, &backlog),
        backlog.len(),
        "the channel takes them"
    );
    edge.wait_until("failed a batch", || {
        edge.counter("SINK.k1", "EventWriteFail") > 0
    });
    // The memory storage engine starts empty: the topic is created again.
    b.restart();
    b.create_topic(&topic, 1);
    let got = b.consume_all(&topic, backlog.len(), Duration::from_secs(20));
    let bodies: std::collections::BTreeSet<String> = got
        .iter()
        .map(|(v, _)| String::from_utf8(v.clone()).unwrap())
        .collect();
    let missing: Vec<&String> = backlog.iter().filter(|l| !bodies.contains(*l)).collect();
    assert!(
        missing.is_empty(),
        "{} missing, first {:?}\n{}",
        missing.len(),
        missing.first(),
        edge.log_text()
    );
}

#[test]
fn a_sink_whose_broker_refuses_connections_keeps_its_events_until_the_broker_is_up() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let port = free_port();
    let bootstrap = format!("127.0.0.1:{port}");
    let topic = unique("refused");
    let nc = free_port();
    let edge = Agent::start(root, "edge", &edge_conf(&bootstrap, nc, &topic), Some(nc));
    let sent = lines("r", 0..20);
    assert_eq!(send_lines(nc, &sent), sent.len());
    edge.wait_until("failed a batch", || {
        edge.counter("SINK.k1", "EventWriteFail") > 0
    });
    assert_eq!(edge.counter("SINK.k1", "EventDrainSuccessCount"), 0);
    // Rolled back and kept (the channel's size leaves out a batch being retried).
    edge.wait_until("the failed batch back in the channel", || {
        edge.counter("CHANNEL.c1", "ChannelSize") == 20
    });
    let Some(b) = Broker::start_on(root, port) else {
        eprintln!("skipped the recovery half: external broker");
        return;
    };
    b.create_topic(&topic, 1);
    let got = b.consume_all(&topic, sent.len(), Duration::from_secs(20));
    assert!(
        got.len() >= sent.len(),
        "{} of {}\n{}",
        got.len(),
        sent.len(),
        edge.log_text()
    );
}

#[test]
fn a_sink_to_a_topic_that_does_not_exist_fails_its_batches_with_the_topic_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let b = Broker::start(root);
    let topic = unique("missing");
    let nc = free_port();
    let edge = Agent::start(root, "edge", &edge_conf(&b.bootstrap, nc, &topic), Some(nc));
    let sent = lines("m", 0..10);
    assert_eq!(send_lines(nc, &sent), sent.len());
    // Either the broker creates topics on first use (then the events arrive), or the batch
    // fails with the topic named and stays in the channel until the topic exists.
    let end = std::time::Instant::now() + WAIT;
    loop {
        if edge.counter("SINK.k1", "EventDrainSuccessCount") >= 10 {
            eprintln!("the broker created the topic on first use");
            break;
        }
        if edge.counter("SINK.k1", "EventWriteFail") > 0 {
            // The counter is added before the failure is logged and the batch rolled back.
            edge.wait_until("the topic named in the log", || {
                edge.log_text().contains(&topic)
            });
            edge.wait_until("the failed batch back in the channel", || {
                edge.counter("CHANNEL.c1", "ChannelSize") == 10
            });
            b.create_topic(&topic, 1);
            break;
        }
        assert!(std::time::Instant::now() < end, "{}", edge.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    let got = b.consume_all(&topic, sent.len(), Duration::from_secs(20));
    assert!(
        got.len() >= sent.len(),
        "{} of {}\n{}",
        got.len(),
        sent.len(),
        edge.log_text()
    );
}

#[test]
fn records_that_are_not_flume_events_are_skipped_counted_and_the_source_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let b = Broker::start(root);
    let topic = unique("bad");
    b.create_topic(&topic, 1);
    let enc = |s: &str| sluice::agent::kafka::format::encode(&Event::new(s.as_bytes().to_vec()));
    b.produce(
        &topic,
        &[
            enc("good-1"),
            b"plain text, not avro".to_vec(),
            enc("good-2"),
        ],
    );
    let extra = "col.sources.r1.useFlumeEventFormat = true\n";
    let col = Agent::start(
        root,
        "col",
        &collector_conf(root, "col", &b, &topic, &unique("g"), extra),
        None,
    );
    let want = vec!["good-1".to_owned(), "good-2".to_owned()];
    let got = wait_for_all(&[root.join("col/out")], &want, &[&col]);
    assert_eq!(got, want);
    col.wait_until("counted the bad record", || {
        col.counter("SOURCE.r1", "EventReadFail") == 1
    });
    let log = col.log_text();
    assert!(log.contains("not a Flume event"), "{log}");
    assert!(log.contains(&topic), "the error names the topic: {log}");
    // And it keeps going.
    b.produce(&topic, &[enc("good-3")]);
    wait_for_all(&[root.join("col/out")], &["good-3".to_owned()], &[&col]);
}
