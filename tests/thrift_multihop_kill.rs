//! Two-tier SIGKILL test over Thrift: lines go to an edge agent (netcat -> file channel ->
//! thrift sink) that forwards to a collector (thrift source -> file channel -> file_roll);
//! the collector and the edge are each killed with SIGKILL at random moments, several times,
//! while a client keeps sending. In the end every line the edge acknowledged is in the
//! collector's output; duplicates are counted and reported. 4 kills by default, 16 with
//! SLUICE_LONG=1; the seed is printed (SLUICE_SEED=<n> repeats a run's schedule). Rounds
//! alternate the compact and the binary protocol by seed.

#[path = "thrift_support/mod.rs"]
mod thrift_support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use thrift_support::*;

#[test]
fn every_acknowledged_line_survives_sigkills_of_edge_and_collector_over_thrift() {
    let kills = if std::env::var_os("SLUICE_LONG").is_some() {
        16
    } else {
        4
    };
    let seed: u64 = std::env::var("SLUICE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let protocol = if seed % 2 == 0 { "compact" } else { "binary" };
    eprintln!("seed {seed}, {kills} kills, protocol {protocol}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (nc, port) = (free_port(), free_port());
    let col = thrift_collector_conf(root, "col", port, protocol, "");
    let mut collector = Proc::start(root, "col", &col, port, &[]);
    let conf = edge_conf(root, nc, "k1", &thrift_sink("k1", port, protocol));
    let mut edge = Proc::start(root, "edge", &conf, nc, &[]);
    let done = Arc::new(AtomicBool::new(false));
    let sender = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut acked = Vec::new();
            let mut next = 0;
            let mut client = None;
            for _ in 0..100_000 {
                if done.load(Ordering::SeqCst) {
                    break;
                }
                let Some(c) = client.as_mut() else {
                    client = Client::connect(nc).ok();
                    if client.is_none() {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    continue;
                };
                let batch = lines("t", next..next + 20);
                next += 20;
                let ok = c.send(&batch);
                acked.extend_from_slice(&batch[..ok]);
                if ok < batch.len() {
                    client = None;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            (acked, next)
        })
    };
    for i in 0..kills {
        std::thread::sleep(Duration::from_millis(rng.u64(300..1500)));
        let victim = if i % 2 == 0 {
            &mut collector
        } else {
            &mut edge
        };
        eprintln!("kill -9 {}", victim.name);
        victim.kill9();
        std::thread::sleep(Duration::from_millis(rng.u64(0..800)));
        victim.restart();
    }
    std::thread::sleep(Duration::from_millis(500));
    done.store(true, Ordering::SeqCst);
    let (acked, sent) = sender.join().unwrap();
    assert!(
        acked.len() >= 100,
        "only {} lines acknowledged",
        acked.len()
    );
    let got = wait_for_all(&[root.join("col/out")], &acked, &[&edge, &collector]);
    let sent: BTreeSet<String> = lines("t", 0..sent).into_iter().collect();
    assert!(
        got.iter().all(|l| sent.contains(l)),
        "only sent lines arrive"
    );
    eprintln!(
        "{} lines acknowledged, {} written, {} duplicates, 0 lost",
        acked.len(),
        got.len(),
        duplicates(&got)
    );
}
