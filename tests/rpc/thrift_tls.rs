//! TLS and deflate on the thrift hop, Sluice's thrift sink to Sluice's thrift source on
//! loopback (the PKI made by `openssl` in the test): every event arrives, in order, and a
//! plain client to the TLS port (or an uncompressed one to the deflate port) is closed with
//! a line naming it and `EventReadFail`.

use crate::support::net_support;
use crate::support::rpcsec_support;

use std::time::Duration;

use rpcsec_support::{capture_logs, thrift_sink, wait_for_log, Pki};
use sluice_core::Event;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn batch(tag: &str, n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| Event::new(format!("{tag}-{i}")).header("h", tag))
        .collect()
}

fn source(keys: &str) -> (net_support::Running, u16) {
    let port = net_support::free_port();
    let props = format!("type = thrift\nbind = 127.0.0.1\nport = {port}\n{keys}");
    (net_support::start(&props, 100_000, 10_000), port)
}

/// Sends 3 batches of 50 through a thrift sink with `sink_keys`; asserts all 150 arrived in
/// order.
async fn deliver_all(src: &net_support::Running, port: u16, sink_keys: &str, tag: &str) {
    let mut sink = thrift_sink(port, sink_keys).unwrap();
    net_support::connect(port).await;
    sink.prepare().await.unwrap();
    let mut sent = Vec::new();
    for round in 0..3 {
        let b = batch(&format!("{tag}{round}"), 50);
        sink.deliver(&b).await.unwrap();
        sent.extend(b);
    }
    let got = src.take_n(150).await;
    assert_eq!(got, sent);
    sink.stop();
}

/// A plain framed-compact Thrift client to `port` sends one call's first bytes; asserts the
/// source closes it and logs a line with its address and `expect`.
async fn plain_client_is_refused(src: &net_support::Running, port: u16, expect: &str) {
    let before = src.counters.get("EventReadFail");
    let mut plain = net_support::connect(port).await;
    let local = plain.local_addr().unwrap();
    // Frame length 20, then a compact-protocol CALL header (0x82 0x21).
    plain
        .write_all(&[0, 0, 0, 20, 0x82, 0x21, 1, 11, b'a', b'p', b'p', b'e'])
        .await
        .unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), plain.read(&mut buf)).await;
    assert!(
        matches!(n, Ok(Ok(0)) | Ok(Err(_))),
        "the plain client was not closed: {n:?}"
    );
    wait_for_log(&[&format!("peer={local}"), "thrift connection closed", expect]).await;
    assert!(src.counters.get("EventReadFail") > before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thrift_sink_delivers_to_a_thrift_source_over_tls_and_a_plain_client_is_refused() {
    let _g = capture_logs().await;
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::generate(tmp.path());
    let (src, port) = source(&pki.source_keys("server.p12"));
    deliver_all(&src, port, &pki.sink_keys("ca.pem"), "tls").await;
    wait_for_log(&[
        "thrift source listening",
        &format!("port={port}"),
        "transport=tls",
    ])
    .await;
    plain_client_is_refused(&src, port, "does not speak TLS to this TLS port").await;
    // The source goes on: a second sink still delivers.
    deliver_all(&src, port, &pki.sink_keys("ca.p12"), "again").await;
    src.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deflate_thrift_sink_delivers_to_a_deflate_thrift_source() {
    let _g = capture_logs().await;
    let (src, port) = source("compression-type = deflate\n");
    deliver_all(&src, port, "compression-type = deflate\n", "deflate").await;
    wait_for_log(&[
        "thrift source listening",
        &format!("port={port}"),
        "transport=deflate",
    ])
    .await;
    plain_client_is_refused(&src, port, "uncompressed data to this deflate port").await;
    src.stop().await;
}
