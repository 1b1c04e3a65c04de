//! The monitoring server's budgets (issue 64, item 9): idle and kept-alive connections never
//! keep a liveness probe out, and scraping `/metrics` in a loop costs a netcat source little.
//! Functional outcomes only; the scrape's cost on a netcat source's rate is measured by
//! `a_netcat_sources_rate_while_metrics_is_scraped_in_a_loop` with `SLUICE_LONG=1` (it prints
//! the ratio, asserts nothing about time).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::status_support::{
    free_port, get, seq_memory_null, start_agent, start_agent_with, status_of,
};

const EVENTS: u64 = 100_000_000_000;
const IDLE: usize = 40;
const KEPT_ALIVE: usize = 40;

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// One `GET path` on a kept-alive connection: its status; the connection stays open.
fn ask_keep_alive(s: &mut TcpStream, port: u16, path: &str) -> Option<u16> {
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").ok()?;
    let mut r = BufReader::new(s.try_clone().ok()?);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let status = line.split(' ').nth(1)?.parse().ok()?;
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 {
            return None;
        }
        if h == "\r\n" {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).ok()?;
    Some(status)
}

#[test]
fn health_is_answered_while_idle_and_kept_alive_connections_fill_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent(dir.path(), &seq_memory_null(EVENTS));
    let port = agent.http;
    // Forty connections that never ask anything...
    let idle: Vec<TcpStream> = (0..IDLE).map(|_| connect(port)).collect();
    // ... and forty that asked once and stay open (each answered while it had a slot).
    let mut kept = Vec::new();
    for _ in 0..KEPT_ALIVE {
        let mut s = connect(port);
        if ask_keep_alive(&mut s, port, "/metrics") == Some(200) {
            kept.push(s);
        }
    }
    assert!(
        kept.len() >= KEPT_ALIVE / 2,
        "kept-alive connections are answered: {} of {KEPT_ALIVE}",
        kept.len()
    );
    // A liveness probe, five times in a row, on a connection of its own each time.
    for i in 0..5 {
        let started = Instant::now();
        let answer = get(port, "/health", None);
        assert_eq!(
            answer.as_ref().map(|a| a.status),
            Some(200),
            "probe {i} after {:?}: {answer:?}; log:\n{}",
            started.elapsed(),
            agent.proc.log_text()
        );
        let ready = get(port, "/ready", None);
        assert_eq!(ready.map(|a| a.status), Some(200), "probe {i} /ready");
    }
    // And the status page and metrics still answer a browser or a scraper.
    assert_eq!(get(port, "/", None).map(|a| a.status), Some(200));
    let metrics = get(port, "/metrics", None).expect("metrics answered");
    assert_eq!(metrics.status, 200);
    assert!(metrics.body.contains("SOURCE.r1"), "{}", metrics.body);
    drop((idle, kept));
}

#[test]
fn reads_with_a_foreign_host_are_refused_and_own_names_on_any_port_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent(dir.path(), &seq_memory_null(EVENTS));
    let port = agent.http;
    let ask = |head: String| status_of(port, &head).expect("an answer");
    for path in [
        "/metrics",
        "/",
        "/history",
        "/prometheus",
        "/health",
        "/ready",
    ] {
        let (status, body) = ask(format!("GET {path} HTTP/1.1\r\nHost: evil.example:{port}"));
        assert_eq!(status, 403, "GET {path} with a foreign Host: {body}");
        assert!(body.contains("Host"), "{body}");
        let (status, _) = ask(format!("GET {path} HTTP/1.1\r\nHost: evil.example"));
        assert_eq!(status, 403, "GET {path} with a foreign Host and no port");
    }
    // Own names: loopback literals, localhost (a browser at http://localhost:PORT/), and any
    // port (a scrape through a mapped port names the outside one).
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "localhost".to_owned(),
        "127.0.0.1:8080".to_owned(),
    ] {
        for path in ["/metrics", "/", "/history"] {
            let (status, body) = ask(format!("GET {path} HTTP/1.1\r\nHost: {host}"));
            assert_eq!(status, 200, "GET {path} Host {host}: {body}");
        }
    }
}

#[test]
fn a_name_listed_in_monitoring_hosts_is_served_on_reads() {
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent_with(
        dir.path(),
        &seq_memory_null(EVENTS),
        &["-Dflume.monitoring.hosts=metrics.example.com"],
    );
    let port = agent.http;
    let (status, body) = status_of(
        port,
        &format!("GET /metrics HTTP/1.1\r\nHost: metrics.example.com:{port}"),
    )
    .expect("an answer");
    assert_eq!(status, 200, "{body}");
    let (status, _) = status_of(
        port,
        &format!("GET /metrics HTTP/1.1\r\nHost: other.example.com:{port}"),
    )
    .expect("an answer");
    assert_eq!(status, 403);
}

/// netcat -> memory -> null, with the metrics server on.
fn netcat_conf(port: u16) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {port}\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 100000\n\
         a1.channels.c1.transactionCapacity = 1000\n\
         a1.sinks.k1.type = null\na1.sinks.k1.batchSize = 1000\na1.sinks.k1.channel = c1\n"
    )
}

/// Lines a netcat client gets answered `OK` within `secs` seconds (pipelined 100 at a time).
fn netcat_lines_in(port: u16, secs: f64) -> u64 {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let batch: String = (0..100).map(|i| format!("line {i:06}\n")).collect();
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let mut ok = 0;
    let mut line = String::new();
    while Instant::now() < until {
        w.write_all(batch.as_bytes()).unwrap();
        for _ in 0..100 {
            line.clear();
            r.read_line(&mut line).unwrap();
            assert_eq!(line, "OK\n");
            ok += 1;
        }
    }
    ok
}

/// Scrapes `/metrics` (Prometheus text) in a loop over a kept-alive connection until `stop`
/// (a new connection when the server closes one).
fn scrape_loop(port: u16, stop: &AtomicBool, scrapes: &AtomicU64) {
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/plain; version=0.0.4\r\n\r\n"
    );
    let open = || {
        let s = connect(port);
        s.set_nodelay(true).unwrap();
        s
    };
    let mut s = open();
    while !stop.load(Ordering::Relaxed) {
        if scrape_once(&mut s, &request).is_some() {
            scrapes.fetch_add(1, Ordering::Relaxed);
        } else {
            s = open();
        }
    }
}

/// One scrape (`request`, written at once: no Nagle stall) on `s`; `None` when the
/// connection ended.
fn scrape_once(s: &mut TcpStream, request: &str) -> Option<()> {
    s.write_all(request.as_bytes()).ok()?;
    let mut r = BufReader::new(s.try_clone().ok()?);
    let mut len = 0usize;
    let mut h = String::new();
    loop {
        h.clear();
        if r.read_line(&mut h).ok()? == 0 {
            return None;
        }
        if h == "\r\n" {
            let mut body = vec![0u8; len];
            return r.read_exact(&mut body).ok();
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().ok()?;
        }
    }
}

#[test]
fn a_netcat_sources_rate_while_metrics_is_scraped_in_a_loop() {
    let long = crate::support::long_runs::long_runs();
    let secs = if long { 10.0 } else { 1.0 };
    let dir = tempfile::tempdir().unwrap();
    let nc = free_port();
    let agent = start_agent(dir.path(), &netcat_conf(nc));
    let alone = netcat_lines_in(nc, secs);
    let stop = Arc::new(AtomicBool::new(false));
    let scrapes = Arc::new(AtomicU64::new(0));
    let scrapers: Vec<_> = (0..2)
        .map(|_| {
            let (stop, scrapes, port) = (stop.clone(), scrapes.clone(), agent.http);
            std::thread::spawn(move || scrape_loop(port, &stop, &scrapes))
        })
        .collect();
    let scraped = netcat_lines_in(nc, secs);
    stop.store(true, Ordering::Relaxed);
    for s in scrapers {
        s.join().unwrap();
    }
    let n = scrapes.load(Ordering::Relaxed);
    // Functional: both ran, and every scrape was answered.
    assert!(alone > 0 && scraped > 0, "{alone} {scraped}");
    assert!(n > 0, "no scrape answered");
    println!(
        "netcat alone: {:.0} lines/s; while 2 clients scrape /metrics in a loop: {:.0} lines/s \
         ({:.2}x), {n} scrapes ({:.1}/s)",
        alone as f64 / secs,
        scraped as f64 / secs,
        scraped as f64 / alone as f64,
        n as f64 / secs
    );
}
