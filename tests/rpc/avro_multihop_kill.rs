//! Two-tier SIGKILL test: lines go to an edge agent (netcat -> file channel -> avro sink) that
//! forwards to a collector (avro source -> file channel -> file_roll); the collector and the
//! edge are each killed with SIGKILL at random moments, several times, while a client keeps
//! sending. In the end every line the edge acknowledged is in the collector's output;
//! duplicates are counted and reported. 10 kills by default, 20 with SLUICE_LONG=1; the seed
//! is printed (SLUICE_SEED=<n> repeats a run's schedule).

use crate::support::multihop;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use multihop::*;

#[test]
fn every_acknowledged_line_survives_sigkills_of_edge_and_collector() {
    let (kills, _, mut rng) = kill_schedule("");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (nc, avro) = (free_port(), free_port());
    let mut collector = Proc::start(root, "col", &collector_conf(root, "col", avro), avro, &[]);
    let conf = edge_conf(root, nc, "k1", &avro_sink("k1", avro));
    let mut edge = Proc::start(root, "edge", &conf, nc, &[]);
    let done = Arc::new(AtomicBool::new(false));
    let sender = spawn_sender(nc, "k", done.clone());
    kill_in_turn(&mut rng, kills, &mut collector, &mut edge);
    stop_and_check(
        sender,
        &done,
        "k",
        root.join("col/out"),
        &[&edge, &collector],
    );
}
