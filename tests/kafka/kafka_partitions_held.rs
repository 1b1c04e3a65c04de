//! What each kafka source holds, and a collector killed with kill -9 taking its partitions
//! back: two collectors (kafka source -> file channel -> file_roll) in one consumer group on a
//! topic of 4 partitions.
//!
//! The scenario is the one in which tansu 0.6 leaves partitions to no member (docs/kafka.md,
//! "Partitions no member holds"): collector `ca` starts first and stays the group's leader,
//! `cb` joins, `cb` is killed and restarted. A dynamic member restarts under a new member id,
//! the leader shares the partitions among three members (the dead one included), and when the
//! dead member's session expires tansu drops it on the heartbeat path without a new
//! generation, so its share is never handed out again. With static membership
//! (`kafka.consumer.group.instance.id = auto`) the restarted collector rejoins as the member
//! it was and is handed its own partitions back: every record arrives, and the sources'
//! `KafkaPartitionsAssigned` gauges add up to the topic's 4 partitions again.
//!
//! Records are produced one per record batch (tansu 0.6 cannot fetch from inside a batch:
//! docs/kafka.md), so this test sees only the group's behaviour.
//!
//! `SLUICE_KAFKA_DYNAMIC_MEMBERS=1` runs the kill test with dynamic members instead, with
//! librdkafka's `debug = cgrp` in the collectors' logs and tansu's group coordinator in the
//! broker's: against tansu 0.6 it fails, and its output is the evidence quoted in
//! docs/kafka.md.

use crate::support::kafka_support::*;
use crate::support::status_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The group's session timeout: long enough that a static member restarted after 1 s
/// rejoins within it (tansu 0.6 holds each JoinGroup and SyncGroup of a static member 3 s).
const SESSION_TIMEOUT_MS: u64 = 30_000;
/// Set to run the kill test with dynamic members (the evidence run).
const DYNAMIC_ENV: &str = "SLUICE_KAFKA_DYNAMIC_MEMBERS";

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
         {name}.sources.r1.kafka.consumer.heartbeat.interval.ms = 500\n\
         {name}.sources.r1.batchSize = 100\n{extra}\
         {name}.channels.c1.type = file\n{name}.channels.c1.checkpointDir = {r}/{name}/ck\n\
         {name}.channels.c1.dataDirs = {r}/{name}/data\n\
         {name}.channels.c1.minimumRequiredSpace = 1048576\n\
         {name}.sinks.k1.type = file_roll\n{name}.sinks.k1.channel = c1\n\
         {name}.sinks.k1.sink.directory = {r}/{name}/out\n{name}.sinks.k1.sink.rollInterval = 0\n",
        bs = b.bootstrap,
        r = root.display()
    )
}

fn start(root: &Path, name: &str, conf: &str) -> Agent {
    let env = if dynamic() {
        vec![(
            "RUST_LOG".to_owned(),
            "info,sluice::agent::kafka=debug".to_owned(),
        )]
    } else {
        Vec::new()
    };
    HttpAgent::spawn_env(
        root,
        name,
        conf,
        vec!["--no-reload-conf".to_owned()],
        env,
        free_port(),
        None,
    )
}

fn dynamic() -> bool {
    std::env::var_os(DYNAMIC_ENV).is_some()
}

/// The source's `KafkaPartitionsAssigned` gauge (`None` until the source shows it).
fn held(a: &Agent) -> Option<u64> {
    metrics(a.http)["SOURCE.r1"]["KafkaPartitionsAssigned"]
        .as_str()
        .and_then(|v| v.parse().ok())
}

/// Waits (at most [`WAIT`]) until the collectors' gauges are `want`.
fn wait_held(cols: &[&Agent], want: &[u64]) {
    let end = Instant::now() + WAIT;
    loop {
        let now: Vec<Option<u64>> = cols.iter().map(|a| held(a)).collect();
        if now.iter().zip(want).all(|(h, w)| *h == Some(*w)) {
            return;
        }
        assert!(
            Instant::now() < end,
            "KafkaPartitionsAssigned {now:?}, want {want:?}; logs:\n{}",
            logs_of(cols.iter().map(|a| &a.proc))
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn produce(b: &Broker, topic: &str, lines: &[String]) {
    let values: Vec<Vec<u8>> = lines.iter().map(|l| l.as_bytes().to_vec()).collect();
    b.produce_unbatched(topic, &values);
}

#[test]
fn a_static_collector_killed_and_restarted_takes_its_partitions_back_and_every_record_arrives() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let b = Broker::start(root);
    let (topic, group) = (unique("logs"), unique("collectors"));
    b.create_topic(&topic, 4);
    let extra = |name: &str| {
        let membership = if dynamic() {
            format!("{name}.sources.r1.kafka.consumer.debug = cgrp\n")
        } else {
            format!("{name}.sources.r1.kafka.consumer.group.instance.id = auto\n")
        };
        format!("{name}.sources.r1.kafka.consumer.session.timeout.ms = {SESSION_TIMEOUT_MS}\n{membership}")
    };
    let ca = start(
        root,
        "ca",
        &collector_conf(root, "ca", &b, &topic, &group, &extra("ca")),
    );
    // ca is the group's first member, so its leader.
    wait_held(&[&ca], &[4]);
    let mut cb = start(
        root,
        "cb",
        &collector_conf(root, "cb", &b, &topic, &group, &extra("cb")),
    );
    wait_held(&[&ca, &cb], &[2, 2]);
    let first = lines("s", 0..400);
    produce(&b, &topic, &first);
    let dirs: Vec<PathBuf> = ["ca", "cb"]
        .iter()
        .map(|n| root.join(n).join("out"))
        .collect();
    wait_for_all(&dirs, &first, &[&ca, &cb]);

    cb.kill9();
    std::thread::sleep(Duration::from_secs(1));
    cb.restart_on(None);
    let second = lines("t", 0..400);
    produce(&b, &topic, &second);
    let all: Vec<String> = first.iter().chain(&second).cloned().collect();
    if dynamic() {
        // The dead member's session expires meanwhile: give the group twice that.
        std::thread::sleep(Duration::from_millis(2 * SESSION_TIMEOUT_MS));
        eprintln!("broker log:\n{}", b.log_text());
        eprintln!("{}", logs_of([&ca.proc, &cb.proc]));
    }
    wait_for_all(&dirs, &all, &[&ca, &cb]);
    wait_held(&[&ca, &cb], &[2, 2]);
    if dynamic() {
        return;
    }

    let host = hostname::get().unwrap().into_string().unwrap();
    let log = cb.log_text();
    assert!(
        log.contains(&format!("group_instance_id=\"{host}-cb-r1\"")),
        "the derived instance id is not in cb's subscription line:\n{log}"
    );
    // The gauge is a well-formed Prometheus gauge.
    let m = status_support::get(ca.http, "/metrics", Some("text/plain;version=0.0.4")).unwrap();
    assert!(
        m.body
            .contains("# TYPE flume_source_kafka_partitions_assigned gauge")
            && m.body.contains("flume_source_kafka_partitions_assigned{"),
        "{}",
        m.body
    );
}

#[test]
fn a_collector_that_holds_no_partition_of_its_topic_past_the_session_timeout_warns() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let b = Broker::start(root);
    let (topic, group) = (unique("one"), unique("pair"));
    b.create_topic(&topic, 1);
    let extra =
        |name: &str| format!("{name}.sources.r1.kafka.consumer.session.timeout.ms = 6000\n");
    let ca = start(
        root,
        "ca",
        &collector_conf(root, "ca", &b, &topic, &group, &extra("ca")),
    );
    wait_held(&[&ca], &[1]);
    let cb = start(
        root,
        "cb",
        &collector_conf(root, "cb", &b, &topic, &group, &extra("cb")),
    );
    let end = Instant::now() + WAIT;
    let warning = format!("has held no partition of topic {topic} (partitions: 1)");
    loop {
        let idle: Vec<&Agent> = [&ca, &cb]
            .into_iter()
            .filter(|a| held(a) == Some(0))
            .collect();
        if let [idle] = idle.as_slice() {
            if idle.log_text().contains(&warning) {
                break;
            }
        }
        assert!(
            Instant::now() < end,
            "no WARN {warning:?} from the collector holding nothing; logs:\n{}",
            logs_of([&ca.proc, &cb.proc])
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let total: u64 = [&ca, &cb].iter().filter_map(|a| held(a)).sum();
    assert_eq!(total, 1, "the one partition is held once");
}
