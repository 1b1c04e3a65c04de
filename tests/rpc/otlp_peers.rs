//! What one peer of an `otlp` source can hold, in a real agent process, and that the other
//! peers are answered meanwhile (each attacker on its own loopback address, 127.0.0.2 and up;
//! the legitimate client on another):
//! - slowloris on OTLP/HTTP: more connections than `maxConnections` from one address, each
//!   sending half its headers; the peer keeps `maxConnectionsPerPeer`, another peer's exports
//!   are answered 200;
//! - gRPC streams that never send their body (24 connections × 64 streams): they hold none
//!   of the body budget, another client's exports are answered `OK`;
//! - a gRPC connection without a call is closed after `idleTimeout`;
//! - 40 HTTP bodies from 40 peers, 15 MiB each sent and then stalled: the agent's peak RSS
//!   grows by less than `maxInflightBytes` (128 MiB) and some slack, where today's main held
//!   every byte sent (866 MiB).
//!
//! And, measured, not asserted (`--ignored`): a netcat source's rate beside a gzip bomb on
//! OTLP/HTTP and on gRPC, against its rate alone.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use prost::Message;

use crate::otlp_h2_flood::raw;
use crate::support::hostile_support::{connect_from, netcat_flow, vm_hwm_mib};
use crate::support::multihop::Proc;
use crate::support::otel_support::otlp_source;
use crate::support::ports::free_port;

/// Exports the legitimate client makes while the attack holds; all must be answered.
const EXPORTS: usize = 24;
/// Slack over `maxInflightBytes` for the peak RSS under stalled bodies: the runtime, hyper's
/// read buffers, the allocator.
const HWM_SLACK_MIB: u64 = 80;

fn request(n: usize) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord::default(); n],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// One `otlp` source of `protocol` on a new port, with `extra` keys, into a memory channel
/// drained by a null sink; (agent, port).
fn start(dir: &std::path::Path, protocol: &str, extra: &str) -> (Proc, u16) {
    let port = free_port();
    let mut c = String::from("a.sources = o\na.channels = c1\na.sinks = k1\n");
    c += &otlp_source("a", "o", protocol, port, "c1");
    c += extra;
    c += "a.channels.c1.type = memory\na.channels.c1.capacity = 100000\n\
          a.sinks.k1.type = null\na.sinks.k1.channel = c1\n";
    let agent = Proc::start(dir, "a", &c, port, &[]);
    agent.wait_until("otlp listening", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    (agent, port)
}

/// One protobuf POST of one record from `from`, on its own connection: the status (0 when
/// the connection is closed first or nothing is answered within 20 s).
fn post_from(from: Ipv4Addr, port: u16) -> u16 {
    let Ok(mut s) = connect_from(from, port) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
    let body = request(1).encode_to_vec();
    let head = format!(
        "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if s.write_all(head.as_bytes()).is_err() || s.write_all(&body).is_err() {
        return 0;
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw)
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn slowloris_connections_of_one_peer_leave_another_peer_answered() {
    let tmp = tempfile::tempdir().unwrap();
    // The default maxConnectionsPerPeer (128) under a maxConnections the test can pass.
    let (agent, port) = start(tmp.path(), "http", "a.sources.o.maxConnections = 256\n");
    let attacker = Ipv4Addr::new(127, 0, 0, 2);
    let mut held = Vec::new();
    for _ in 0..300 {
        if let Ok(mut s) = connect_from(attacker, port) {
            let _ = s.write_all(b"POST /v1/logs HTTP/1.1\r\nHost: x\r\n");
            held.push(s);
        }
    }
    // Let the agent accept (or close) every one of them.
    std::thread::sleep(Duration::from_millis(500));
    let answered = (0..EXPORTS)
        .filter(|_| post_from(Ipv4Addr::new(127, 0, 0, 3), port) == 200)
        .count();
    // The slowloris connections past its share were closed at once.
    let mut open = 0;
    for s in &mut held {
        let _ = s.set_read_timeout(Some(Duration::from_millis(5)));
        let still = s.read(&mut [0u8; 1]).err().map(|e| e.kind());
        if matches!(
            still,
            Some(std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
        ) {
            open += 1;
        }
    }
    eprintln!("slowloris: {open} of 300 connections still open; {answered} of {EXPORTS} answered");
    assert_eq!(answered, EXPORTS, "{}", agent.log_text());
    assert!(open <= 128, "{open} connections of one peer open");
    assert!(agent.log_text().contains("maxConnectionsPerPeer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_streams_that_never_send_a_body_leave_another_client_answered() {
    let tmp = tempfile::tempdir().unwrap();
    let (agent, port) = start(tmp.path(), "grpc", "");
    let conns = tokio::task::spawn_blocking(move || {
        (0..24)
            .map(|_| {
                let mut c = raw::Conn::open_from(Ipv4Addr::new(127, 0, 0, 2), port).unwrap();
                let opens: Vec<u8> = (0..64u32)
                    .flat_map(|i| raw::export_headers(2 * i + 1))
                    .collect();
                c.stream.write_all(&opens).unwrap();
                c
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .local_address(Some(Ipv4Addr::new(127, 0, 0, 3).into()))
        .connect()
        .await
        .unwrap();
    let mut client = LogsServiceClient::new(channel);
    let mut answered = 0;
    for _ in 0..EXPORTS {
        let r = tokio::time::timeout(Duration::from_secs(10), client.export(request(5))).await;
        if matches!(r, Ok(Ok(_))) {
            answered += 1;
        }
    }
    drop(conns);
    assert_eq!(answered, EXPORTS, "{}", agent.log_text());
}

#[test]
fn a_grpc_connection_without_calls_is_closed_after_idle_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let (agent, port) = start(tmp.path(), "grpc", "a.sources.o.idleTimeout = 500\n");
    let c = raw::Conn::open(port).unwrap();
    assert!(c.settled(), "no SETTINGS from the server");
    // GOAWAY (NO_ERROR), then the close once the client acknowledged the server's last PING
    // (this raw client does not) or at requestTimeout.
    let answers = c.finish(Duration::from_secs(5));
    assert!(
        answers.goaway == Some(0) || answers.closed,
        "{answers:?}\n{}",
        agent.log_text()
    );
}

#[test]
fn stalled_http_bodies_hold_at_most_max_inflight_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let (agent, port) = start(tmp.path(), "http", "a.sources.o.requestTimeout = 20000\n");
    let hwm0 = vm_hwm_mib(agent.child.id());
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..40u8)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let Ok(mut s) = connect_from(Ipv4Addr::new(127, 0, 1, i + 2), port) else {
                    return;
                };
                let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
                let head = format!(
                    "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n\
                     Content-Length: {}\r\n\r\n",
                    16 << 20
                );
                let _ = s.write_all(head.as_bytes());
                let chunk = vec![0x0au8; 1 << 20];
                for _ in 0..15 {
                    if s.write_all(&chunk).is_err() {
                        break;
                    }
                }
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        })
        .collect();
    // The senders either sent their 15 MiB or are blocked on a full socket.
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(200));
    }
    let hwm = vm_hwm_mib(agent.child.id());
    stop.store(true, Ordering::Relaxed);
    senders.into_iter().for_each(|t| t.join().unwrap());
    eprintln!("40 stalled bodies of 15 MiB: VmHWM {hwm0} -> {hwm} MiB");
    assert!(
        hwm.saturating_sub(hwm0) < 128 + HWM_SLACK_MIB,
        "VmHWM {hwm0} -> {hwm} MiB\n{}",
        agent.log_text()
    );
}

/// netcat's lines per second over 3 s.
fn rate(flow: &crate::support::hostile_support::Flow) -> f64 {
    let a0 = flow.acks.load(Ordering::Relaxed);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    (flow.acks.load(Ordering::Relaxed) - a0) as f64 / t0.elapsed().as_secs_f64()
}

/// A measurement, not a test (run with `--ignored --nocapture`): a netcat source's rate
/// beside gzip bombs (64 MiB of zeros in ~64 KiB, refused past the default `maxRequestBytes`,
/// 16 MiB) sent in a loop by 4 threads, on OTLP/HTTP and then on gRPC.
#[test]
#[ignore = "a measurement: prints rate ratios"]
fn measure_netcat_rate_beside_a_gzip_bomb() {
    let tmp = tempfile::tempdir().unwrap();
    let (grpc, http, netcat) = (free_port(), free_port(), free_port());
    let mut c = String::from("a.sources = g h n\na.channels = c1 c2\na.sinks = k1 k2\n");
    c += &otlp_source("a", "g", "grpc", grpc, "c1");
    c += &otlp_source("a", "h", "http", http, "c1");
    c += &format!(
        "a.sources.n.type = netcat\na.sources.n.bind = 127.0.0.1\na.sources.n.port = {netcat}\n\
         a.sources.n.channels = c2\n\
         a.channels.c1.type = memory\na.channels.c2.type = memory\na.channels.c2.capacity = 10000\n\
         a.sinks.k1.type = null\na.sinks.k1.channel = c1\n\
         a.sinks.k2.type = null\na.sinks.k2.channel = c2\n"
    );
    let agent = Proc::start(tmp.path(), "a", &c, grpc, &[]);
    agent.wait_until("listening", || {
        TcpStream::connect(("127.0.0.1", netcat)).is_ok()
            && TcpStream::connect(("127.0.0.1", http)).is_ok()
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 64 << 20]).unwrap();
    let bomb = Arc::new(gz.finish().unwrap());
    let flow = netcat_flow(netcat);
    let alone = rate(&flow);
    for (name, port) in [("http/1.1", http), ("grpc (http/2)", grpc)] {
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (stop, bomb) = (stop.clone(), bomb.clone());
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    while !stop.load(Ordering::Relaxed) {
                        if port == http {
                            let _ = bomb_http(port, &bomb);
                        } else {
                            rt.block_on(bomb_grpc(port, &bomb));
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(500));
        let beside = rate(&flow);
        stop.store(true, Ordering::Relaxed);
        threads.into_iter().for_each(|t| t.join().unwrap());
        eprintln!(
            "netcat alone {alone:.0}/s, beside a gzip bomb on {name} {beside:.0}/s: {:.2}x",
            beside / alone
        );
    }
    let (acks, _) = flow.finish();
    assert!(acks > 0);
}

fn bomb_http(port: u16, bomb: &[u8]) -> std::io::Result<()> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n\
         Content-Encoding: gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        bomb.len()
    )?;
    s.write_all(bomb)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    Ok(())
}

/// One gRPC call whose gzip message is `bomb` (the compressed flag set), on a new connection.
async fn bomb_grpc(port: u16, bomb: &[u8]) {
    let Ok(tcp) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return;
    };
    let Ok((mut send, conn)) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    else {
        return;
    };
    tokio::spawn(conn);
    let mut body = vec![1u8];
    body.extend_from_slice(&(bomb.len() as u32).to_be_bytes());
    body.extend_from_slice(bomb);
    let req = hyper::Request::post(format!(
        "http://127.0.0.1:{port}/opentelemetry.proto.collector.logs.v1.LogsService/Export"
    ))
    .header("content-type", "application/grpc")
    .header("grpc-encoding", "gzip")
    .header("te", "trailers")
    .body(http_body_util::Full::new(bytes::Bytes::from(body)))
    .unwrap();
    if let Ok(resp) = send.send_request(req).await {
        use http_body_util::BodyExt;
        let _ = resp.into_body().collect().await;
    }
}
