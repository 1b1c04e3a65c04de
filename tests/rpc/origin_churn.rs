//! Origin churn (issue 80, item 5), on the real binary: a real upstream commits 500 events of
//! its event-id origin; a client from the same address then names more fresh origins than
//! the collector's dedup table holds, over several connections (a reconnect used to bring a
//! fresh share of origins, and a full table forgot its stalest origin for each new one, so the
//! upstream's resend after a crash was committed twice). The upstream resends its 500: each is
//! written once, the churner's ids past its address's share were removed and counted, and the
//! table turned new origins away rather than forget the upstream's.
//!
//! And the same after a collector restart (issue 87, item 16): the sources' quotas live in
//! memory while the channel's table is durable, so a churner that filled its address's share
//! first made the upstream's resend lose its ids; an origin the channel holds now keeps them.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use crate::support::agent_proc::{counter, HttpAgent};
use crate::support::avro_plain::{frame, read_frame, request};
use crate::support::lines_support::wait_for_all;
use crate::support::ports::free_port;

/// The collector's `dedupOrigins`: smaller than what one address may bring.
const TABLE: u64 = 2_000;
/// Origins one address may bring (src/agent/source/peer_origins.rs).
const ADDRESS_SHARE: u64 = 4_096;
/// The churner's connections, and the fresh origins it names on each (one event each).
const CHURN_CONNECTIONS: u64 = 3;
const CHURN_PER_CONNECTION: u64 = 2_000;
/// The real upstream's origin and its events.
const UPSTREAM: u64 = 0x5eed_0000_0000_0001;
const UPSTREAM_EVENTS: u64 = 500;

fn collector_conf(root: &Path, avro: u16) -> String {
    collector_conf_table(
        root,
        avro,
        &format!("col.channels.c1.dedupOrigins = {TABLE}\n"),
    )
}

/// The collector's configuration, `table` its dedup table's line (or none: the default).
fn collector_conf_table(root: &Path, avro: u16, table: &str) -> String {
    format!(
        "col.sources = r1\ncol.channels = c1\ncol.sinks = k1\n\
         col.sources.r1.type = avro\ncol.sources.r1.bind = 127.0.0.1\n\
         col.sources.r1.port = {avro}\ncol.sources.r1.channels = c1\n\
         col.channels.c1.type = file\ncol.channels.c1.checkpointDir = {r}/ck\n\
         col.channels.c1.dataDirs = {r}/data\n{table}\
         col.channels.c1.minimumRequiredSpace = 1048576\n\
         col.sinks.k1.type = file_roll\ncol.sinks.k1.channel = c1\n\
         col.sinks.k1.sink.directory = {r}/out\ncol.sinks.k1.sink.rollInterval = 0\n",
        r = root.display()
    )
}

/// One connection's calls, each an `appendBatch` of `(id, body)` (no id when empty),
/// each answered before the next is sent.
fn send_calls(port: u16, calls: &[Vec<(String, String)>]) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    for (serial, call) in calls.iter().enumerate() {
        let events: Vec<(&str, &str, &[u8])> = call
            .iter()
            .map(|(id, body)| ("sluiceId", id.as_str(), body.as_bytes()))
            .collect();
        let payload = request(serial == 0, "appendBatch", &events);
        s.write_all(&frame(serial as i32, &payload)).unwrap();
        read_frame(&mut s).unwrap();
    }
}

/// The upstream's events, in calls of 100.
fn upstream_calls() -> Vec<Vec<(String, String)>> {
    let events: Vec<(String, String)> = (1..=UPSTREAM_EVENTS)
        .map(|n| (format!("{UPSTREAM:016x}:{n}"), format!("upstream {n}")))
        .collect();
    events.chunks(100).map(<[_]>::to_vec).collect()
}

/// Connection `c` of the churner: a fresh origin per event, in calls of 500.
fn churn_calls(c: u64) -> Vec<Vec<(String, String)>> {
    let first = 0x0c00_0000_0000_0000 + c * CHURN_PER_CONNECTION;
    let events: Vec<(String, String)> = (first..first + CHURN_PER_CONNECTION)
        .map(|o| (format!("{o:016x}:1"), format!("churn {o:x}")))
        .collect();
    events.chunks(500).map(<[_]>::to_vec).collect()
}

fn bodies(calls: &[Vec<(String, String)>]) -> Vec<String> {
    calls.iter().flatten().map(|(_, b)| b.clone()).collect()
}

#[test]
fn a_client_churning_origins_cannot_make_a_real_upstreams_resend_commit_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (avro, mon) = (free_port(), free_port());
    std::fs::create_dir_all(root.join("out")).unwrap();
    let col = HttpAgent::spawn(
        root,
        "col",
        &collector_conf(root, avro),
        vec!["--no-reload-conf".into()],
        mon,
        Some(avro),
    );
    let upstream = upstream_calls();
    send_calls(avro, &upstream);
    let mut want = bodies(&upstream);
    for c in 0..CHURN_CONNECTIONS {
        let calls = churn_calls(c);
        send_calls(avro, &calls);
        want.extend(bodies(&calls));
    }
    // The upstream comes back after a crash and sends its 500 again, then one more event
    // (no id): once it is written, everything committed before it is too.
    let mut resend = upstream_calls();
    resend.push(vec![(String::new(), "marker".into())]);
    send_calls(avro, &resend);
    want.push("marker".into());
    let out = root.join("out");
    let got = wait_for_all(&[out], &want, Duration::from_secs(60), || {
        col.proc.log_text()
    });
    check_outcome(&got, mon);
}

/// Every upstream event written once, every churned event written, the churner's ids past
/// its address's share removed and counted, and the table turned origins away.
fn check_outcome(got: &[String], mon: u16) {
    let upstream_written = got.iter().filter(|l| l.starts_with("upstream ")).count();
    assert_eq!(
        upstream_written, UPSTREAM_EVENTS as usize,
        "the upstream's resend was committed again"
    );
    let churned = CHURN_CONNECTIONS * CHURN_PER_CONNECTION;
    assert_eq!(
        got.len() as u64,
        UPSTREAM_EVENTS + churned + 1,
        "every event written once"
    );
    assert_eq!(
        counter(mon, "CHANNEL.c1", "EventDuplicateCount"),
        UPSTREAM_EVENTS
    );
    // The upstream's origin took one place of 127.0.0.1's share.
    assert_eq!(
        counter(mon, "SOURCE.r1", "EventIdStrippedCount"),
        churned - (ADDRESS_SHARE - 1)
    );
    assert!(counter(mon, "CHANNEL.c1", "DedupOriginTurnedAwayCount") > 0);
    let held = counter(mon, "CHANNEL.c1", "DedupOriginCount");
    assert!(held <= TABLE + 1, "{held} origins in the table");
}

#[test]
fn after_a_collector_restart_a_client_filling_its_address_share_cannot_strip_a_real_upstreams_resend(
) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (avro, mon) = (free_port(), free_port());
    std::fs::create_dir_all(root.join("out")).unwrap();
    let mut col = HttpAgent::spawn(
        root,
        "col",
        &collector_conf_table(root, avro, ""),
        vec!["--no-reload-conf".into()],
        mon,
        Some(avro),
    );
    let upstream = upstream_calls();
    send_calls(avro, &upstream);
    let out = root.join("out");
    let mut want = bodies(&upstream);
    wait_for_all(
        std::slice::from_ref(&out),
        &want,
        Duration::from_secs(60),
        || col.proc.log_text(),
    );
    // The collector restarts: its table keeps the upstream's origin, its quotas start empty.
    col.proc.stop();
    col.proc.restart();
    // Before the upstream is back, a client from its address names a full share of fresh
    // origins and more.
    for c in 0..3 {
        let calls = churn_calls(c);
        send_calls(avro, &calls);
        want.extend(bodies(&calls));
    }
    let mut resend = upstream_calls();
    resend.push(vec![(String::new(), "marker".into())]);
    send_calls(avro, &resend);
    want.push("marker".into());
    let got = wait_for_all(&[out], &want, Duration::from_secs(60), || {
        col.proc.log_text()
    });
    let upstream_written = got.iter().filter(|l| l.starts_with("upstream ")).count();
    assert_eq!(
        upstream_written, UPSTREAM_EVENTS as usize,
        "the upstream's resend lost its ids and was committed again"
    );
    assert_eq!(
        counter(mon, "CHANNEL.c1", "EventDuplicateCount"),
        UPSTREAM_EVENTS
    );
    assert_eq!(
        counter(mon, "SOURCE.r1", "EventIdStrippedCount"),
        CHURN_CONNECTIONS * CHURN_PER_CONNECTION - ADDRESS_SHARE,
        "the churner still gets only its address's share"
    );
}
