//! `sluice tap` against a real agent: off by default (exit 3), on with
//! `-Dflume.monitoring.tap=loopback` it prints the events a source hands out and a sink takes,
//! and attached it costs at most 10 % of the agent's throughput (windows with and without a
//! tap, alternating, in the same run; the numbers are printed).

use crate::support::status_support;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use status_support::{seq_memory_null, start_agent, start_agent_with, HttpAgent};

const EVENTS: u64 = 100_000_000_000;

fn tap(port: u16, extra: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["tap", "--url", &format!("http://127.0.0.1:{port}")])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > end {
            let _ = child.kill();
            panic!("sluice tap did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn the_tap_is_off_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent(dir.path(), &seq_memory_null(EVENTS));
    let out = tap(agent.http, &["--limit", "1"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the tap is off"), "{err}");
}

#[test]
fn the_tap_prints_a_sources_events_and_a_sinks_takes() {
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent_with(
        dir.path(),
        &seq_memory_null(EVENTS),
        &["-Dflume.monitoring.tap=loopback"],
    );
    for (component, point) in [("r1", "source"), ("c1", "channel"), ("k1", "sink")] {
        let out = tap(agent.http, &["--component", component, "--limit", "5"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 5, "{text}");
        for l in &lines {
            assert_eq!(l["point"], point, "{l}");
            assert_eq!(l["component"], component, "{l}");
            assert!(l["body"].as_str().unwrap().parse::<u64>().is_ok(), "{l}");
        }
    }
}

/// seq -> memory -> null with batches of 1,000 and room for a million events, so the
/// pipeline runs as fast as the CPU lets it (the defaults of `seq_memory_null` are paced by the
/// sink's small batches).
fn fast_pipeline() -> String {
    seq_memory_null(EVENTS)
        .replace("batchSize = 50", "batchSize = 1000")
        .replace("capacity = 10000", "capacity = 1000000")
        .replace("transactionCapacity = 100", "transactionCapacity = 1000")
        .replace("k1.batchSize = 100", "k1.batchSize = 1000")
}

fn accepted(agent: &HttpAgent) -> u64 {
    agent.json()["SOURCE.r1"]["EventAcceptedCount"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Events accepted during `window`.
fn rate(agent: &HttpAgent, window: Duration) -> u64 {
    let a = accepted(agent);
    std::thread::sleep(window);
    accepted(agent) - a
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort();
    v[v.len() / 2]
}

#[test]
/// The pipeline keeps flowing while a tap is attached; the cost (the bar: at most a
/// tenth) is printed, not asserted: no timing assertions in tests. Numbers in
/// docs/monitoring.md come from `cargo test --release --test status tap:: an_attached -- --nocapture`.
fn an_attached_tap_keeps_the_pipeline_flowing_and_its_cost_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent_with(
        dir.path(),
        &fast_pipeline(),
        &["-Dflume.monitoring.tap=loopback"],
    );
    let window = Duration::from_secs(2);
    std::thread::sleep(window); // warm-up
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        off.push(rate(&agent, window));
        let mut t: Child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["tap", "--url", &format!("http://127.0.0.1:{}", agent.http)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        on.push(rate(&agent, window));
        let _ = t.kill();
        let _ = t.wait();
    }
    let (off_m, on_m) = (median(off.clone()), median(on.clone()));
    eprintln!(
        "events per {} s: without a tap {off:?} (median {off_m}), with a tap {on:?} (median {on_m}): {:.1} %",
        window.as_secs(),
        on_m as f64 * 100.0 / off_m.max(1) as f64
    );
    assert!(off_m > 0, "nothing flowed without a tap");
    assert!(
        on.iter().all(|&n| n > 0),
        "the pipeline stalled while a tap was attached: {on:?}"
    );
}
