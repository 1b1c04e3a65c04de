//! Two-tier SIGKILL test over Thrift: lines go to an edge agent (netcat -> file channel ->
//! thrift sink) that forwards to a collector (thrift source -> file channel -> file_roll);
//! the collector and the edge are each killed with SIGKILL at random moments, several times,
//! while a client keeps sending. In the end every line the edge acknowledged is in the
//! collector's output; duplicates are counted and reported. 10 kills by default, 20 with
//! SLUICE_LONG=1; the seed is printed (SLUICE_SEED=<n> repeats a run's schedule). Rounds
//! alternate the compact and the binary protocol by seed.

use crate::support::thrift_support;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use thrift_support::*;

#[test]
fn every_acknowledged_line_survives_sigkills_of_edge_and_collector_over_thrift() {
    let (kills, seed, mut rng) = kill_schedule("");
    let protocol = if seed % 2 == 0 { "compact" } else { "binary" };
    eprintln!("protocol {protocol}");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (nc, port) = (free_port(), free_port());
    let col = thrift_collector_conf(root, "col", port, protocol, "");
    let mut collector = Proc::start(root, "col", &col, port, &[]);
    let conf = edge_conf(root, nc, "k1", &thrift_sink("k1", port, protocol));
    let mut edge = Proc::start(root, "edge", &conf, nc, &[]);
    let done = Arc::new(AtomicBool::new(false));
    let sender = spawn_sender(nc, "t", done.clone());
    kill_in_turn(&mut rng, kills, &mut collector, &mut edge);
    stop_and_check(
        sender,
        &done,
        "t",
        root.join("col/out"),
        &[&edge, &collector],
    );
}
