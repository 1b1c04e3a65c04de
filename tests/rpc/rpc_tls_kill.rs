//! Two-tier SIGKILL test over TLS with deflate: an edge agent (netcat -> file channel -> avro
//! sink with `ssl = true`, a PKCS12 truststore and `compression-type = deflate`) forwards to
//! a collector (avro source with a PKCS12 keystore and deflate -> file channel ->
//! file_roll); collector and edge are each killed with SIGKILL at random moments while a
//! client keeps sending. In the end every line the edge acknowledged is in the collector's
//! output. 10 kills (20 with SLUICE_LONG=1); the seed is printed (SLUICE_SEED repeats it).

use crate::support::multihop;
use crate::support::rpcsec_support;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

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
    let (kills, _, mut rng) = kill_schedule("");
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
    let sender = spawn_sender(nc, "t", done.clone());
    kill_in_turn(&mut rng, kills, &mut collector, &mut edge);
    stop_and_check(
        sender,
        &done,
        "t",
        root.join("col/out"),
        &[&edge, &collector],
    );
    // The hop really was TLS with deflate.
    let log = logs_of([&collector]);
    assert!(log.contains("transport=tls+deflate"), "{log}");
}
