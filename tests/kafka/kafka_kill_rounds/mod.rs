//! The operator's Kafka scenario in rounds, against a real broker: an edge (netcat -> file
//! channel -> kafka sink, `acks = all`, `flumeBatchSize = 100`) writes a topic of 4
//! partitions that two collectors in one consumer group (kafka source, `batchSize = 100` ->
//! file channel -> file_roll) read. 4,000 lines are sent, each counted only once answered
//! `OK`; 1-3 s in, a process is killed with kill -9 and restarted 1 s later: one collector
//! (variant `one`), each collector in turn (`alternate`), or the edge (`edge`). Every
//! acknowledged line must reach a collector's output.
//!
//! When lines are still undelivered after 90 s, the topic is read back by a plain consumer
//! and the group's committed offsets are fetched, and the test says where each line is:
//! never in the topic (the edge lost it), before the group's committed offset (a collector
//! committed past it), or at or after it (no member consumed it). tansu 0.6 has two faults
//! any client hits (docs/kafka.md, "tansu 0.6", shown there with kafka-python): a dead
//! member's partitions never handed out again (it expires on a formed group's heartbeat path
//! without a new generation: "Partitions no member holds"), and a fetch from inside a stored
//! record batch that skips the rest of that batch. The test heals the first as an operator
//! does (stops both collectors gracefully and starts them again), and only the first: a line
//! stuck in a partition a live collector held (its last `kafka partitions held now` line)
//! fails the round, healed or not. The second the kafka source reports itself
//! (a WARN with the partition, the committed offset and the first offset served), or, at the
//! end of the stream where no later record shows the gap, a plain consumer started at the
//! group's committed offset is served nothing. A line still undelivered after the restart
//! fails the round unless it lies in such a reported gap, or at or after the group's
//! committed offset of a partition the broker does not serve from there (checked against the
//! topic's offsets): a line Sluice skipped, dropped or never produced always fails.
//!
//! CI runs one round of each variant; `SLUICE_KAFKA_ROUNDS=N` runs N rounds of each (the
//! issue's 30: `SLUICE_KAFKA_ROUNDS=30 cargo test --release --test kafka kafka_kill_rounds:: --
//! --nocapture`), and prints lost and duplicated lines over all rounds.
//!
//! This file holds the rounds; `evidence.rs` the wait for delivery, the operator's heal and
//! where each undelivered line is.

mod evidence;

use crate::support::kafka_support;
use evidence::{broker_skipped, Heal};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kafka_support::*;

/// Lines per round.
const LINES: usize = 4000;
/// Lines per netcat exchange (the sender paces them over a few seconds).
const CHUNK: usize = 100;
/// Longest wait for every acknowledged line after the round's kill.
const DELIVERY_WAIT: Duration = Duration::from_secs(90);

/// Which process a round kills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    /// One collector, restarted 1 s later.
    One,
    /// Collector a, then collector b, each restarted 1 s later.
    Alternate,
    /// The edge agent, restarted 1 s later (lines not answered `OK` are sent again).
    Edge,
}

fn collector_conf(root: &Path, name: &str, b: &Broker, topic: &str, group: &str) -> String {
    format!(
        "{name}.sources = r1\n{name}.channels = c1\n{name}.sinks = k1\n\
         {name}.sources.r1.type = kafka\n{name}.sources.r1.channels = c1\n\
         {name}.sources.r1.kafka.bootstrap.servers = {bs}\n{name}.sources.r1.kafka.topics = {topic}\n\
         {name}.sources.r1.kafka.consumer.group.id = {group}\n\
         {name}.sources.r1.kafka.consumer.auto.offset.reset = earliest\n\
         {name}.sources.r1.kafka.consumer.session.timeout.ms = 6000\n\
         {name}.sources.r1.kafka.consumer.heartbeat.interval.ms = 500\n\
         {name}.sources.r1.batchSize = 100\n\
         {name}.channels.c1.type = file\n{name}.channels.c1.checkpointDir = {r}/{name}/ck\n\
         {name}.channels.c1.dataDirs = {r}/{name}/data\n\
         {name}.channels.c1.minimumRequiredSpace = 1048576\n\
         {name}.sinks.k1.type = file_roll\n{name}.sinks.k1.channel = c1\n\
         {name}.sinks.k1.sink.directory = {r}/{name}/out\n{name}.sinks.k1.sink.rollInterval = 0\n",
        bs = b.bootstrap,
        r = root.display()
    )
}

/// Debug lines of the kafka source (batches and offset commits) for the evidence.
fn debug_env() -> Vec<(String, String)> {
    vec![(
        "RUST_LOG".to_owned(),
        "info,sluice::agent::source::kafka=debug".to_owned(),
    )]
}

/// What one round delivered.
struct Outcome {
    acknowledged: usize,
    /// Acknowledged lines never delivered, even after the collectors' restart.
    lost: Vec<String>,
    /// Acknowledged lines the broker never served (a resume gap the source reported).
    skipped: usize,
    /// Acknowledged lines not delivered until the collectors were restarted.
    stuck: usize,
    duplicates: usize,
}

/// Sends `lines` to the edge in chunks until every one was answered `OK` (re-sending what a
/// killed edge did not answer); returns when all are acknowledged or `deadline` passed.
fn send_all(port: u16, lines: &[String], deadline: Instant) -> usize {
    let mut acked = 0;
    while acked < lines.len() && Instant::now() < deadline {
        let chunk = &lines[acked..(acked + CHUNK).min(lines.len())];
        let ok = send_lines(port, chunk);
        acked += ok;
        if ok < chunk.len() {
            // The edge is down (killed): wait for it to listen again.
            std::thread::sleep(Duration::from_millis(100));
        } else {
            std::thread::sleep(Duration::from_millis(60));
        }
    }
    acked
}

/// The two collectors, `ca` and `cb`, in one consumer group on `topic`.
fn start_collectors(root: &Path, b: &Broker, topic: &str, group: &str) -> Vec<Agent> {
    ["ca", "cb"]
        .iter()
        .map(|n| {
            HttpAgent::spawn_env(
                root,
                n,
                &collector_conf(root, n, b, topic, group),
                vec!["--no-reload-conf".to_owned()],
                debug_env(),
                free_port(),
                None,
            )
        })
        .collect()
}

/// The round's kill: one collector, both in turn, or the edge; each restarted after 1 s.
fn kill(variant: Variant, edge: &mut Agent, cols: &mut [Agent], nc: u16, rng: &mut fastrand::Rng) {
    match variant {
        Variant::One => {
            cols[0].kill9();
            std::thread::sleep(Duration::from_secs(1));
            cols[0].restart_on(None);
        }
        Variant::Alternate => {
            for i in [0, 1] {
                cols[i].kill9();
                std::thread::sleep(Duration::from_secs(1));
                cols[i].restart_on(None);
                std::thread::sleep(Duration::from_millis(500 + rng.u64(0..1500)));
            }
        }
        Variant::Edge => {
            edge.kill9();
            std::thread::sleep(Duration::from_secs(1));
            edge.restart_on(Some(nc));
        }
    }
}

fn round(variant: Variant, seed: u64) -> Outcome {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let b = Broker::start(root);
    let (topic, group) = (unique("logs"), unique("collectors"));
    b.create_topic(&topic, 4);
    let nc = free_port();
    let mut edge = Agent::start(root, "edge", &edge_conf(root, &b, nc, &topic), Some(nc));
    let mut cols = start_collectors(root, &b, &topic, &group);
    let sent = lines(&format!("k{seed}"), 0..LINES);
    let mut rng = fastrand::Rng::with_seed(seed);
    let kill_after = Duration::from_millis(1000 + rng.u64(0..2000));
    let started = Instant::now();
    let acked = std::thread::scope(|s| {
        let sender = s.spawn(|| send_all(nc, &sent, Instant::now() + Duration::from_secs(120)));
        std::thread::sleep(kill_after.saturating_sub(started.elapsed()));
        kill(variant, &mut edge, &mut cols, nc, &mut rng);
        sender.join().unwrap()
    });
    let want = &sent[..acked];
    let dirs: Vec<PathBuf> = ["ca", "cb"]
        .iter()
        .map(|n| root.join(n).join("out"))
        .collect();
    let heal = Heal {
        b: &b,
        topic: &topic,
        group: &group,
        dirs: &dirs,
    };
    let (undelivered, stuck, stuck_in_held) = heal.deliver(want, &edge, &mut cols);
    // Lines the broker never served: the collectors' kafka sources logged a resume gap
    // (committed offset C, first record served F) and the read-back topic has the line at
    // an offset in C..F of that partition. Anything else undelivered is Sluice's loss.
    let (skipped, mut lost) = broker_skipped(&b, &topic, &group, undelivered, &cols);
    // Stuck in a partition a live collector held, and not inside a gap the broker skipped:
    // no broker limit explains it, so the healing does not excuse it.
    for l in stuck_in_held {
        if !skipped.contains(&l) && !lost.contains(&l) {
            eprintln!("stuck in a partition a live collector held: {l}");
            lost.push(l);
        }
    }
    let got: Vec<String> = dirs.iter().flat_map(|d| written(d)).collect();
    Outcome {
        acknowledged: acked,
        lost,
        skipped: skipped.len(),
        stuck,
        duplicates: duplicates(&got),
    }
}

fn rounds() -> u64 {
    std::env::var("SLUICE_KAFKA_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn run(variant: Variant) {
    let n = rounds();
    let (mut acked, mut lost, mut stuck, mut dups, mut skipped) = (0, 0, 0, 0, 0);
    let mut failed = Vec::new();
    for r in 0..n {
        let seed = 1000 * (variant as u64 + 1) + r;
        let o = round(variant, seed);
        eprintln!(
            "{variant:?} round {r} (seed {seed}): {} acknowledged, {} lost, {} never served by \
             the broker, {} delivered only after the collectors' restart, {} duplicates",
            o.acknowledged,
            o.lost.len(),
            o.skipped,
            o.stuck,
            o.duplicates
        );
        skipped += o.skipped;
        acked += o.acknowledged;
        stuck += usize::from(o.stuck > 0);
        lost += o.lost.len();
        dups += o.duplicates;
        if !o.lost.is_empty() {
            failed.push(seed);
        }
    }
    eprintln!(
        "{variant:?}: {n} rounds, {acked} acknowledged, {lost} lost, {dups} duplicates; \
         {skipped} never served by the broker (reported by the source); {stuck} rounds needed \
         the collectors' restart (partitions the broker gave no member)"
    );
    assert!(
        failed.is_empty(),
        "{variant:?}: {lost} acknowledged lines lost, in rounds with seeds {failed:?}"
    );
}

#[test]
fn no_acknowledged_line_is_lost_when_one_collector_is_killed() {
    run(Variant::One);
}

#[test]
fn no_acknowledged_line_is_lost_when_the_collectors_are_killed_in_turn() {
    run(Variant::Alternate);
}

#[test]
fn no_acknowledged_line_is_lost_when_the_edge_is_killed() {
    run(Variant::Edge);
}
