//! A copied channel (issue 87, item 1), on real agents: an edge's file channel copied whole to
//! a second edge (what a restored backup, a VM image or a volume snapshot does) kept the
//! original's event-id origin and next id, so both edges gave different new events the same
//! ids and the collector dropped one side's as duplicates: half the lines acknowledged after
//! the copy never arrived, and only an INFO line said anything. The copy now takes a new
//! origin for its new events (a WARN naming both), resends its copied queue under the old
//! ids (dropped once at the collector: the same events), and every line arrives once. A
//! collector that drops a duplicate whose body differs counts it and says so at WARN.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use crate::support::agent_proc::{counter, HttpAgent};
use crate::support::avro_plain::{frame, read_frame, request};
use crate::support::multihop::*;

/// The copied edge's WARN (`channel/dedup.rs`).
const NEW_ORIGIN: &str = "numbered under a new event-id origin";
/// The collector's WARN about a conflict (`channel/dedup/notes.rs`).
const CONFLICT: &str = "committed for a different event";

/// Sends `lines` to the netcat source on `port`, all acknowledged.
fn send_all(port: u16, lines: &[String]) {
    let mut c = Client::connect(port).unwrap();
    for chunk in lines.chunks(100) {
        assert_eq!(c.send(chunk), chunk.len(), "acknowledged");
    }
}

fn copy_tree(from: &Path, to: &Path) {
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(st.success(), "cp -a {} {}", from.display(), to.display());
}

#[test]
fn a_channel_copied_to_a_second_edge_and_its_original_deliver_every_line_after_the_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (nc1, nc2, avro, http) = (free_port(), free_port(), free_port(), free_port());
    let mon = HttpAgent::monitoring_args(http);
    let col_conf = collector_conf(root, "col", avro);
    let mut col = Proc::start(root, "col", &col_conf, avro, &[&mon[0], &mon[1]]);
    let out = root.join("col/out");
    let (e1, e2) = (root.join("e1"), root.join("e2"));
    std::fs::create_dir_all(&e1).unwrap();
    std::fs::create_dir_all(&e2).unwrap();
    let conf1 = patient(&edge_conf(&e1, nc1, "k1", &avro_sink("k1", avro)));
    let mut edge1 = Proc::start(&e1, "edge", &conf1, nc1, &[]);
    let mut want = lines("before", 0..200);
    send_all(nc1, &want);
    wait_for_all(std::slice::from_ref(&out), &want, &[&col, &edge1]);
    // The collector goes away; the edge queues what it acknowledges meanwhile, then stops,
    // and its channel is copied whole to a second edge.
    col.stop();
    let queued = lines("queued", 0..100);
    send_all(nc1, &queued);
    want.extend(queued);
    edge1.stop();
    copy_tree(&e1.join("edge"), &e2.join("edge"));
    let conf2 = patient(&edge_conf(&e2, nc2, "k1", &avro_sink("k1", avro)));
    col.restart();
    edge1.restart();
    let edge2 = Proc::start(&e2, "edge", &conf2, nc2, &[]);
    // Both edges take new lines: 2,000 each, in turns.
    let (a, b) = (lines("a", 0..2_000), lines("b", 0..2_000));
    for (ca, cb) in a.chunks(500).zip(b.chunks(500)) {
        send_all(nc1, ca);
        send_all(nc2, cb);
    }
    want.extend(a);
    want.extend(b);
    let got = wait_for_all(&[out], &want, &[&col, &edge1, &edge2]);
    assert_eq!(duplicates(&got), 0, "every line once");
    assert_eq!(got.len(), want.len());
    assert!(
        edge2.log_text().contains(NEW_ORIGIN),
        "the copy says it took a new origin:\n{}",
        edge2.log_text()
    );
    assert!(
        !edge1.log_text().contains(NEW_ORIGIN),
        "the original restarted in place keeps its origin"
    );
    // The copied queue came twice and was dropped once; the same events, so no conflict.
    assert!(counter(http, "CHANNEL.c1", "EventDuplicateCount") >= 100);
    assert_eq!(
        counter(http, "CHANNEL.c1", "EventDuplicateConflictCount"),
        0
    );
}

/// One `appendBatch` of `(id, body)` on a fresh connection, answered.
fn append(port: u16, events: &[(String, String)]) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let events: Vec<(&str, &str, &[u8])> = events
        .iter()
        .map(|(id, body)| ("sluiceId", id.as_str(), body.as_bytes()))
        .collect();
    s.write_all(&frame(0, &request(true, "appendBatch", &events)))
        .unwrap();
    read_frame(&mut s).unwrap();
}

#[test]
fn a_collector_counts_and_warns_about_a_duplicate_whose_body_differs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (avro, http) = (free_port(), free_port());
    let mon = HttpAgent::monitoring_args(http);
    let col = Proc::start(
        root,
        "col",
        &collector_conf(root, "col", avro),
        avro,
        &[&mon[0], &mon[1]],
    );
    let origin = 0x00c0_ffee_0000_0001u64;
    let id = |n: u64| format!("{origin:016x}:{n}");
    let first: Vec<(String, String)> = (1..=10).map(|n| (id(n), format!("first {n}"))).collect();
    append(avro, &first);
    // A true resend (the same bodies), then two other events under ids 3 and 4.
    append(avro, &first);
    append(
        avro,
        &[
            (id(3), "another 3".to_string()),
            (id(4), "another 4".to_string()),
        ],
    );
    let want: Vec<String> = first.iter().map(|(_, b)| b.clone()).collect();
    let got = wait_for_all(&[root.join("col/out")], &want, &[&col]);
    assert_eq!(got.len(), 10, "the later events were dropped: {got:?}");
    assert_eq!(counter(http, "CHANNEL.c1", "EventDuplicateCount"), 12);
    assert_eq!(
        counter(http, "CHANNEL.c1", "EventDuplicateConflictCount"),
        2
    );
    let log = col.log_text();
    let line = log
        .lines()
        .find(|l| l.contains(CONFLICT))
        .unwrap_or_else(|| panic!("no conflict warning:\n{log}"));
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains(&format!("{origin:016x}")), "{line}");
    assert!(
        line.contains("peer=127.0.0.1:"),
        "the peer that sent it named: {line}"
    );
}
