//! Two-tier SIGKILL test over TLS with deflate: an edge agent (netcat -> file channel -> avro
//! sink with `ssl = true`, a PKCS12 truststore and `compression-type = deflate`) forwards to
//! a collector (avro source with a PKCS12 keystore and deflate -> file channel ->
//! file_roll); collector and edge are each killed with SIGKILL at random moments while a
//! client keeps sending. In the end every line the edge acknowledged is in the collector's
//! output. 4 kills (16 with SLUICE_LONG=1); the seed is printed (SLUICE_SEED repeats it).

mod multihop;
mod rpcsec_support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use multihop::*;
use rpcsec_support::Pki;

/// `prefix.key = value` lines from `key = value` lines.
fn prefixed(prefix: &str, keys: &str) -> String {
    keys.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("{prefix}.{}\n", l.trim()))
        .collect()
}

#[test]
fn every_acknowledged_line_survives_sigkills_over_tls_and_deflate() {
    let kills = if std::env::var_os("SLUICE_LONG").is_some() {
        16
    } else {
        4
    };
    let seed: u64 = std::env::var("SLUICE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("seed {seed}, {kills} kills");
    let mut rng = fastrand::Rng::with_seed(seed);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let pki = Pki::generate(root);
    let (nc, avro) = (free_port(), free_port());
    let source_keys = format!(
        "{}compression-type = deflate\n",
        pki.source_keys("server.p12")
    );
    let col = collector_conf(root, "col", avro) + &prefixed("col.sources.r1", &source_keys);
    let mut collector = Proc::start(root, "col", &col, avro, &[]);
    let sink_keys = format!("{}compression-type = deflate\n", pki.sink_keys("ca.p12"));
    let sink = avro_sink("k1", avro) + &prefixed("edge.sinks.k1", &sink_keys);
    let mut edge = Proc::start(root, "edge", &edge_conf(root, nc, "k1", &sink), nc, &[]);
    let done = Arc::new(AtomicBool::new(false));
    let sender = {
        let done = done.clone();
        std::thread::spawn(move || {
            let (mut acked, mut next, mut client) = (Vec::new(), 0, None);
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
    // The hop really was TLS with deflate.
    let log = logs_of([&collector]);
    assert!(log.contains("transport=tls+deflate"), "{log}");
    eprintln!(
        "{} lines acknowledged, {} written, {} duplicates, 0 lost",
        acked.len(),
        got.len(),
        duplicates(&got)
    );
}
