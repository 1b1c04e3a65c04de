//! Fan-in under SIGKILL (issue 46): two edge agents (netcat → file channel → avro sink) feed
//! one collector (avro source → file channel → file_roll); the edges and the collector are
//! killed with SIGKILL at random, several times, while a client per edge keeps sending. Every
//! line either edge acknowledged is in the collector's output exactly once: each edge's
//! channel is its own origin, and the collector drops what it committed before. 10 kills, 20
//! with `SLUICE_LONG`; `SLUICE_SEED` repeats a run.

use crate::support::multihop;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use multihop::*;

#[test]
fn two_edges_into_one_collector_under_sigkills_deliver_every_line_once() {
    let (kills, _, mut rng) = kill_schedule_of(" (two edges, one collector)", 10, 20);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (nc1, nc2, avro) = (free_port(), free_port(), free_port());
    let mut procs = vec![Proc::start(
        root,
        "col",
        &collector_conf(root, "col", avro),
        avro,
        &[],
    )];
    for (i, nc) in [(1, nc1), (2, nc2)] {
        let dir = root.join(format!("e{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = patient(&edge_conf(&dir, nc, "k1", &avro_sink("k1", avro)));
        procs.push(Proc::start(&dir, "edge", &conf, nc, &[]));
    }
    let done = Arc::new(AtomicBool::new(false));
    let senders = [
        spawn_sender(nc1, "a", done.clone()),
        spawn_sender(nc2, "b", done.clone()),
    ];
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(rng.u64(300..1500)));
        let victim = &mut procs[rng.usize(0..3)];
        eprintln!("kill -9 {}", victim.name);
        victim.kill9();
        std::thread::sleep(Duration::from_millis(rng.u64(0..800)));
        victim.restart();
    }
    std::thread::sleep(Duration::from_millis(500));
    done.store(true, Ordering::SeqCst);
    let mut acked = Vec::new();
    let mut sent = BTreeSet::new();
    for (s, prefix) in senders.into_iter().zip(["a", "b"]) {
        let (a, n) = s.join().unwrap();
        assert!(
            a.len() >= 50,
            "only {} lines of {prefix} acknowledged",
            a.len()
        );
        acked.extend(a);
        sent.extend(lines(prefix, 0..n));
    }
    let refs: Vec<&Proc> = procs.iter().collect();
    let got = wait_for_all(&[root.join("col/out")], &acked, &refs);
    assert!(
        got.iter().all(|l| sent.contains(l)),
        "only sent lines arrive"
    );
    let twice = duplicates(&got);
    eprintln!(
        "{kills} kills: {} lines acknowledged by two edges, {} written, {twice} duplicates, 0 lost",
        acked.len(),
        got.len()
    );
    assert_eq!(twice, 0, "lines written twice (docs/exactly-once.md)");
}
