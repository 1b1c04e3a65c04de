//! The `parquet` serializer (zstd) against `TEXT` on file_roll at 1 KiB events
//! (docs/performance.md), `#[ignore]`d: an agent (avro source → memory channel → file_roll)
//! is sent 200,000 log lines of the peers' shape; the time runs from the first call until
//! the sink drained them all and the agent stopped (so the Parquet file, written at stop with
//! `rollInterval = 0`, is in it). Text and parquet alternate over 3 rounds; medians printed.
//! `nice -n -10 cargo test --release --test files parquet_bench -- --ignored --nocapture`;
//! `SLUICE_BENCH_CHANNEL=file`: a file channel (its fsync per take) instead of the memory one.

use crate::support::agent_proc::children_cpu_s;
use crate::support::parquet_support::bench::{median, send_until_drained};
use crate::support::parquet_support::events::{log_calls, Ev};
use crate::support::ports::free_port;

const EVENTS: usize = 200_000;
const PER_CALL: usize = 1_000;

/// One run: events/s, the agent's CPU µs per event and the output's bytes.
fn run(serializer: &str, calls: &[Vec<Ev>]) -> (f64, f64, u64) {
    let tmp = tempfile::tempdir().unwrap();
    let (root, port, http) = (tmp.path(), free_port(), free_port());
    let channel = match std::env::var("SLUICE_BENCH_CHANNEL").as_deref() {
        Ok("file") => format!(
            "a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {r}/cp\n\
             a1.channels.c1.dataDirs = {r}/data\n",
            r = root.display()
        ),
        _ => "a1.channels.c1.type = memory\n".to_owned(),
    };
    let text = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = avro\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n\
         {channel}a1.channels.c1.capacity = 400000\n\
         a1.channels.c1.transactionCapacity = 10000\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {r}/out\na1.sinks.k1.sink.rollInterval = 0\n\
         a1.sinks.k1.sink.batchSize = 1000\na1.sinks.k1.sink.serializer = {serializer}\n",
        r = root.display()
    );
    let cpu0 = children_cpu_s();
    let (mut agent, start) = send_until_drained(root, &text, (port, http), calls, EVENTS);
    agent.proc.terminate();
    let secs = start.elapsed().as_secs_f64();
    let cpu_us = (children_cpu_s() - cpu0) * 1e6 / EVENTS as f64;
    let bytes = std::fs::read_dir(root.join("out"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_name().to_string_lossy().ends_with(".rows"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    (EVENTS as f64 / secs, cpu_us, bytes)
}

#[test]
#[ignore = "a benchmark: run with --ignored under nice -n -10 (docs/performance.md)"]
fn parquet_bench_against_text_at_1_kib_events() {
    let calls = log_calls(EVENTS, PER_CALL);
    let (mut text, mut pq, mut text_cpu, mut pq_cpu) = (vec![], vec![], vec![], vec![]);
    let (mut text_bytes, mut pq_bytes) = (0, 0);
    for round in 0..3 {
        let (t, tc, tb) = run("text", &calls);
        let (p, pc, pb) = run("parquet", &calls);
        println!(
            "round {round}: text {t:.0} events/s {tc:.2} µs/event {tb} bytes; \
             parquet {p:.0} events/s {pc:.2} µs/event {pb} bytes"
        );
        (text_bytes, pq_bytes) = (tb, pb);
        text.push(t);
        pq.push(p);
        text_cpu.push(tc);
        pq_cpu.push(pc);
    }
    let (t, p) = (median(text), median(pq));
    let (tc, pc) = (median(text_cpu), median(pq_cpu));
    println!(
        "medians: text {t:.0} events/s at {tc:.2} µs/event, parquet (zstd) {p:.0} events/s at \
         {pc:.2} µs/event = {:.2} of text; bytes {pq_bytes} / {text_bytes} = {:.3}",
        p / t,
        pq_bytes as f64 / text_bytes as f64
    );
}
