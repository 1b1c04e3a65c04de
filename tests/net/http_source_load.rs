//! Load on the real binary: `http` source -> memory channel -> null sink over loopback with
//! keep-alive, 1 KiB events in batches of 100 per POST. By default a short smoke run (it
//! checks every request gets 200 and the counters add up); with `SLUICE_LONG=1` it runs for
//! `SLUICE_HTTP_LOAD_SECS` (default 10) seconds over `SLUICE_HTTP_LOAD_CONNS` (default 4)
//! connections and prints events/s (docs/performance.md).
//! No timing assertions.

use crate::support::agent_proc::{HttpAgent, Proc};
use crate::support::ports;
use ports::free_port;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const EVENT_BYTES: usize = 1024;
const BATCH: usize = 100;

fn request_bytes(port: u16) -> Vec<u8> {
    let body_text: String = (0..EVENT_BYTES)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let one = format!(r#"{{"headers":{{"host":"loadgen"}},"body":"{body_text}"}}"#);
    let body = format!("[{}]", vec![one; BATCH].join(","));
    let mut req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body.as_bytes());
    req
}

/// Sends `req` until `until` or `max_requests`; returns requests answered 200.
fn client(port: u16, req: &[u8], until: Instant, max_requests: u64) -> u64 {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let mut ok = 0;
    while ok < max_requests && Instant::now() < until {
        w.write_all(req).unwrap();
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert!(line.starts_with("HTTP/1.1 200"), "answer {line:?}");
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            r.read_line(&mut h).unwrap();
            if h == "\r\n" {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).unwrap();
        ok += 1;
    }
    ok
}

#[test]
fn http_source_takes_batches_of_1kib_events_over_keep_alive_connections() {
    let long = crate::support::long_runs::long_runs();
    let secs: u64 = std::env::var("SLUICE_HTTP_LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let (port, mport) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let conf = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = http\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {port}\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 200000\n\
         a1.channels.c1.transactionCapacity = 1000\n\
         a1.sinks.k1.type = null\na1.sinks.k1.batchSize = 1000\na1.sinks.k1.channel = c1\n"
    );
    let mut agent = Proc::builder(dir.path())
        .conf_text_as("a.properties", &conf)
        .log("agent.log")
        .arg("--no-reload-conf")
        .args(HttpAgent::monitoring_args(mport))
        .no_rust_log()
        .wait(Duration::from_secs(30))
        .ready_port(port)
        .spawn();
    let req = request_bytes(port);
    let conns: usize = if long {
        std::env::var("SLUICE_HTTP_LOAD_CONNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(4)
    } else {
        4
    };
    let (until, max) = if long {
        (Instant::now() + Duration::from_secs(secs), u64::MAX)
    } else {
        (Instant::now() + Duration::from_secs(60), 25)
    };
    let started = Instant::now();
    let handles: Vec<_> = (0..conns)
        .map(|_| {
            let req = req.clone();
            std::thread::spawn(move || client(port, &req, until, max))
        })
        .collect();
    let requests: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let elapsed = started.elapsed();
    let events = requests * BATCH as u64;
    let metrics = {
        let mut s = TcpStream::connect(("127.0.0.1", mport)).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    agent.stop();
    assert!(
        metrics.contains(&format!("\"EventAcceptedCount\":\"{events}\"")),
        "source counted {events} accepted events: {metrics}"
    );
    if !long {
        assert_eq!(requests, conns as u64 * 25);
    }
    println!(
        "http load: {events} events of {EVENT_BYTES} B in {requests} requests of {BATCH} over {conns} \
         keep-alive connections in {:.2} s = {:.0} events/s",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64()
    );
}
