//! Connections that hold an `otlp` source's slots without using them, in a real agent process
//! (issue 80, item 7), all from the legitimate client's own address (as behind a NAT or a
//! load balancer): idle gRPC connections (half of them sending their HTTP/2 preface a byte a
//! second) up to `maxConnectionsPerPeer`, and slowloris HTTP connections (headers a byte a
//! second) up to `maxConnections`. At the limit the connection idle longest is closed for a
//! new one, so 24 legitimate exports on new connections are all answered, over gRPC and
//! HTTP; round 5 measured 0 of 24.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prost::Message;

use crate::support::multihop::Proc;
use crate::support::otel_support::exports::{export, post, request};
use crate::support::otel_support::otlp_source;
use crate::support::ports::free_port;

/// Legitimate exports made while the slots are held.
const EXPORTS: usize = 24;
/// The http source's `maxConnections`.
const HTTP_MAX: usize = 48;
/// The default `maxConnectionsPerPeer`, which binds the gRPC source here.
const PER_PEER_DEFAULT: usize = 128;

fn conf(grpc: u16, http: u16) -> String {
    let mut c = String::from("a.sources = g h\na.channels = c1\na.sinks = k1\n");
    c += &otlp_source("a", "g", "grpc", grpc, "c1");
    c += &otlp_source("a", "h", "http", http, "c1");
    c += &format!("a.sources.h.maxConnections = {HTTP_MAX}\n");
    c += "a.channels.c1.type = memory\na.channels.c1.capacity = 100000\n\
          a.channels.c1.transactionCapacity = 1000\n\
          a.sinks.k1.type = null\na.sinks.k1.channel = c1\n";
    c
}

/// Opens `n` connections to `port`, each sending the first byte of `prefix`; every other one
/// (or each, with `all_slow`) then sends one more byte a second from a thread of its own
/// until `stop`.
fn hold(port: u16, n: usize, prefix: &'static [u8], all_slow: bool, stop: &Arc<AtomicBool>) {
    for i in 0..n {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
            continue;
        };
        let _ = s.write_all(&prefix[..1]);
        let stop = stop.clone();
        let slow = all_slow || i % 2 == 0;
        std::thread::spawn(move || {
            let mut at = 1;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(1));
                if slow && at < prefix.len() && s.write_all(&prefix[at..=at]).is_ok() {
                    at += 1;
                }
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_connections_at_the_limits_give_way_to_legitimate_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let (grpc, http) = (free_port(), free_port());
    let agent = Proc::start(tmp.path(), "a", &conf(grpc, http), grpc, &[]);
    agent.wait_until("http listening", || {
        TcpStream::connect(("127.0.0.1", http)).is_ok()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let preface: &'static [u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let slowloris: &'static [u8] = b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaa";
    hold(grpc, PER_PEER_DEFAULT + 8, preface, false, &stop);
    hold(http, HTTP_MAX + 8, slowloris, true, &stop);
    // Every held connection idle past the least idle time a connection is closed after.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut grpc_ok = 0;
    for _ in 0..EXPORTS {
        grpc_ok += usize::from(export(grpc).await);
    }
    let body = request().encode_to_vec();
    let http_ok = tokio::task::spawn_blocking(move || {
        (0..EXPORTS).filter(|_| post(http, &body) == 200).count()
    })
    .await
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    eprintln!("exports answered beside held slots: gRPC {grpc_ok} of {EXPORTS}, HTTP {http_ok} of {EXPORTS}");
    let log = agent.log_text();
    assert_eq!((grpc_ok, http_ok), (EXPORTS, EXPORTS), "{log}");
    assert!(log.contains("closed the connection idle longest"), "{log}");
}
