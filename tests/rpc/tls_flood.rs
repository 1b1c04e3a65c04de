//! TLS handshakes on a bounded budget (issue 47, item 6), on the real binary: a flood of
//! canned ClientHellos (the first flight of a real rustls client, replayed with no
//! cryptography on the sending side) from one loopback address against a collector's TLS avro
//! port with `ssl-max-handshakes = 4` and `ssl-handshake-rate-per-peer = 5`: the collector
//! refuses most of them before computing anything (`TlsHandshakeRefusedCount` rises), its
//! `TlsHandshakesInProgress` gauge never passes 4, and a second agent's TLS avro sink (from
//! another address) still delivers every line.

use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::rustls::{self, pki_types::ServerName, ClientConfig, RootCertStore};

use crate::support::agent_proc::{counter, HttpAgent};
use crate::support::hostile_support::{attack, connect_from, Peak};
use crate::support::lines_support::netcat_send;
use crate::support::multihop::{avro_sink, collector_conf, edge_conf, lines, wait_for_all};
use crate::support::ports::free_port;
use crate::support::rpcsec_support::Pki;

/// Connections of the flood.
const HELLOS: usize = 400;
/// `ssl-max-handshakes` of the collector.
const CONCURRENT_MAX: u64 = 4;

/// The first flight of a real TLS client: its ClientHello record.
fn client_hello() -> Vec<u8> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").unwrap();
    let mut c = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut hello = Vec::new();
    while c.wants_write() {
        c.write_tls(&mut hello).unwrap();
    }
    assert_eq!(hello[0], 0x16, "a handshake record");
    hello
}

/// One flood connection from `from`: the hello, a short wait holding the handshake open
/// (what the server sends is read and dropped), then gone.
fn replay(from: Ipv4Addr, port: u16, hello: &[u8]) {
    let Ok(mut s) = connect_from(from, port) else {
        return;
    };
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    if s.write_all(hello).is_err() {
        return;
    }
    let mut buf = [0u8; 16 << 10];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
    }
}

/// The collector (TLS avro source with the test's budget -> file channel -> file_roll) and
/// the edge (netcat -> file channel -> TLS avro sink to it); their ports.
fn agents(root: &std::path::Path) -> (HttpAgent, HttpAgent, u16, u16) {
    let pki = Pki::generate(root);
    let (col_port, col_http, edge_port) = (free_port(), free_port(), free_port());
    let mut col_conf = collector_conf(root, "col", col_port);
    for l in pki.source_keys("server.p12").lines() {
        col_conf.push_str(&format!("col.sources.r1.{l}\n"));
    }
    col_conf.push_str(&format!(
        "col.sources.r1.ssl-max-handshakes = {CONCURRENT_MAX}\n\
         col.sources.r1.ssl-handshake-rate-per-peer = 5\n"
    ));
    let col = HttpAgent::spawn(
        root,
        "col",
        &col_conf,
        vec!["--no-reload-conf".into()],
        col_http,
        Some(col_port),
    );
    let mut sink = avro_sink("k1", col_port);
    for l in pki.sink_keys("ca.pem").lines() {
        sink.push_str(&format!("edge.sinks.k1.{l}\n"));
    }
    let edge = HttpAgent::spawn(
        root,
        "edge",
        &edge_conf(root, edge_port, "k1", &sink),
        vec!["--no-reload-conf".into()],
        free_port(),
        Some(edge_port),
    );
    (col, edge, col_port, edge_port)
}

#[test]
fn a_flood_of_canned_client_hellos_is_refused_within_the_budget_and_a_tls_sink_delivers() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (col, edge, col_port, edge_port) = agents(root);
    let col_http = col.http;
    let before = lines("before", 0..200);
    assert_eq!(netcat_send(edge_port, &before), before.len());

    // The gauge, sampled all through the flood.
    let peak = Peak::start(move || counter(col_http, "SOURCE.r1", "TlsHandshakesInProgress"));
    let hello = Arc::new(client_hello());
    attack(16, HELLOS / 16, move || {
        replay(Ipv4Addr::new(127, 0, 0, 5), col_port, &hello)
    });
    let during = lines("during", 0..200);
    assert_eq!(netcat_send(edge_port, &during), during.len());
    let peak = peak.finish();

    let mut want = before;
    want.extend(during);
    let got = wait_for_all(&[root.join("col/out")], &want, &[&col, &edge]);
    assert_eq!(got.len(), want.len(), "each line once");
    let refused = counter(col_http, "SOURCE.r1", "TlsHandshakeRefusedCount");
    assert!(
        refused >= HELLOS as u64 / 2,
        "{refused} of {HELLOS} hellos refused; log:\n{}",
        col.log_text()
    );
    eprintln!("{refused} of {HELLOS} hellos refused; at most {peak} handshakes at once");
    assert!(
        (1..=CONCURRENT_MAX).contains(&peak),
        "{peak} handshakes at once at most (0: the gauge never saw one)"
    );
    let log = col.log_text();
    assert!(
        log.contains("TLS handshake refused: ") && log.contains("peer=127.0.0.5:"),
        "{log}"
    );
}
