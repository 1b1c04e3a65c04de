//! `serializer = parquet` (zstd) against `TEXT` on the hdfs sink on S3 (SeaweedFS) at 1 KiB
//! events (docs/performance.md, "Parquet output"), `#[ignore]`d: an agent (avro source →
//! memory channel → `hdfs.path = s3a://`, a roll every 32 MiB of the sink's bytes, the
//! last file closed 1 s idle) is sent 200,000 log lines of the peers' shape. Events/s: from
//! the first call until the sink drained them all (each Parquet file but the last written at
//! its roll, inside that time; uploads run in the background for both); CPU per event: the
//! agent's user + system CPU once every file is uploaded. Text and parquet alternate over 3
//! rounds; medians printed.
//! `nice -n -10 cargo test --release --test hdfs s3_parquet_bench -- --ignored --nocapture`

use std::time::{Duration, Instant};

use crate::support::parquet_support::bench::{median, send_until_drained};
use crate::support::parquet_support::events::{log_calls, Ev};
use crate::support::ports::free_port;
use crate::support::s3_support::{self, server, Weed, SECRET_KEY};

use super::s3_sink::staged_files;

const EVENTS: usize = 200_000;
const PER_CALL: usize = 1_000;

/// User + system CPU seconds of process `pid`.
fn cpu_secs(pid: u32) -> f64 {
    // SAFETY: sysconf reads a constant of the system.
    let ticks = (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as f64;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = after.split_whitespace().collect();
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / ticks
}

/// One run: events/s and µs of the agent's CPU per event.
fn run(w: &Weed, serializer: &str, round: usize, calls: &[Vec<Ev>]) -> (f64, f64) {
    let tmp = tempfile::tempdir().unwrap();
    let (root, port, http) = (tmp.path(), free_port(), free_port());
    let bucket = w.bucket(&format!("bench{round}{}", serializer.to_lowercase()));
    let conf_dir = w.core_site(root, SECRET_KEY);
    let text = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = avro\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 400000\n\
         a1.channels.c1.transactionCapacity = 10000\n\
         a1.sinks.k1.type = hdfs\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.hdfs.path = s3a://{bucket}/b\na1.sinks.k1.hdfs.fileType = DataStream\n\
         a1.sinks.k1.hdfs.hdfsConfigDir = {c}\na1.sinks.k1.hdfs.s3StagingDir = {r}/staging\n\
         a1.sinks.k1.hdfs.rollInterval = 0\na1.sinks.k1.hdfs.rollSize = 33554432\n\
         a1.sinks.k1.hdfs.rollCount = 0\na1.sinks.k1.hdfs.batchSize = 1000\n\
         a1.sinks.k1.hdfs.idleTimeout = 1\n\
         a1.sinks.k1.hdfs.useLocalTimeStamp = true\na1.sinks.k1.serializer = {serializer}\n\
         a1.sinks.k1.serializer.stagingDir = {r}/pq\n",
        r = root.display(),
        c = conf_dir.display()
    );
    let (mut agent, start) = send_until_drained(root, &text, (port, http), calls, EVENTS);
    let secs = start.elapsed().as_secs_f64();
    let end = Instant::now() + Duration::from_secs(300);
    while !staged_files(&root.join("staging")).is_empty()
        || !staged_files(&root.join("pq/open")).is_empty()
    {
        assert!(Instant::now() < end, "not uploaded");
        std::thread::sleep(Duration::from_millis(20));
    }
    let cpu = cpu_secs(agent.proc.pid());
    assert_eq!(agent.proc.terminate(), Some(0), "{}", agent.proc.log_text());
    assert!(w.ls(&bucket, "b/").len() >= 2, "no rolled objects");
    (EVENTS as f64 / secs, cpu * 1e6 / EVENTS as f64)
}

#[test]
#[ignore = "a benchmark: run with --ignored under nice -n -10 (docs/performance.md)"]
fn s3_parquet_bench_against_text_at_1_kib_events() {
    let Some(w) = server() else { return };
    let _turn = s3_support::exclusive_turn();
    let calls = log_calls(EVENTS, PER_CALL);
    let (mut text, mut pq, mut text_cpu, mut pq_cpu) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..3 {
        let (t, tc) = run(w, "TEXT", round, &calls);
        let (p, pc) = run(w, "parquet", round, &calls);
        println!("round {round}: text {t:.0} events/s {tc:.2} µs CPU/event; parquet {p:.0} events/s {pc:.2} µs CPU/event");
        text.push(t);
        pq.push(p);
        text_cpu.push(tc);
        pq_cpu.push(pc);
    }
    let (t, p, tc, pc) = (median(text), median(pq), median(text_cpu), median(pq_cpu));
    println!(
        "medians: text {t:.0} events/s {tc:.2} µs/event, parquet (zstd) {p:.0} events/s {pc:.2} µs/event = {:.2} of text's events/s at {:.2}x its CPU per event",
        p / t,
        pc / tc
    );
}
