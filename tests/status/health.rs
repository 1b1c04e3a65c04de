//! `GET /health` and `GET /ready` of a real agent, and the replay progress a file channel
//! shows on `/metrics` while it opens.

use std::path::Path;

use crate::support::dead_port::dead_port;
use crate::support::status_support;
use sluice_core::{Event, FileChannel, FileChannelConfig};
use status_support::{get, seq_memory_null, start_agent};

/// Events in the channel the readiness test replays: enough for a replay that lasts a
/// moment (about a second on the 2-core test machine), small enough to write in seconds.
const BACKLOG: u64 = 2_000_000;
/// Events per transaction while the backlog is written.
const BATCH: u64 = 10_000;

/// Writes `BACKLOG` events into a file channel at `dir`, then removes its checkpoint so the
/// next open replays every segment.
fn write_backlog(dir: &Path) {
    let mut c = FileChannelConfig::with_dirs(dir.join("ck"), vec![dir.join("data")]);
    c.capacity = BACKLOG * 2;
    c.transaction_capacity = BATCH;
    let ch = FileChannel::open(c).unwrap();
    for b in 0..BACKLOG / BATCH {
        let mut tx = ch.transaction();
        for i in 0..BATCH {
            tx.put(Event::new(format!("event {b}-{i}"))).unwrap();
        }
        tx.commit().unwrap();
    }
    ch.close().unwrap();
    std::fs::remove_dir_all(dir.join("ck")).unwrap();
}

/// netcat (idle) -> the backlogged file channel -> null sink, on the metrics port.
fn backlog_conf(dir: &Path) -> String {
    let port = status_support::free_port();
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {port}\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {ck}\n\
         a1.channels.c1.dataDirs = {data}\na1.channels.c1.capacity = {cap}\n\
         a1.channels.c1.transactionCapacity = {BATCH}\n\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\na1.sinks.k1.batchSize = 1000\n",
        ck = dir.join("ck").display(),
        data = dir.join("data").display(),
        cap = BACKLOG * 2,
    )
}

/// The channel's replay gauges in Flume's JSON, if shown.
fn replay_of(m: &serde_json::Value) -> Option<(f64, u64)> {
    let c = &m["CHANNEL.c1"];
    let ratio = c["ReplayProgressRatio"].as_str()?.parse().ok()?;
    let events = c["ReplayEvents"].as_str()?.parse().ok()?;
    Some((ratio, events))
}

#[test]
fn ready_is_503_while_the_file_channel_replays_and_200_once_the_agent_started() {
    let tmp = tempfile::tempdir().unwrap();
    write_backlog(tmp.path());
    let agent = start_agent(tmp.path(), &backlog_conf(tmp.path()));
    // Each round reads /ready, then /metrics. Readiness comes only after the replay is over
    // and the replay's ratio never falls from 1, so a ratio under 1 read after /ready means
    // /ready answered while the channel replayed: it must have said 503.
    let (mut replaying_503, mut rounds) = (0u32, 0u32);
    agent.wait_until("/ready to answer 200", || {
        rounds += 1;
        let ready = get(agent.http, "/ready", None).expect("GET /ready").status;
        let m = agent.json();
        if let Some((ratio, _)) = replay_of(&m) {
            if ratio < 1.0 {
                assert_eq!(ready, 503, "/ready said {ready} while the channel replayed");
                replaying_503 += 1;
            }
        }
        assert!(ready == 503 || ready == 200, "/ready answered {ready}");
        ready == 200
    });
    assert!(
        agent.log_text().contains("agent started"),
        "ready before the agent started:\n{}",
        agent.log_text()
    );
    let (ratio, events) = replay_of(&agent.json()).expect("replay gauges after the open");
    assert_eq!(ratio, 1.0);
    assert_eq!(events, BACKLOG, "every put record counted as replayed");
    // Once ready, it stays ready.
    for _ in 0..5 {
        assert_eq!(get(agent.http, "/ready", None).unwrap().status, 200);
    }
    let log = agent.log_text();
    let opened = log.lines().find(|l| l.contains("file channel opened"));
    eprintln!(
        "observed /ready 503 with replay under way {replaying_503} times in {rounds} rounds; {}",
        opened.unwrap_or("no open line")
    );
}

#[test]
fn health_is_200_while_every_channel_and_sink_is_healthy() {
    let tmp = tempfile::tempdir().unwrap();
    let agent = start_agent(tmp.path(), &seq_memory_null(100));
    agent.wait_until("/ready", || {
        get(agent.http, "/ready", None).is_some_and(|r| r.status == 200)
    });
    let h = get(agent.http, "/health", None).unwrap();
    assert_eq!(h.status, 200, "{}", h.body);
    assert_eq!(h.header("content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_str(&h.body).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["checked"], 2, "one channel and one sink: {v}");
}

/// Waits until `/health` answers 503 with `needle` in its body; asserts the agent is
/// unhealthy for one problem only, of `component`; returns its reason.
fn sole_problem(agent: &status_support::HttpAgent, component: &str, needle: &str) -> String {
    let mut last = String::new();
    agent.wait_until(&format!("/health to name {needle}"), || {
        let h = get(agent.http, "/health", None).expect("GET /health");
        last = h.body.clone();
        h.status == 503 && h.body.contains(needle)
    });
    let v: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(v["status"], "unhealthy");
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "only {component}: {v}");
    assert_eq!(problems[0]["component"], component);
    problems[0]["reason"].as_str().unwrap().to_owned()
}

#[test]
fn health_is_503_naming_a_sink_that_cannot_deliver() {
    let tmp = tempfile::tempdir().unwrap();
    let dead = dead_port();
    let conf = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = seq\na1.sources.r1.totalEvents = 10\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 1000\n\
         a1.sinks.k1.type = avro\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.hostname = 127.0.0.1\na1.sinks.k1.port = {}\n",
        dead.port
    );
    let agent = start_agent(tmp.path(), &conf);
    let reason = sole_problem(&agent, "SINK.k1", "SINK.k1");
    assert!(reason.contains("connection has been down"), "{reason}");
}

#[test]
fn health_is_503_naming_a_file_channel_full_at_its_capacity_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = format!(
        "a1.sources = r1\na1.channels = c1\n\
         a1.sources.r1.type = seq\na1.sources.r1.totalEvents = 400000\n\
         a1.sources.r1.batchSize = 500\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {}\n\
         a1.channels.c1.dataDirs = {}\na1.channels.c1.capacityBytes = 16m\n\
         a1.channels.c1.keep-alive = 1\n",
        tmp.path().join("ckpt").display(),
        tmp.path().join("data").display()
    );
    let agent = start_agent(tmp.path(), &conf);
    let reason = sole_problem(&agent, "CHANNEL.c1", "capacityBytes");
    assert!(reason.contains("full at capacityBytes"), "{reason}");
    assert!(reason.contains("of 16777216 bytes"), "{reason}");
}
