//! file_roll's `parquet` serializer on the real agent, read back by pyarrow AND DuckDB
//! (tests/support/parquet_support): 100,000 events with UTF-8, empty and 1 MiB bodies land
//! as rows whose timestamps, headers maps and bodies are exact, with the column types of
//! docs/parquet.md; lifted columns and a STRING body; and kill -9 rounds on a file channel
//! (5 here, `SLUICE_PARQUET_ROUNDS=20` for the 20) leave every acknowledged event in
//! exactly one readable final file.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::agent_proc::HttpAgent;
use crate::support::parquet_support::events::{event, numbered, send, seq_of, Ev};
use crate::support::parquet_support::{kill_rounds, python, read, row};
use crate::support::ports::free_port;

fn conf(root: &Path, port: u16, channel: &str, extra: &str) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = avro\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n{channel}\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {r}/out\n\
         a1.sinks.k1.sink.serializer = parquet\n{extra}",
        r = root.display()
    )
}

fn memory_channel() -> String {
    "a1.channels.c1.type = memory\na1.channels.c1.capacity = 200000\n\
     a1.channels.c1.transactionCapacity = 2000\n"
        .to_owned()
}

fn start(root: &Path, text: &str, port: u16) -> HttpAgent {
    HttpAgent::spawn(
        root,
        "a1",
        text,
        vec!["--no-reload-conf".into()],
        free_port(),
        Some(port),
    )
}

/// Polls the readers until `done` holds for what they read (or 120 s pass).
fn read_until(
    py: &Path,
    out: &Path,
    agent: &HttpAgent,
    mut done: impl FnMut(&[Value]) -> bool,
) -> crate::support::parquet_support::Read {
    let end = Instant::now() + Duration::from_secs(120);
    loop {
        let got = read(py, out).unwrap_or_else(|e| panic!("a final file unreadable: {e}"));
        if done(&got.rows) {
            return got;
        }
        assert!(
            Instant::now() < end,
            "{} rows after 120 s; log:\n{}",
            got.rows.len(),
            agent.proc.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn sorted(rows: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = rows.iter().map(Value::to_string).collect();
    v.sort();
    v
}

#[test]
fn parquet_files_hold_100000_events_exactly_as_pyarrow_and_duckdb_read_them() {
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (root, port) = (tmp.path(), free_port());
    let text = conf(
        root,
        port,
        &memory_channel(),
        "a1.sinks.k1.sink.rollInterval = 3\na1.sinks.k1.sink.batchSize = 1000\n",
    );
    let mut agent = start(root, &text, port);
    let (events, want): (Vec<Ev>, Vec<Value>) = (0..100_000).map(event).unzip();
    let calls: Vec<Vec<Ev>> = events.chunks(500).map(<[Ev]>::to_vec).collect();
    assert_eq!(send(port, &calls), calls.len());
    let out = root.join("out");
    read_until(&py, &out, &agent, |rows| rows.len() >= want.len());
    agent.proc.terminate();
    let got = read(&py, &out).unwrap();
    assert_eq!(got.rows.len(), want.len());
    assert!(
        sorted(&got.rows) == sorted(&want),
        "rows differ from the events sent"
    );
    assert_eq!(got.pyarrow["timestamp"], "timestamp[ms, tz=UTC]");
    assert!(
        got.pyarrow["headers"].starts_with("map<string, string"),
        "{:?}",
        got.pyarrow
    );
    assert_eq!(got.pyarrow["body"], "binary");
    assert_eq!(got.duckdb["timestamp"], "TIMESTAMP WITH TIME ZONE");
    assert_eq!(got.duckdb["headers"], "MAP(VARCHAR, VARCHAR)");
    assert_eq!(got.duckdb["body"], "BLOB");
    let staged: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(staged.is_empty(), "a file left half written: {staged:?}");
}

#[test]
fn lifted_columns_and_a_string_body_are_columns_of_their_own() {
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (root, port) = (tmp.path(), free_port());
    let extra = "a1.sinks.k1.sink.rollInterval = 0\n\
                 a1.sinks.k1.sink.serializer.columns = host, svc\n\
                 a1.sinks.k1.sink.serializer.bodyAsString = true\n\
                 a1.sinks.k1.sink.serializer.compression = snappy\n";
    let mut agent = start(root, &conf(root, port, &memory_channel(), extra), port);
    let mut want = Vec::new();
    let events: Vec<Ev> = (0..100)
        .map(|i| {
            let mut h = vec![
                ("timestamp".to_owned(), "5".to_owned()),
                ("n".to_owned(), i.to_string()),
            ];
            if i % 2 == 0 {
                h.push(("host".to_owned(), format!("h{i}")));
            }
            let body = format!("line {i} \u{2713}").into_bytes();
            let host = (i % 2 == 0).then(|| format!("h{i}"));
            let n = i.to_string();
            want.push(row(
                Some(5),
                &body,
                &[("timestamp", "5"), ("n", n.as_str())],
                &[("host", host.as_deref()), ("svc", None)],
            ));
            (h, body)
        })
        .collect();
    assert_eq!(send(port, &[events]), 1);
    // rollInterval = 0: the file is written at stop.
    std::thread::sleep(Duration::from_secs(2));
    agent.proc.terminate();
    let got = read(&py, &root.join("out")).unwrap();
    assert_eq!(sorted(&got.rows), sorted(&want));
    assert_eq!(got.pyarrow["body"], "string");
    assert_eq!(got.pyarrow["host"], "string");
    assert_eq!(got.duckdb["svc"], "VARCHAR");
}

/// One round: the agent started, calls sent until it is killed 1-3 s later. The events
/// acknowledged, and the next number.
fn killed_round(root: &Path, text: &str, port: u16, from: u64) -> (Vec<u64>, u64) {
    let mut agent = start(root, text, port);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let sender = std::thread::spawn(move || {
        let (mut done, mut id) = (Vec::new(), from);
        while !flag.load(Ordering::Relaxed) {
            let sent = send(port, &[numbered(id)]);
            id += 50;
            if sent == 0 {
                break;
            }
            done.extend(id - 50..id);
            // Paced (about 10,000 events/s): enough batches and rolls for a kill to land
            // anywhere in them, and few enough rows that pyarrow and DuckDB read them back
            // in seconds (unpaced, a million rows took 22 s a read).
            std::thread::sleep(Duration::from_millis(4));
        }
        (done, id)
    });
    std::thread::sleep(Duration::from_millis(fastrand::u64(1000..3000)));
    agent.proc.kill9();
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap()
}

#[test]
fn every_acknowledged_event_is_in_exactly_one_readable_file_across_kill_9_rounds() {
    killed_rounds_leave_every_event_once("");
}

/// The same with `ROLLTIME` names (the open time, to the second, and a number), whose cut back
/// and baseline order files by that time.
#[test]
fn rolltime_names_keep_every_acknowledged_event_once_across_kill_9_rounds() {
    killed_rounds_leave_every_event_once("a1.sinks.k1.sink.pathManager = ROLLTIME\n");
}

/// Kill -9 rounds of an agent with a file channel and a Parquet file_roll rolled every
/// second (`extra`: more of the sink's keys), then every acknowledged event is read back once.
fn killed_rounds_leave_every_event_once(extra: &str) {
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (root, port) = (tmp.path(), free_port());
    let channel = format!(
        "a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {r}/ck\n\
         a1.channels.c1.dataDirs = {r}/data\na1.channels.c1.minimumRequiredSpace = 1048576\n",
        r = root.display()
    );
    let text = conf(
        root,
        port,
        &channel,
        &format!("a1.sinks.k1.sink.rollInterval = 1\na1.sinks.k1.sink.batchSize = 100\n{extra}"),
    );
    let out = root.join("out");
    let (mut next, mut acked) = (0u64, Vec::new());
    for _ in 0..kill_rounds(5) {
        let (done, id) = killed_round(root, &text, port, next);
        acked.extend(done);
        next = id;
    }
    let mut agent = start(root, &text, port);
    assert_eq!(send(port, &[numbered(next)]), 1);
    acked.extend(next..next + 50);
    let want: std::collections::BTreeSet<u64> = acked.iter().copied().collect();
    read_until(&py, &out, &agent, |rows| {
        let got: std::collections::BTreeSet<u64> = rows.iter().filter_map(seq_of).collect();
        want.is_subset(&got)
    });
    agent.proc.terminate();
    let got = read(&py, &out).unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for r in &got.rows {
        *counts.entry(seq_of(r).unwrap()).or_insert(0u32) += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "events in more than one row: {twice:?}");
    let missing: Vec<_> = want.iter().filter(|k| !counts.contains_key(k)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged events missing: {missing:?}"
    );
    assert!(got.files >= 2, "files rolled: {}", got.files);
}
