//! `serializer = parquet` on the hdfs sink, on the real HDFS of this binary: 100,000 events
//! (UTF-8, empty and 1 MiB bodies) land in Parquet files that pyarrow AND DuckDB read back
//! exactly (rows, column types, values, headers maps; the files downloaded with FsShell;
//! `hdfs.useLocalTimeStamp`, as the sink refuses a `timestamp` header that is not a number),
//! and kill -9 rounds on a file channel leave every acknowledged event in exactly one
//! readable final file and no in-use file (the rows staged locally, each file handed to HDFS
//! whole at roll, docs/parquet.md).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::agent_proc::counter;
use crate::support::hdfs_support::{self, cluster, drained, free_port, HttpAgent};
use crate::support::parquet_support::events::{event, numbered, send, seq_of, Ev};
use crate::support::parquet_support::{kill_rounds, python, read, Read};

/// Longest wait for anything here.
pub const WAIT: Duration = Duration::from_secs(120);

/// Kill -9 rounds in CI (`SLUICE_PARQUET_ROUNDS` sets another count).
const ROUNDS: usize = 4;

/// avro on `port` -> `channel` -> hdfs sink `k1` writing Parquet to `path` (rows staged in
/// `root/pq`), with `extra` sink keys.
pub fn pq_conf(root: &Path, port: u16, path: &str, channel: &str, extra: &str) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = avro\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n{channel}\
         a1.sinks.k1.type = hdfs\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.hdfs.path = {path}\na1.sinks.k1.hdfs.fileType = DataStream\n\
         a1.sinks.k1.hdfs.filePrefix = ev\na1.sinks.k1.hdfs.fileSuffix = .parquet\n\
         a1.sinks.k1.hdfs.rollCount = 0\n\
         a1.sinks.k1.hdfs.callTimeout = 10000\n\
         a1.sinks.k1.serializer = parquet\na1.sinks.k1.serializer.stagingDir = {r}/pq\n{extra}",
        r = root.display()
    )
}

/// A memory channel that holds the 100,000 events.
pub fn memory_channel() -> String {
    "a1.channels.c1.type = memory\na1.channels.c1.capacity = 200000\n\
     a1.channels.c1.transactionCapacity = 2000\n"
        .to_owned()
}

/// A file channel under `root`.
pub fn file_channel(root: &Path) -> String {
    format!(
        "a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {r}/ck\n\
         a1.channels.c1.dataDirs = {r}/data\na1.channels.c1.minimumRequiredSpace = 1048576\n",
        r = root.display()
    )
}

/// Waits until sink `k1` has taken `n` events and channel `c1` is empty.
pub fn wait_drained(a: &HttpAgent, n: u64) {
    let end = Instant::now() + WAIT;
    while drained(a.http, "k1") < n || counter(a.http, "CHANNEL.c1", "ChannelSize") > 0 {
        assert!(
            Instant::now() < end,
            "sink k1 drained {} of {n}; log:\n{}",
            drained(a.http, "k1"),
            a.proc.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn sorted(rows: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = rows.iter().map(Value::to_string).collect();
    v.sort();
    v
}

/// The 100,000 events, sent in calls of 500: what `read.py` must read back.
pub fn send_100000(port: u16) -> Vec<Value> {
    let (events, want): (Vec<Ev>, Vec<Value>) = (0..100_000).map(event).unzip();
    let calls: Vec<Vec<Ev>> = events.chunks(500).map(<[Ev]>::to_vec).collect();
    assert_eq!(send(port, &calls), calls.len());
    want
}

/// `got` holds exactly `want`, with docs/parquet.md's column types.
pub fn assert_exact(got: &Read, want: &[Value]) {
    assert_eq!(got.rows.len(), want.len());
    assert!(
        sorted(&got.rows) == sorted(want),
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
}

/// Every file below `dir` (a local directory).
pub fn files_below(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            } else {
                out.push(e.path().display().to_string());
            }
        }
    }
    out
}

#[test]
fn hdfs_parquet_files_hold_100000_events_exactly_as_pyarrow_and_duckdb_read_them() {
    let Some(py) = python() else { return };
    let Some(c) = cluster() else { return };
    let _turn = hdfs_support::shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let dir = c.test_dir("parquet");
    let (port, http) = (free_port(), free_port());
    let text = pq_conf(
        tmp.path(),
        port,
        &format!("{}{dir}", c.url()),
        &memory_channel(),
        "a1.sinks.k1.hdfs.rollInterval = 0\na1.sinks.k1.hdfs.rollSize = 4000000\n\
         a1.sinks.k1.hdfs.batchSize = 1000\n\
         a1.sinks.k1.hdfs.useLocalTimeStamp = true\n",
    );
    let mut a = HttpAgent::spawn(tmp.path(), "a1", &text, Vec::new(), http, Some(port));
    let want = send_100000(port);
    wait_drained(&a, want.len() as u64);
    assert_eq!(a.proc.terminate(), Some(0), "{}", a.proc.log_text());
    let names = c.ls(&dir);
    assert!(names.iter().all(|f| f.ends_with(".parquet")), "{names:?}");
    let local = tmp.path().join("got");
    c.shell(&["-get", &dir, &local.display().to_string()]);
    let got = read(&py, &local).unwrap_or_else(|e| panic!("a final file unreadable: {e}"));
    assert_exact(&got, &want);
    assert!(got.files >= 2, "files rolled: {}", got.files);
    let open = files_below(&tmp.path().join("pq/open"));
    assert!(open.is_empty(), "rows left staged as open: {open:?}");
}

/// One round: the agent started, calls sent until it is killed 1-3 s later. The events
/// acknowledged, and the next number.
pub fn killed_round(root: &Path, text: &str, port: u16, from: u64) -> (Vec<u64>, u64) {
    let mut agent = HttpAgent::spawn(root, "a1", text, Vec::new(), free_port(), Some(port));
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
        }
        (done, id)
    });
    std::thread::sleep(Duration::from_millis(fastrand::u64(1000..3000)));
    agent.proc.kill9();
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap()
}

/// Every acknowledged event (`acked`) is in exactly one row of `got`.
pub fn assert_each_once(got: &Read, acked: &[u64]) {
    let mut counts = std::collections::BTreeMap::new();
    for r in &got.rows {
        *counts.entry(seq_of(r).unwrap()).or_insert(0u32) += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "events in more than one row: {twice:?}");
    let missing: Vec<_> = acked.iter().filter(|k| !counts.contains_key(k)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged events missing: {missing:?}"
    );
}

/// The starts after the kills (their log appended) finished files left in use, and no
/// committed length was found missing.
pub fn assert_recovered(log: &str) {
    assert!(
        log.contains("recovered an in-use file") || log.contains("output cut back"),
        "no start found a file left in use by a kill; log:\n{log}"
    );
    assert!(
        !log.contains("shorter than it recorded"),
        "a committed length missing; log:\n{log}"
    );
}

#[test]
fn hdfs_parquet_kill_9_rounds_leave_every_acked_event_in_exactly_one_readable_file() {
    let Some(py) = python() else { return };
    let Some(c) = cluster() else { return };
    let _turn = hdfs_support::shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let dir = c.test_dir("parquet-kill");
    let port = free_port();
    let text = pq_conf(
        root,
        port,
        &format!("{}{dir}", c.url()),
        &file_channel(root),
        "a1.sinks.k1.hdfs.rollInterval = 1\na1.sinks.k1.hdfs.rollSize = 0\n\
         a1.sinks.k1.hdfs.batchSize = 100\n",
    );
    let (mut next, mut acked) = (0u64, Vec::new());
    for _ in 0..kill_rounds(ROUNDS) {
        let (done, id) = killed_round(root, &text, port, next);
        acked.extend(done);
        next = id;
    }
    let mut a = HttpAgent::spawn(root, "a1", &text, Vec::new(), free_port(), Some(port));
    assert_eq!(send(port, &[numbered(next)]), 1);
    acked.extend(next..next + 50);
    wait_drained(&a, 50);
    assert_eq!(a.proc.terminate(), Some(0), "{}", a.proc.log_text());
    assert_recovered(&a.proc.log_text());
    let names = c.ls(&dir);
    assert!(
        names.iter().all(|f| f.ends_with(".parquet")),
        "a file left in use: {names:?}"
    );
    let local = root.join("got");
    c.shell(&["-get", &dir, &local.display().to_string()]);
    let got = read(&py, &local).unwrap_or_else(|e| panic!("a final file unreadable: {e}"));
    assert_each_once(&got, &acked);
    assert!(got.files >= 2, "files rolled: {}", got.files);
    let open = files_below(&root.join("pq/open"));
    assert!(open.is_empty(), "rows left staged as open: {open:?}");
}
