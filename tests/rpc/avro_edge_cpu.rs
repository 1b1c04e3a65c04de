//! The edge's CPU cost of forwarding (ignored by default; a measurement, not a test):
//! `cargo test --release --test rpc avro_edge_cpu:: -- --ignored --nocapture`.
//!
//! Runs an edge agent `seq -> file channel -> null` and then `seq -> file channel -> avro`
//! (into a collector `avro -> memory -> null` in its own process) over the same number of
//! events (`SLUICE_EDGE_EVENTS`, default 500,000; seq and sink batches of 100, fsync on), and
//! prints the edge's CPU time (utime + stime from /proc/<pid>/stat) per event for both, and
//! their ratio (the bar: avro <= 1.2 x null).

use crate::support::multihop;

use std::time::{Duration, Instant};

use multihop::*;

fn cpu_micros(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks as f64 / hz * 1e6
}

fn drained(http: u16) -> u64 {
    metrics(http)["SINK.k1"]["EventDrainSuccessCount"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Runs one edge with sink lines `sink` until `n` events were drained; µs of CPU per event.
fn run_edge(sink: &str, n: u64) -> (f64, Duration) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let http = free_port();
    let conf = format!(
        "edge.sources = r1\nedge.channels = c1\nedge.sinks = k1\n\
         edge.sources.r1.type = seq\nedge.sources.r1.totalEvents = {n}\n\
         edge.sources.r1.batchSize = 100\nedge.sources.r1.channels = c1\n\
         edge.channels.c1.type = file\nedge.channels.c1.checkpointDir = {r}/ck\n\
         edge.channels.c1.dataDirs = {r}/data\nedge.channels.c1.minimumRequiredSpace = 1048576\n\
         edge.sinks.k1.channel = c1\n{sink}",
        r = root.display()
    );
    let monitoring = format!("-Dflume.monitoring.port={http}");
    let edge = Proc::start(
        root,
        "edge",
        &conf,
        http,
        &["-Dflume.monitoring.type=http", &monitoring],
    );
    let start = Instant::now();
    while drained(http) < n {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "not drained; log:\n{}",
            edge.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let wall = start.elapsed();
    (cpu_micros(edge.child.id()) / n as f64, wall)
}

#[test]
#[ignore]
fn edge_cpu_per_event_forwarding_over_avro_versus_the_channel_alone() {
    let n: u64 = std::env::var("SLUICE_EDGE_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500_000);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let avro = free_port();
    let collector_conf = format!(
        "col.sources = r1\ncol.channels = c1\ncol.sinks = k1\n\
         col.sources.r1.type = avro\ncol.sources.r1.bind = 127.0.0.1\n\
         col.sources.r1.port = {avro}\ncol.sources.r1.channels = c1\n\
         col.channels.c1.type = memory\ncol.channels.c1.capacity = 100000\n\
         col.channels.c1.transactionCapacity = 1000\n\
         col.sinks.k1.type = null\ncol.sinks.k1.channel = c1\ncol.sinks.k1.batchSize = 1000\n"
    );
    let collector = Proc::start(root, "col", &collector_conf, avro, &[]);
    let (null_us, null_wall) = run_edge(
        "edge.sinks.k1.type = null\nedge.sinks.k1.batchSize = 100\n",
        n,
    );
    let avro_sink = format!(
        "edge.sinks.k1.type = avro\nedge.sinks.k1.hostname = 127.0.0.1\n\
         edge.sinks.k1.port = {avro}\nedge.sinks.k1.batch-size = 100\n"
    );
    let (avro_us, avro_wall) = run_edge(&avro_sink, n);
    let col_us = cpu_micros(collector.child.id()) / n as f64;
    eprintln!(
        "{n} events: seq -> file -> null {null_us:.2} us/event ({} ms); \
         seq -> file -> avro {avro_us:.2} us/event ({} ms); ratio {:.3} (bar <= 1.20); \
         collector avro -> memory -> null {col_us:.2} us/event",
        null_wall.as_millis(),
        avro_wall.as_millis(),
        avro_us / null_us
    );
}
