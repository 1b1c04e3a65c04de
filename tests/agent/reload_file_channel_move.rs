//! Issue 47, item 9: a reload that moves a file channel holding events (its `dataDirs` or
//! `checkpointDir` changed) is refused, whole: the answer and the log name the channel, the
//! directories and the events it holds, and the agent keeps the running configuration, so
//! the events are still there and still delivered. An empty file channel may move.

use crate::support::dead_port;
use crate::support::status_support;

use std::path::Path;

use status_support::{post, start_agent, HttpAgent};

const EVENTS: u64 = 500;

/// seq (`EVENTS` events) -> file channel in `data`/`ckpt` -> `sink` (the lines of `k1`).
fn conf(root: &Path, data: &str, ckpt: &str, sink: &str) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = seq\na1.sources.r1.totalEvents = {EVENTS}\n\
         a1.sources.r1.batchSize = 50\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = file\na1.channels.c1.dataDirs = {}\n\
         a1.channels.c1.checkpointDir = {}\n\
         a1.sinks.k1.channel = c1\n{sink}",
        root.join(data).display(),
        root.join(ckpt).display(),
    )
}

/// An avro sink to a port that refuses connections: the events stay in the channel.
fn stuck_sink(port: u16) -> String {
    format!(
        "a1.sinks.k1.type = avro\na1.sinks.k1.hostname = 127.0.0.1\na1.sinks.k1.port = {port}\n\
         a1.sinks.k1.connect-timeout = 500\na1.sinks.k1.max-reconnect-backoff = 500\n"
    )
}

const NULL_SINK: &str = "a1.sinks.k1.type = null\n";

fn counter(agent: &HttpAgent, group: &str, key: &str) -> Option<u64> {
    agent.json()[group][key]
        .as_str()
        .and_then(|v| v.parse().ok())
}

#[test]
fn a_reload_that_moves_a_file_channel_holding_events_is_refused_and_the_events_stay() {
    let root = tempfile::tempdir().unwrap();
    let dead = dead_port::dead_port();
    let agent = start_agent(
        root.path(),
        &conf(root.path(), "data", "ckpt", &stuck_sink(dead.port)),
    );
    agent.wait_until("the events in the channel", || {
        counter(&agent, "CHANNEL.c1", "ChannelSize") == Some(EVENTS)
    });
    let file = root.path().join("agent.conf");
    every_move_is_refused(&agent, root.path(), &stuck_sink(dead.port));
    // The same directories with a sink that delivers: applied, and the old channel serves
    // every event it held.
    std::fs::write(&file, conf(root.path(), "data", "ckpt", NULL_SINK)).unwrap();
    let (status, body) = post(agent.http, "/reload");
    assert_eq!(
        (status, v_outcome(&body)),
        (200, "applied".into()),
        "{body}"
    );
    agent.wait_until("the held events delivered", || {
        counter(&agent, "CHANNEL.c1", "ChannelSize") == Some(0)
            && counter(&agent, "SINK.k1", "EventDrainSuccessCount") == Some(EVENTS)
    });
    // Empty now: it may move.
    std::fs::write(&file, conf(root.path(), "data2", "ckpt2", NULL_SINK)).unwrap();
    let (status, body) = post(agent.http, "/reload");
    assert_eq!(
        (status, v_outcome(&body)),
        (200, "applied".into()),
        "{body}"
    );
    assert!(root.path().join("data2").is_dir());
}

/// Reloads that move the file channel holding the events (`stuck` keeps them there):
/// dataDirs and checkpointDir, dataDirs alone, checkpointDir alone; each refused, naming the
/// channel, the directory and the events, and the channel keeps them.
fn every_move_is_refused(agent: &HttpAgent, root: &Path, stuck: &str) {
    let file = root.join("agent.conf");
    // dataDirs and checkpointDir moved (Flume and Sluice until now opened an empty channel
    // there and answered `applied`).
    std::fs::write(&file, conf(root, "data2", "ckpt2", stuck)).unwrap();
    let (status, body) = post(agent.http, "/reload");
    assert_eq!(status, 409, "the reload must be refused: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["outcome"], "refused", "{body}");
    let why = v["errors"][0].as_str().unwrap();
    assert!(
        why.contains("channel c1")
            && why.contains("dataDirs")
            && why.contains("data2")
            && why.contains(&format!("{EVENTS} events")),
        "{why}"
    );
    let log = agent.log_text();
    assert!(
        log.contains("refused") && log.contains("dataDirs changed"),
        "{log}"
    );
    // Only dataDirs moved, then only checkpointDir: refused as well.
    std::fs::write(&file, conf(root, "data2", "ckpt", stuck)).unwrap();
    let (status, body) = post(agent.http, "/reload");
    assert_eq!(status, 409, "{body}");
    std::fs::write(&file, conf(root, "data", "ckpt2", stuck)).unwrap();
    let (status, body) = post(agent.http, "/reload");
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("checkpointDir"), "{body}");
    assert_eq!(
        counter(agent, "CHANNEL.c1", "ChannelSize"),
        Some(EVENTS),
        "the running channel keeps its events"
    );
}

fn v_outcome(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["outcome"].as_str().unwrap_or_default().to_owned()
}
