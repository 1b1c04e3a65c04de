//! Two tiers of real `sluice agent` processes on loopback: an edge (netcat -> file channel ->
//! avro sink) forwarding to collectors (avro source -> file channel -> file_roll). Interop
//! of Sluice's sink and source, a collector restart the edge recovers from by itself,
//! failover and failback between two collectors, and load balancing with one collector down.

use crate::support::dead_port;
use crate::support::multihop;

use std::time::{Duration, Instant};

use multihop::*;

#[test]
fn lines_sent_to_the_edge_reach_the_collector_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (nc, avro) = (free_port(), free_port());
    let collector = Proc::start(root, "col", &collector_conf(root, "col", avro), avro, &[]);
    let conf = patient(&edge_conf(root, nc, "k1", &avro_sink("k1", avro)));
    let edge = Proc::start(root, "edge", &conf, nc, &[]);
    let mut c = Client::connect(nc).unwrap();
    let sent = lines("a", 0..500);
    assert_eq!(c.send(&sent), sent.len());
    let got = wait_for_all(&[root.join("col/out")], &sent, &[&edge, &collector]);
    assert_eq!(got, sent, "one edge, one sink: order kept, nothing twice");
}

#[test]
fn the_edge_drains_its_backlog_by_itself_after_the_collector_was_down_past_its_timeouts() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (nc, avro, http) = (free_port(), free_port(), free_port());
    let mut collector = Proc::start(root, "col", &collector_conf(root, "col", avro), avro, &[]);
    let conf = edge_conf(root, nc, "k1", &avro_sink("k1", avro));
    let monitoring = format!("-Dflume.monitoring.port={http}");
    let edge = Proc::start(
        root,
        "edge",
        &conf,
        nc,
        &["-Dflume.monitoring.type=http", &monitoring],
    );
    let mut c = Client::connect(nc).unwrap();
    let first = lines("b", 0..100);
    assert_eq!(c.send(&first), first.len());
    wait_for_all(&[root.join("col/out")], &first, &[&edge, &collector]);
    assert_eq!(metrics(http)["SINK.k1"]["ConnectionDownMillis"], "0");
    // The collector goes away (SIGTERM: a clean stop) while the edge keeps accepting lines.
    collector.signal(libc::SIGTERM);
    let _ = collector.child.wait();
    let backlog = lines("b", 100..1100);
    assert_eq!(
        c.send(&backlog),
        backlog.len(),
        "the edge's file channel takes them"
    );
    // Down for longer than connect-timeout + request-timeout (1 s + 2 s).
    let end = Instant::now() + WAIT;
    loop {
        let m = metrics(http);
        let down: u64 = m["SINK.k1"]["ConnectionDownMillis"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if down > 3500 {
            let failed = &m["SINK.k1"]["ConnectionFailedCount"];
            assert_ne!(failed, "0", "connect attempts were made and counted: {m}");
            break;
        }
        assert!(Instant::now() < end, "the sink never noticed: {m}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let restarted = Instant::now();
    collector.restart();
    let mut all = first.clone();
    all.extend(backlog);
    let got = wait_for_all(&[root.join("col/out")], &all, &[&edge, &collector]);
    eprintln!(
        "backlog of 1000 drained {} ms after the collector was started again",
        restarted.elapsed().as_millis()
    );
    assert_eq!(duplicates(&got), 0, "a clean stop causes no duplicates");
    assert_eq!(metrics(http)["SINK.k1"]["ConnectionDownMillis"], "0");
}

fn group_conf(root: &std::path::Path, nc: u16, ports: (u16, u16), processor: &str) -> String {
    let mut sinks = avro_sink("k1", ports.0);
    sinks.push_str(&avro_sink("k2", ports.1));
    sinks.push_str("edge.sinkgroups = g1\nedge.sinkgroups.g1.sinks = k1 k2\n");
    sinks.push_str(processor);
    edge_conf(root, nc, "k1 k2", &sinks)
}

#[test]
fn failover_moves_to_the_second_collector_and_back_after_the_penalty() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (nc, pa, pb) = (free_port(), free_port(), free_port());
    let mut a = Proc::start(root, "ca", &collector_conf(root, "ca", pa), pa, &[]);
    let b = Proc::start(root, "cb", &collector_conf(root, "cb", pb), pb, &[]);
    let processor = "edge.sinkgroups.g1.processor.type = failover\n\
                     edge.sinkgroups.g1.processor.priority.k1 = 10\n\
                     edge.sinkgroups.g1.processor.priority.k2 = 5\n\
                     edge.sinkgroups.g1.processor.maxpenalty = 2000\n";
    let edge = Proc::start(
        root,
        "edge",
        &group_conf(root, nc, (pa, pb), processor),
        nc,
        &[],
    );
    let (out_a, out_b) = (root.join("ca/out"), root.join("cb/out"));
    let mut c = Client::connect(nc).unwrap();
    let first = lines("f", 0..200);
    assert_eq!(c.send(&first), first.len());
    wait_for_all(std::slice::from_ref(&out_a), &first, &[&edge, &a]);
    assert!(
        written(&out_b).is_empty(),
        "the backup is idle while the primary works"
    );
    // The primary collector dies: the next lines go to the backup.
    a.kill9();
    let second = lines("f", 200..400);
    assert_eq!(c.send(&second), second.len());
    wait_for_all(std::slice::from_ref(&out_b), &second, &[&edge, &b]);
    // It comes back: after its penalty it gets the traffic again (failback).
    a.restart();
    let failback_from = Instant::now();
    let mut sent: Vec<String> = first.iter().chain(&second).cloned().collect();
    let mut round = 4;
    let before = written(&out_a).len();
    while written(&out_a).len() == before {
        assert!(
            failback_from.elapsed() < WAIT,
            "no failback; log:\n{}",
            edge.log_text()
        );
        let more = lines("f", round * 100..round * 100 + 100);
        assert_eq!(c.send(&more), more.len());
        sent.extend(more);
        round += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!(
        "failback {} ms after the primary was started again",
        failback_from.elapsed().as_millis()
    );
    let got = wait_for_all(&[out_a, out_b], &sent, &[&edge, &a, &b]);
    eprintln!(
        "failover: {} lines, {} duplicates",
        sent.len(),
        duplicates(&got)
    );
}

#[test]
fn failover_leaves_a_silent_collector_after_the_request_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (nc, pa, pb) = (free_port(), free_port(), free_port());
    let a = Proc::start(root, "ca", &collector_conf(root, "ca", pa), pa, &[]);
    let b = Proc::start(root, "cb", &collector_conf(root, "cb", pb), pb, &[]);
    let processor = "edge.sinkgroups.g1.processor.type = failover\n\
                     edge.sinkgroups.g1.processor.priority.k1 = 10\n\
                     edge.sinkgroups.g1.processor.priority.k2 = 5\n\
                     edge.sinkgroups.g1.processor.maxpenalty = 2000\n";
    let edge = Proc::start(
        root,
        "edge",
        &group_conf(root, nc, (pa, pb), processor),
        nc,
        &[],
    );
    let (out_a, out_b) = (root.join("ca/out"), root.join("cb/out"));
    let mut c = Client::connect(nc).unwrap();
    let first = lines("s", 0..100);
    assert_eq!(c.send(&first), first.len());
    wait_for_all(std::slice::from_ref(&out_a), &first, &[&edge, &a]);
    // The primary stops answering but keeps its sockets (a hung process, a partition).
    a.signal(libc::SIGSTOP);
    let silent_from = Instant::now();
    let second = lines("s", 100..300);
    assert_eq!(c.send(&second), second.len());
    // Everything sent after the hang reaches the backup: the batch the primary swallowed
    // timed out, was rolled back on the edge and went to the backup too.
    wait_for_all(std::slice::from_ref(&out_b), &second, &[&edge, &b]);
    eprintln!(
        "the backup had the lines {} ms after the primary went silent (request-timeout 2000 ms)",
        silent_from.elapsed().as_millis()
    );
    a.signal(libc::SIGCONT);
    let sent: Vec<String> = first.iter().chain(&second).cloned().collect();
    let got = wait_for_all(&[out_a, out_b], &sent, &[&edge, &a, &b]);
    eprintln!(
        "silent primary: {} lines, {} duplicates",
        sent.len(),
        duplicates(&got)
    );
}

#[test]
fn load_balance_with_one_collector_down_delivers_everything_to_the_other() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (nc, pb) = (free_port(), free_port());
    let dead = dead_port::dead_port();
    let b = Proc::start(root, "cb", &collector_conf(root, "cb", pb), pb, &[]);
    let processor = "edge.sinkgroups.g1.processor.type = load_balance\n\
                     edge.sinkgroups.g1.processor.selector = round_robin\n\
                     edge.sinkgroups.g1.processor.backoff = true\n\
                     edge.sinkgroups.g1.processor.selector.maxTimeOut = 5000\n";
    let edge = Proc::start(
        root,
        "edge",
        &patient(&group_conf(root, nc, (dead.port, pb), processor)),
        nc,
        &[],
    );
    let mut c = Client::connect(nc).unwrap();
    let mut sent = Vec::new();
    for round in 0..5 {
        let more = lines("l", round * 100..round * 100 + 100);
        assert_eq!(c.send(&more), more.len());
        sent.extend(more);
        std::thread::sleep(Duration::from_millis(100));
    }
    let got = wait_for_all(&[root.join("cb/out")], &sent, &[&edge, &b]);
    assert_eq!(duplicates(&got), 0);
}

#[test]
fn the_multi_hop_examples_check_clean() {
    for (example, agent) in [
        ("two-tier-edge", "edge"),
        ("two-tier-collector", "collector"),
        ("failover-edge", "edge"),
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("examples/{example}.properties"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["config", "check", "-n", agent, "-f"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{example}: {text}");
        assert!(!text.contains("warning"), "{example}: {text}");
    }
}
