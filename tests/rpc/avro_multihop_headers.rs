//! Issue 79: headers come out of a two-tier chain as they went in. An edge (netcat → `static`
//! and `timestamp` interceptors → file channel → avro sink) forwards to a collector (avro
//! source → file channel → file_roll with `sink.serializer = header_and_text`). Both file
//! channels give every event a `sluiceId` (its id across the hop, the collector's dedup key),
//! yet each output line is Flume's `{host=edge-1, timestamp=...} body`: the headers the event
//! had, in Flume's order, without the id. The collector is killed with SIGKILL mid-stream and
//! every acknowledged line is still written once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::multihop::*;
use crate::support::wait::wait_until;

/// Every output line of `dir` as (headers text, body).
fn header_lines(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for line in text.lines() {
            let (headers, body) = line.split_once("} ").unwrap_or(("", line));
            out.push((format!("{headers}}}"), body.to_owned()));
        }
    }
    out
}

fn interceptors() -> &'static str {
    "edge.sources.r1.interceptors = s t\n\
     edge.sources.r1.interceptors.s.type = static\n\
     edge.sources.r1.interceptors.s.key = host\n\
     edge.sources.r1.interceptors.s.value = edge-1\n\
     edge.sources.r1.interceptors.t.type = timestamp\n"
}

#[test]
fn header_and_text_after_two_hops_shows_the_input_headers_and_each_line_once_through_kills() {
    let (kills, _, mut rng) = kill_schedule_of(" of the collector", 3, 8);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (nc, avro) = (free_port(), free_port());
    let col_conf =
        collector_conf(root, "col", avro) + "col.sinks.k1.sink.serializer = header_and_text\n";
    let mut collector = Proc::start(root, "col", &col_conf, avro, &[]);
    let conf = patient(&edge_conf(root, nc, "k1", &avro_sink("k1", avro))) + interceptors();
    let edge = Proc::start(root, "edge", &conf, nc, &[]);
    let done = Arc::new(AtomicBool::new(false));
    let sender = spawn_sender(nc, "h", done.clone());
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(rng.u64(300..1500)));
        collector.kill9();
        std::thread::sleep(Duration::from_millis(rng.u64(0..800)));
        collector.restart();
    }
    std::thread::sleep(Duration::from_millis(500));
    done.store(true, Ordering::SeqCst);
    let (acked, _) = sender.join().unwrap();
    assert!(acked.len() >= 100, "only {} acknowledged", acked.len());
    let out = root.join("col/out");
    let want: BTreeSet<&String> = acked.iter().collect();
    wait_until(
        WAIT,
        || {
            let got: BTreeSet<String> = header_lines(&out).into_iter().map(|(_, b)| b).collect();
            want.iter().all(|l| got.contains(*l))
        },
        || {
            format!(
                "not every acknowledged line arrived:\n{}",
                logs_of([&edge, &collector])
            )
        },
    );
    let got = header_lines(&out);
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (headers, body) in &got {
        *seen.entry(body.as_str()).or_default() += 1;
        let ts = headers
            .strip_prefix("{host=edge-1, timestamp=")
            .and_then(|r| r.strip_suffix('}'));
        assert!(
            ts.is_some_and(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())),
            "line {headers} {body}: not the input's headers in Flume's order"
        );
        assert!(!headers.contains("sluiceId"), "{headers}");
    }
    let twice = seen.values().filter(|&&n| n > 1).count();
    assert_eq!(twice, 0, "{twice} lines written twice");
    eprintln!(
        "{} acknowledged, {} written once each, {kills} kills",
        acked.len(),
        got.len()
    );
}
