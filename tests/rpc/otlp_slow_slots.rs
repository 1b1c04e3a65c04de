//! Connections that hold an `otlp` source's slots with request bodies that never arrive at
//! any pace, in a real agent process (issue 87, item 7 and the idle gRPC connections of item
//! 16), all from the legitimate client's own address (as behind a NAT):
//! - HTTP: more connections than `maxConnections` each POSTing a 1 MB body a byte a second,
//!   reconnecting whenever closed (round 7 measured 1-2 of 24 exports answered: a connection
//!   whose headers are whole was never closed for a new one);
//! - gRPC: streams trickling a DATA byte a second, and body-less streams, on the whole of
//!   `maxConnections`, then a flood opening a fresh idle connection every 25 ms, faster than
//!   the table turns over in a second (with a least idle time of 1 s before a connection
//!   could be closed, such a flood kept every new client out).
//!
//! 24 legitimate exports on new connections over each transport are all answered: the
//! slowest body, then the connection idle longest, is closed for each.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prost::Message;

use crate::otlp_h2_flood::raw;
use crate::support::multihop::Proc;
use crate::support::otel_support::exports::{export, post, request};
use crate::support::otel_support::otlp_source;
use crate::support::ports::free_port;

/// Legitimate exports made over each transport while the slots are held.
const EXPORTS: usize = 24;
/// `maxConnections` of both sources (small, so the test is).
const SLOTS: usize = 16;
/// A body byte every this long: far under the least pace.
const TRICKLE: Duration = Duration::from_secs(1);
/// A fresh idle gRPC connection every this long: `SLOTS` of them in 0.4 s.
const CHURN: Duration = Duration::from_millis(25);

fn conf(grpc: u16, http: u16) -> String {
    let mut c = String::from("a.sources = g h\na.channels = c1\na.sinks = k1\n");
    c += &otlp_source("a", "g", "grpc", grpc, "c1");
    c += &otlp_source("a", "h", "http", http, "c1");
    c += &format!("a.sources.g.maxConnections = {SLOTS}\na.sources.h.maxConnections = {SLOTS}\n");
    c += "a.channels.c1.type = memory\na.channels.c1.capacity = 100000\n\
          a.channels.c1.transactionCapacity = 1000\n\
          a.sinks.k1.type = null\na.sinks.k1.channel = c1\n";
    c
}

/// An HTTP POST whose headers are whole and whose 1 MB body has not begun.
fn trickle_http(port: u16) -> Option<TcpStream> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    let head = "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n\
                Content-Length: 1000000\r\n\r\n";
    s.write_all(head.as_bytes()).ok()?;
    Some(s)
}

/// Keeps `n` HTTP bodies trickling a byte every [`TRICKLE`], each closed one replaced, until
/// `stop`.
fn hold_http(port: u16, n: usize, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut conns: Vec<Option<TcpStream>> = (0..n).map(|_| trickle_http(port)).collect();
        let mut reconnects = 0;
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(TRICKLE);
            for c in &mut conns {
                if c.as_mut().is_some_and(|s| s.write_all(b"x").is_ok()) {
                    continue;
                }
                *c = trickle_http(port);
                reconnects += 1;
            }
        }
        reconnects
    })
}

/// A gRPC connection with `streams` export streams open: one trickling DATA, or none sent.
fn trickle_grpc(port: u16, streams: u32) -> Option<TcpStream> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut opening = raw::opening();
    for i in 0..streams {
        opening.extend_from_slice(&raw::export_headers(2 * i + 1));
    }
    s.write_all(&opening).ok()?;
    Some(s)
}

/// Fills the gRPC source's slots: half trickle one stream's body a byte every [`TRICKLE`],
/// half hold 8 body-less streams; then a flood of fresh idle connections every [`CHURN`]
/// (each kept [`SLOTS`] × 2 turns). Until `stop`.
fn hold_grpc(port: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut trickling: Vec<TcpStream> = (0..SLOTS / 2)
            .filter_map(|_| trickle_grpc(port, 1))
            .collect();
        let _bodyless: Vec<TcpStream> = (0..SLOTS / 2)
            .filter_map(|_| trickle_grpc(port, 8))
            .collect();
        let mut idle = std::collections::VecDeque::new();
        let (mut opened, mut last_trickle) = (0, std::time::Instant::now());
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(CHURN);
            if let Some(s) = trickle_grpc(port, 0) {
                idle.push_back(s);
                opened += 1;
            }
            if idle.len() > 2 * SLOTS {
                idle.pop_front();
            }
            if last_trickle.elapsed() >= TRICKLE {
                last_trickle = std::time::Instant::now();
                for s in &mut trickling {
                    let _ = s.write_all(&raw::data(1, b"x"));
                }
            }
        }
        opened
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_bodies_and_a_flood_of_idle_connections_give_way_to_legitimate_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let (grpc, http) = (free_port(), free_port());
    let agent = Proc::start(tmp.path(), "a", &conf(grpc, http), grpc, &[]);
    agent.wait_until("http listening", || {
        TcpStream::connect(("127.0.0.1", http)).is_ok()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let http_holder = hold_http(http, SLOTS + 8, stop.clone());
    let grpc_holder = hold_grpc(grpc, stop.clone());
    // Every trickling body past its grace and behind its pace.
    tokio::time::sleep(Duration::from_secs(4)).await;
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
    let reconnects = http_holder.join().unwrap();
    let opened = grpc_holder.join().unwrap();
    eprintln!(
        "exports answered beside held slots: gRPC {grpc_ok} of {EXPORTS} ({opened} idle \
         connections opened), HTTP {http_ok} of {EXPORTS} ({reconnects} trickling bodies reopened)"
    );
    let log = agent.log_text();
    assert_eq!((grpc_ok, http_ok), (EXPORTS, EXPORTS), "{log}");
    assert!(
        log.contains("closed the connection whose request body is furthest behind"),
        "{log}"
    );
    assert!(log.contains("closed the connection idle longest"), "{log}");
}
