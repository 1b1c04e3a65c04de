//! The `parquet` serializer (zstd) against `TEXT` on file_roll at 1 KiB events
//! (docs/performance.md), `#[ignore]`d: an agent (avro source → memory channel → file_roll)
//! is sent 200,000 log lines of the peers' shape; the time runs from the first call until
//! the sink drained them all and the agent stopped (so the Parquet file, written at stop with
//! `rollInterval = 0`, is in it). Text and parquet alternate over 3 rounds; medians printed.
//! `nice -n -10 cargo test --release --test files parquet_bench -- --ignored --nocapture`

use std::time::{Duration, Instant};

use crate::support::agent_proc::{counter, HttpAgent};
use crate::support::ports::free_port;

const EVENTS: usize = 200_000;
const PER_CALL: usize = 1_000;

/// A log line of about 1 KiB shaped like the peers' (an access log with a JSON tail).
fn line(i: usize) -> Vec<u8> {
    const PATHS: [&str; 6] = [
        "/api/v1/items",
        "/api/v1/users",
        "/login",
        "/static/app.js",
        "/api/v2/search",
        "/health",
    ];
    const AGENTS: [&str; 3] = [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "curl/8.5.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    ];
    let h = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut s = format!(
        "2026-11-29T09:{:02}:{:02}.{:03}Z web-{:02} nginx[{}]: 10.{}.{}.{} - - \"GET {}/{} HTTP/1.1\" {} {} \"-\" \"{}\" rt={}.{:03} trace={:016x} ",
        (i / 60_000) % 60, (i / 1000) % 60, i % 1000, h % 40, 1000 + h % 7, h % 256, (h >> 8) % 256, (h >> 16) % 256,
        PATHS[(h % 6) as usize], h % 100_000, [200, 200, 200, 304, 404, 500][(h >> 24) as usize % 6],
        (h >> 32) % 50_000, AGENTS[(h >> 40) as usize % 3], (h >> 44) % 3, (h >> 48) % 1000, h
    );
    s.push_str(&format!(
        "{{\"user\":\"u{}\",\"session\":\"{:x}\",\"items\":[",
        h % 5000,
        h >> 20
    ));
    let mut k = 0u64;
    while s.len() < 1000 {
        s.push_str(&format!(
            "{{\"id\":{},\"qty\":{}}},",
            (h >> (k % 40)) % 10_000,
            k % 9
        ));
        k += 1;
    }
    s.truncate(1022);
    s.push_str("]}");
    s.into_bytes()
}

fn calls() -> Vec<Vec<crate::support::parquet_support::events::Ev>> {
    (0..EVENTS / PER_CALL)
        .map(|c| {
            (c * PER_CALL..(c + 1) * PER_CALL)
                .map(|i| {
                    (
                        vec![
                            (
                                "timestamp".to_owned(),
                                (1_764_400_000_000u64 + i as u64).to_string(),
                            ),
                            ("host".to_owned(), format!("web-{:02}", i % 40)),
                        ],
                        line(i),
                    )
                })
                .collect()
        })
        .collect()
}

/// One run: events/s and the output's bytes.
fn run(serializer: &str, calls: &[Vec<crate::support::parquet_support::events::Ev>]) -> (f64, u64) {
    let tmp = tempfile::tempdir().unwrap();
    let (root, port, http) = (tmp.path(), free_port(), free_port());
    let text = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = avro\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 400000\n\
         a1.channels.c1.transactionCapacity = 10000\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {r}/out\na1.sinks.k1.sink.rollInterval = 0\n\
         a1.sinks.k1.sink.batchSize = 1000\na1.sinks.k1.sink.serializer = {serializer}\n",
        r = root.display()
    );
    let mut agent = HttpAgent::spawn(
        root,
        "a1",
        &text,
        vec!["--no-reload-conf".into()],
        http,
        Some(port),
    );
    let start = Instant::now();
    assert_eq!(
        crate::support::parquet_support::events::send(port, calls),
        calls.len()
    );
    let end = Instant::now() + Duration::from_secs(300);
    while counter(http, "SINK.k1", "EventDrainSuccessCount") < EVENTS as u64 {
        assert!(Instant::now() < end, "not drained");
        std::thread::sleep(Duration::from_millis(20));
    }
    agent.proc.terminate();
    let secs = start.elapsed().as_secs_f64();
    let bytes = std::fs::read_dir(root.join("out"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_name().to_string_lossy().ends_with(".rows"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    (EVENTS as f64 / secs, bytes)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
#[ignore = "a benchmark: run with --ignored under nice -n -10 (docs/performance.md)"]
fn parquet_bench_against_text_at_1_kib_events() {
    let calls = calls();
    let (mut text, mut pq, mut text_bytes, mut pq_bytes) = (Vec::new(), Vec::new(), 0, 0);
    for round in 0..3 {
        let (t, tb) = run("text", &calls);
        let (p, pb) = run("parquet", &calls);
        println!(
            "round {round}: text {t:.0} events/s {tb} bytes; parquet {p:.0} events/s {pb} bytes"
        );
        (text_bytes, pq_bytes) = (tb, pb);
        text.push(t);
        pq.push(p);
    }
    let (t, p) = (median(text), median(pq));
    println!(
        "medians: text {t:.0} events/s, parquet (zstd) {p:.0} events/s = {:.2} of text; bytes {pq_bytes} / {text_bytes} = {:.3}",
        p / t,
        pq_bytes as f64 / text_bytes as f64
    );
}
