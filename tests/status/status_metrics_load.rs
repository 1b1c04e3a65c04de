//! `/metrics` under load while the agent carries events: a paced client sends 1,000 requests
//! per second over 4 kept-alive connections and records each answer's latency.
//!
//! By default a short smoke run (300 requests) checks that every request is answered 200 on
//! kept-alive connections. The measurement behind docs/performance.md's bar is ignored by
//! default (it takes ~15 s and needs a quiet machine):
//!
//! ```text
//! cargo test --release --test status status_metrics_load:: -- --ignored --nocapture
//! ```

use crate::support::status_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use status_support::{start_agent, HttpAgent};

const CONNECTIONS: usize = 4;

/// seq -> file channel -> null, unbounded: the agent carries as much as it can.
fn seq_file_null(dir: &std::path::Path) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = seq\na1.sources.r1.batchSize = 100\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {}\na1.channels.c1.dataDirs = {}\n\
         a1.channels.c1.capacity = 200000\na1.channels.c1.transactionCapacity = 1000\n\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\na1.sinks.k1.batchSize = 100\n",
        dir.join("ck").display(),
        dir.join("data").display()
    )
}

/// One kept-alive connection; `get` sends a request and reads the whole answer.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        Conn {
            writer: s.try_clone().unwrap(),
            reader: BufReader::new(s),
        }
    }

    /// Status code and whether the server will close the connection.
    fn get(&mut self, accept: &str) -> Option<(u16, bool)> {
        write!(
            self.writer,
            "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: {accept}\r\n\r\n"
        )
        .ok()?;
        let mut line = String::new();
        self.reader.read_line(&mut line).ok()?;
        let status = line.split(' ').nth(1)?.parse().ok()?;
        let (mut len, mut close) = (0usize, false);
        loop {
            line.clear();
            self.reader.read_line(&mut line).ok()?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (n, v) = l.split_once(':')?;
            match n.to_ascii_lowercase().as_str() {
                "content-length" => len = v.trim().parse().ok()?,
                "connection" => close = v.trim().eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let mut body = vec![0u8; len];
        self.reader.read_exact(&mut body).ok()?;
        Some((status, close))
    }
}

/// Sends `per_conn` paced requests on each of [`CONNECTIONS`] connections at `rate` in
/// total; returns every latency, sorted.
fn load(port: u16, rate: u64, per_conn: usize, accept: &'static str) -> Vec<Duration> {
    let period = Duration::from_nanos(1_000_000_000 * CONNECTIONS as u64 / rate);
    let threads: Vec<_> = (0..CONNECTIONS)
        .map(|i| {
            std::thread::spawn(move || {
                let mut conn = Conn::open(port);
                let start = Instant::now() + period * i as u32 / CONNECTIONS as u32;
                let mut out = Vec::with_capacity(per_conn);
                for k in 0..per_conn {
                    let due = start + period * k as u32;
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let t = Instant::now();
                    let (status, close) = conn.get(accept).expect("an answer");
                    out.push(t.elapsed());
                    assert_eq!(status, 200);
                    if close {
                        conn = Conn::open(port);
                    }
                }
                out
            })
        })
        .collect();
    let mut all: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort();
    all
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// The sink's drained count; 0 while the sink is not in the metrics yet (the metrics server
/// answers as soon as it listens, before the components start).
fn drained(agent: &HttpAgent) -> u64 {
    agent.json()["SINK.k1"]["EventDrainSuccessCount"]
        .as_str()
        .map_or(0, |v| v.parse().unwrap())
}

#[test]
fn metrics_answer_every_paced_request_on_kept_alive_connections_while_events_flow() {
    let tmp = tempfile::tempdir().unwrap();
    let agent = start_agent(tmp.path(), &seq_file_null(tmp.path()));
    agent.wait_until("events flowing", || drained(&agent) > 0);
    // The null sink keeps up: its takes come from the file channel's event cache.
    agent.wait_until("takes served from the event cache", || {
        let hits = &agent.json()["CHANNEL.c1"]["TailCacheHitCount"];
        hits.as_str().and_then(|v| v.parse::<u64>().ok()) > Some(0)
    });
    let prom = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
    let lat = load(agent.http, 1_000, 75, prom);
    assert_eq!(lat.len(), 300);
    let lat = load(agent.http, 1_000, 75, "application/json");
    assert_eq!(lat.len(), 300);
}

#[test]
#[ignore = "measurement for docs/performance.md; run with --ignored --nocapture on a quiet machine"]
fn metrics_latency_at_1000_requests_per_second_while_the_agent_carries_events() {
    let tmp = tempfile::tempdir().unwrap();
    let agent = start_agent(tmp.path(), &seq_file_null(tmp.path()));
    agent.wait_until("events flowing", || drained(&agent) > 0);
    std::thread::sleep(Duration::from_secs(2));
    for (what, accept) in [
        (
            "prometheus",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        ),
        ("json", "application/json"),
    ] {
        let (e0, t0) = (drained(&agent), Instant::now());
        let lat = load(agent.http, 1_000, 2_500, accept);
        let secs = t0.elapsed().as_secs_f64();
        let events = (drained(&agent) - e0) as f64 / secs;
        println!(
            "{what}: {} requests in {secs:.1} s ({:.0} req/s); latency p50 {:?} p99 {:?} max {:?}; agent carried {events:.0} events/s",
            lat.len(),
            lat.len() as f64 / secs,
            pct(&lat, 0.50),
            pct(&lat, 0.99),
            lat[lat.len() - 1],
        );
    }
}
