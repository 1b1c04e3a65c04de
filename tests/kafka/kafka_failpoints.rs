//! Kafka agents killed with kill -9 exactly at the dangerous moments, held there by a
//! failpoint (`SLUICE_FAILPOINT`, src/agent/failpoint.rs), against a real broker:
//! - a collector (kafka source -> file channel -> file_roll) after it gathered a batch (held
//!   6 s first, longer than librdkafka's 5 s auto-commit interval, so an offset committed in
//!   the background would show as a loss), after the channel committed it but before its
//!   offsets were committed (the batch must come again: duplicates, no loss), and after the
//!   offsets were committed;
//! - an edge (netcat -> file channel -> kafka sink) after a batch was handed to the producer
//!   and after the broker acknowledged it but before the take committed (the batch must be
//!   produced again).
//!
//! Each time the restarted agent must deliver every record or line: 0 lost.

use crate::support::kafka_support;

use std::path::Path;
use std::time::Duration;

use kafka_support::*;
use sluice::agent::failpoint;

/// Records per test.
const RECORDS: usize = 300;

fn collector_conf(root: &Path, b: &Broker, topic: &str, group: &str) -> String {
    format!(
        "col.sources = r1\ncol.channels = c1\ncol.sinks = k1\n\
         col.sources.r1.type = kafka\ncol.sources.r1.channels = c1\n\
         col.sources.r1.kafka.bootstrap.servers = {bs}\ncol.sources.r1.kafka.topics = {topic}\n\
         col.sources.r1.kafka.consumer.group.id = {group}\n\
         col.sources.r1.kafka.consumer.session.timeout.ms = 6000\n\
         col.sources.r1.kafka.consumer.heartbeat.interval.ms = 500\n\
         col.sources.r1.batchSize = 100\ncol.sources.r1.batchDurationMillis = 100\n\
         col.channels.c1.type = file\ncol.channels.c1.checkpointDir = {r}/col/ck\n\
         col.channels.c1.dataDirs = {r}/col/data\n\
         col.channels.c1.minimumRequiredSpace = 1048576\n\
         col.sinks.k1.type = file_roll\ncol.sinks.k1.channel = c1\n\
         col.sinks.k1.sink.directory = {r}/col/out\ncol.sinks.k1.sink.rollInterval = 0\n",
        bs = b.bootstrap,
        r = root.display()
    )
}

fn armed(point: &str, pass: u32) -> Vec<(String, String)> {
    vec![
        (failpoint::ENV.to_owned(), format!("{point}:{pass}")),
        (
            "RUST_LOG".to_owned(),
            "info,sluice::agent::source::kafka=debug".to_owned(),
        ),
    ]
}

/// Starts a collector with `point` armed at `pass`, waits until it holds there (then `hold`
/// longer), kills it with kill -9, restarts it unarmed; returns (delivered, duplicates). With
/// `dups_expected` it also waits (bounded) for a duplicate: the batch read again can arrive
/// after the last new line.
fn collector_killed_at(
    point: &str,
    pass: u32,
    hold: Duration,
    dups_expected: bool,
) -> (usize, usize) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let b = Broker::start(root);
    let (topic, group) = (unique("fp"), unique("g"));
    b.create_topic(&topic, 2);
    let sent = lines("fp", 0..RECORDS);
    b.produce_unbatched(
        &topic,
        &sent
            .iter()
            .map(|l| l.as_bytes().to_vec())
            .collect::<Vec<_>>(),
    );
    let mut col = HttpAgent::spawn_env(
        root,
        "col",
        &collector_conf(root, &b, &topic, &group),
        vec!["--no-reload-conf".to_owned()],
        armed(point, pass),
        free_port(),
        None,
    );
    let held = format!("failpoint {point} held");
    col.wait_until(&held, || col.log_text().contains(&held));
    std::thread::sleep(hold);
    col.kill9();
    col.env.retain(|(k, _)| k != failpoint::ENV);
    col.restart_on(None);
    let end = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = wait_for_all(&[root.join("col/out")], &sent, &[&col]);
        if !dups_expected || duplicates(&got) > 0 || std::time::Instant::now() > end {
            return (got.len(), duplicates(&got));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_collector_killed_after_gathering_a_batch_loses_nothing_and_duplicates_nothing() {
    // Held 6 s: a background offset commit (librdkafka's auto-commit, every 5 s) of the
    // gathered records would make them a loss here.
    let (got, dups) = collector_killed_at(
        failpoint::KAFKA_SOURCE_GATHERED,
        2,
        Duration::from_secs(6),
        false,
    );
    assert_eq!(got, RECORDS, "every record once");
    assert_eq!(dups, 0);
}

#[test]
fn a_collector_killed_between_its_channel_commit_and_its_offset_commit_delivers_the_batch_again() {
    let (got, dups) = collector_killed_at(
        failpoint::KAFKA_SOURCE_CHANNEL_COMMITTED,
        2,
        Duration::ZERO,
        true,
    );
    assert!(got >= RECORDS);
    assert!(
        dups > 0,
        "the batch in the channel but not in the offsets is read again (at-least-once)"
    );
}

#[test]
fn a_collector_killed_after_its_offset_commit_delivers_what_its_channel_holds() {
    let (got, _dups) = collector_killed_at(
        failpoint::KAFKA_SOURCE_OFFSETS_COMMITTED,
        2,
        Duration::ZERO,
        false,
    );
    assert!(got >= RECORDS);
}

/// Starts an edge with `point` armed at the first batch, sends lines (each answered `OK`),
/// kills it where it holds, restarts it unarmed; returns (records in the topic, duplicates).
/// With `dups_expected` it also waits (bounded) for a duplicate to reach the topic.
fn edge_killed_at(point: &str, dups_expected: bool) -> (usize, usize) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let b = Broker::start(root);
    let topic = unique("fpe");
    b.create_topic(&topic, 2);
    let nc = free_port();
    let mut edge = HttpAgent::spawn_env(
        root,
        "edge",
        &edge_conf(root, &b, nc, &topic),
        vec!["--no-reload-conf".to_owned()],
        armed(point, 1),
        free_port(),
        Some(nc),
    );
    let sent = lines("e", 0..RECORDS);
    assert_eq!(send_lines(nc, &sent), RECORDS, "every line acknowledged");
    let held = format!("failpoint {point} held");
    edge.wait_until(&held, || edge.log_text().contains(&held));
    if point == failpoint::KAFKA_SINK_SENT {
        // Let the broker acknowledge what was sent: only the take commit is missing now.
        std::thread::sleep(Duration::from_secs(1));
    }
    edge.kill9();
    edge.env.retain(|(k, _)| k != failpoint::ENV);
    edge.restart_on(Some(nc));
    // Read the whole topic back until every line is there (bounded by WAIT).
    let end = std::time::Instant::now() + WAIT;
    loop {
        let bodies: Vec<String> = b
            .read_topic(&topic, Duration::from_secs(3))
            .into_iter()
            .map(|(_, _, v)| String::from_utf8_lossy(&v).into_owned())
            .collect();
        let have: std::collections::BTreeSet<&String> = bodies.iter().collect();
        let missing = sent.iter().filter(|l| !have.contains(l)).count();
        let settled = !dups_expected || duplicates(&bodies) > 0 || std::time::Instant::now() > end;
        if missing == 0 && settled {
            return (bodies.len(), duplicates(&bodies));
        }
        assert!(
            std::time::Instant::now() < end,
            "{missing} lines missing from the topic\n{}",
            edge.log_text()
        );
    }
}

#[test]
fn an_edge_killed_after_sending_a_batch_produces_it_again() {
    let (got, _dups) = edge_killed_at(failpoint::KAFKA_SINK_SENT, false);
    assert!(got >= RECORDS);
}

#[test]
fn an_edge_killed_after_the_broker_acknowledged_a_batch_but_before_its_take_committed_produces_it_again(
) {
    let (got, dups) = edge_killed_at(failpoint::KAFKA_SINK_ACKNOWLEDGED, true);
    assert!(got >= RECORDS);
    assert!(
        dups > 0,
        "the acknowledged batch whose take never committed is produced again"
    );
}

#[test]
fn records_the_broker_skips_after_a_committed_offset_are_named_never_lost_silently() {
    // One record batch of 150; the group's committed offset is set inside it (100). Kafka
    // serves 100..149 from there; tansu 0.6 serves nothing until a later batch and then only
    // that one. Either every record arrives, or the source names the gap and counts it.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let b = Broker::start(root);
    let (topic, group) = (unique("gap"), unique("g"));
    b.create_topic(&topic, 1);
    let first = lines("gap", 0..150);
    b.produce_with(
        &topic,
        &first
            .iter()
            .map(|l| l.as_bytes().to_vec())
            .collect::<Vec<_>>(),
        &[("linger.ms", "200")],
    );
    b.commit_offset(&topic, &group, 0, 100);
    let col = HttpAgent::spawn_env(
        root,
        "col",
        &collector_conf(root, &b, &topic, &group),
        vec!["--no-reload-conf".to_owned()],
        Vec::new(),
        free_port(),
        None,
    );
    let later = lines("later", 0..10);
    col.wait_until("assigned", || {
        col.log_text().contains("partitions assigned")
    });
    b.produce(
        &topic,
        &later
            .iter()
            .map(|l| l.as_bytes().to_vec())
            .collect::<Vec<_>>(),
    );
    wait_for_all(&[root.join("col/out")], &later, &[&col]);
    let have: std::collections::BTreeSet<String> =
        written(&root.join("col/out")).into_iter().collect();
    let missing = first[100..].iter().filter(|l| !have.contains(*l)).count();
    if missing == 0 {
        eprintln!("the broker served the batch from inside (as Kafka does)");
        return;
    }
    let log = col.log_text();
    assert!(
        log.contains("past its committed offset") && log.contains("committed=100"),
        "{missing} records skipped without a word:\n{log}"
    );
    col.wait_until("counted", || {
        col.counter("SOURCE.r1", "EventReadFail") >= missing as u64
    });
    eprintln!("the broker skipped {missing} records; the source named and counted them");
}
