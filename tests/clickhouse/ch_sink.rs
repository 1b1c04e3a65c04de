//! Delivery into a ReplicatedMergeTree on two replicas: 100,000 lines, each once, with their
//! bodies, timestamps and header columns; the start refusals, each within 10 s and named.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::edge::*;
use crate::support::agent_proc::counter;
use crate::support::clickhouse_support::{cluster, number, query_ok, shared_turn, unique};
use crate::support::ports::free_port;

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn a_hundred_thousand_lines_land_once_in_a_replicated_table_with_their_columns() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let table = unique("lines");
    c.create_replicated(&table, COLUMNS, "");
    let port = free_port();
    let conf = edge_conf(tmp.path(), &c.url(), port, &table, "compression = gzip");
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    let want = two_services(0, 100_000);
    let from = now_s();
    send(port, &want);
    wait_rows(c.http(), &table, want.len() as u64, &[&agent]);
    let to = now_s();
    assert_exactly_once(c.http(), &table, &want);
    let t = format!("default.{table}");
    let (lo, hi) = (
        number(
            c.http(),
            &format!("SELECT toUInt32(min(timestamp)) FROM {t}"),
        ),
        number(
            c.http(),
            &format!("SELECT toUInt32(max(timestamp)) FROM {t}"),
        ),
    );
    assert!(
        from <= lo && hi <= to,
        "timestamps {lo}..{hi} within the run {from}..{to}"
    );
    // The second replica holds the same rows (read from it, not through the first).
    let other = c.servers[1].http;
    let end = Instant::now() + DELIVERY_WAIT;
    while number(other, &format!("SELECT count() FROM {t}")) < want.len() as u64 {
        assert!(Instant::now() < end, "replica r2 did not catch up");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        counter(agent.http, "SINK.k1", "EventDrainSuccessCount"),
        want.len() as u64
    );
    let m = agent.json();
    assert_eq!(
        m["SINK.k1"]["RowsInsertedCount"].as_str(),
        Some("100000"),
        "{m}"
    );
}

/// An agent whose sink cannot start: the line of its log that names why, within 10 s.
fn refusal(conf_extra: &str, table: &str, url: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = edge_conf(tmp.path(), url, port, table, conf_extra);
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let log = agent.proc.log_text();
        if let Some(l) = log.lines().find(|l| l.contains("cannot deliver")) {
            return l.to_owned();
        }
        assert!(Instant::now() < end, "no refusal within 10 s:\n{log}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_missing_table_is_refused_at_start_by_name() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let line = refusal("", "no_such_table", &c.url());
    assert!(
        line.contains("table default.no_such_table does not exist"),
        "{line}"
    );
}

#[test]
fn a_column_without_a_source_is_refused_at_start_naming_it_and_its_type() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let table = unique("nosrc");
    c.create_plain(
        &table,
        "body String, sluice_id String, code UInt16",
        "sluice_id",
    );
    let line = refusal("columns = body = body, sluice_id = id", &table, &c.url());
    assert!(
        line.contains(&format!(
            "column code UInt16 of default.{table} has no source"
        )),
        "{line}"
    );
}

#[test]
fn a_wrong_password_is_refused_at_start_naming_the_user_and_the_server() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let table = unique("auth");
    c.create_plain(&table, COLUMNS, "sluice_id");
    let url = format!("http://127.0.0.1:{}", c.http());
    let line = refusal("user = writer\npassword = wrong", &table, &url);
    assert!(
        line.contains(&format!("ClickHouse at {url} refused user \"writer\"")),
        "{line}"
    );
    assert!(line.contains("Code 193"), "{line}");
}

#[test]
fn a_server_that_is_not_clickhouse_is_refused_at_start() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    // A plain HTTP server that answers every request 404 (not ClickHouse).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for s in listener.incoming().flatten().take(50) {
            let mut s = s;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot here\n");
        }
    });
    let _ = c;
    let url = format!("http://127.0.0.1:{port}");
    let line = refusal("", "t", &url);
    assert!(
        line.contains(&format!(
            "the server at {url} is not a ClickHouse HTTP interface"
        )),
        "{line}"
    );
}

#[test]
fn a_table_without_sluice_id_is_filled_at_least_once_and_says_so() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let table = unique("noid");
    c.create_plain(&table, "body String, ts UInt64, svc String", "body");
    let port = free_port();
    let conf = edge_conf(
        tmp.path(),
        &c.url(),
        port,
        &table,
        "columns = body = body, ts = timestamp, svc = header:svc",
    );
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    let want = two_services(0, 1000);
    send(port, &want);
    wait_rows(c.http(), &table, 1000, &[&agent]);
    let log = agent.proc.log_text();
    assert!(log.contains("delivery is at least once"), "{log}");
    let ms = number(c.http(), &format!("SELECT min(ts) FROM default.{table}"));
    assert!(ms > 1_600_000_000_000, "ts holds ms: {ms}");
    let _ = query_ok(c.http(), "SELECT 1");
}

#[test]
fn config_check_knows_the_sink_and_names_each_bad_key() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("a.conf");
    std::fs::write(
        &f,
        "a.sources = r1\na.channels = c1\na.sinks = k1\na.sources.r1.type = netcat\n\
         a.sources.r1.bind = 127.0.0.1\na.sources.r1.port = 44444\na.sources.r1.channels = c1\n\
         a.channels.c1.type = memory\na.sinks.k1.type = clickhouse\na.sinks.k1.channel = c1\n\
         a.sinks.k1.url = http://127.0.0.1:8123, ftp://x\na.sinks.k1.tabel = events\n\
         a.sinks.k1.compression = lz4\na.sinks.k1.columns = body = body, ts = stamp\n\
         a.channels.c1.capacity = 100000\na.channels.c1.transactionCapacity = 10000\n",
    )
    .unwrap();
    let out = std::process::Command::new(crate::support::agent_proc::sluice_bin())
        .args(["config", "check", "-n", "a", "-f"])
        .arg(&f)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    for want in [
        ":11: a.sinks.k1.url: \"ftp://x\" is not an http:// or https:// URL",
        ":12: a.sinks.k1.tabel: unknown key; did you mean `table`?",
        ":13: a.sinks.k1.compression: expected gzip or none, got \"lz4\"",
        ":14: a.sinks.k1.columns: ts: source \"stamp\" is none of body, timestamp, id, header:<name>",
    ] {
        assert!(text.contains(want), "{want}\n{text}");
    }
    let good = std::fs::read_to_string(&f)
        .unwrap()
        .replace(", ftp://x", "")
        .replace("tabel", "table")
        .replace("lz4", "gzip")
        .replace("stamp", "timestamp");
    std::fs::write(&f, good).unwrap();
    let out = std::process::Command::new(crate::support::agent_proc::sluice_bin())
        .args(["config", "check", "-n", "a", "-f"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A sink at least once (its `columns` leave `sluice_id` out) on a ReplicatedMergeTree: the
/// same line in five takes of its own is five blocks of the same bytes. ClickHouse's block
/// deduplication would keep the first only; the sink sends such blocks with it off.
#[test]
fn the_same_line_in_takes_of_its_own_is_stored_each_time_when_rows_carry_no_id() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let table = unique("same");
    c.create_replicated(&table, "body String, sluice_id String DEFAULT ''", "");
    let port = free_port();
    let conf = edge_conf(tmp.path(), &c.url(), port, &table, "columns = body = body");
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    let end = Instant::now() + DELIVERY_WAIT;
    for i in 1..=5u64 {
        send(port, &["the same line".to_owned()]);
        while counter(agent.http, "SINK.k1", "EventDrainSuccessCount") < i {
            assert!(Instant::now() < end, "take {i} not drained");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert_eq!(wait_rows(c.http(), &table, 5, &[&agent]), 5);
    let t = format!("default.{table}");
    assert_eq!(
        query_ok(c.http(), &format!("SELECT count(), any(body) FROM {t}")).trim(),
        "5\tthe same line"
    );
}
