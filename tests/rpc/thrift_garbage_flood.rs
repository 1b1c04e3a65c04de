//! A flood of garbage connections costs a thrift source a handful of log lines, not three
//! per connection (issue 47, item 16): 500 connections that each send bytes that are not
//! framed Thrift (an HTTP request, a TLS hello, random bytes) leave at most a few lines about
//! them in the agent's log, the last of them counting the connections closed since the line
//! before, and a good client is still answered `OK`.

use crate::support::agent_proc::counter;
use crate::support::hostile_support::{attack, send_and_wait_close};
use crate::support::thrift_support::*;

use sluice::wire::thrift::Status;

/// Connections opened by the flood.
const CONNECTIONS: usize = 500;
/// Lines the flood may cost: a few named causes, never one per connection.
const LINES_MAX: usize = 12;

fn garbage(i: usize) -> Vec<u8> {
    match i % 3 {
        0 => b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        1 => {
            let mut tls = vec![0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03];
            tls.extend([0u8; 64]);
            tls
        }
        _ => {
            // Random bytes whose frame length is negative: refused at once, not after
            // request-timeout.
            let mut rng = fastrand::Rng::with_seed(i as u64);
            let mut bytes: Vec<u8> = (0..64).map(|_| rng.u8(..)).collect();
            bytes[0] = 0xff;
            bytes
        }
    }
}

#[test]
fn a_flood_of_garbage_connections_costs_a_handful_of_log_lines_and_a_good_client_is_served() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = thrift_collector_conf(tmp.path(), "col", port, "compact", "");
    let http = free_port();
    let monitoring = [
        "-Dflume.monitoring.type=http".to_owned(),
        format!("-Dflume.monitoring.port={http}"),
    ];
    let monitoring: Vec<&str> = monitoring.iter().map(String::as_str).collect();
    let col = Proc::start(tmp.path(), "col", &conf, port, &monitoring);
    assert_eq!(good_call(port, "before"), Ok(Status::Ok));
    let before = col.log_text().lines().count();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    attack(8, CONNECTIONS / 8, move || {
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        send_and_wait_close(port, &garbage(i));
    });
    assert_eq!(
        good_call(port, "after"),
        Ok(Status::Ok),
        "{}",
        col.log_text()
    );
    let want = vec!["before".to_owned(), "after".to_owned()];
    let got = wait_for_all(&[tmp.path().join("col/out")], &want, &[&col]);
    assert_eq!(got, want);
    let log = col.log_text();
    let flood: Vec<&str> = log
        .lines()
        .skip(before)
        .filter(|l| l.contains("peer=127.0.0.1") || l.contains("connection closed"))
        .collect();
    assert!(
        flood.len() <= LINES_MAX,
        "{} lines about {CONNECTIONS} garbage connections:\n{}",
        flood.len(),
        flood
            .iter()
            .take(40)
            .copied()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Each is still counted (at least the HTTP and TLS ones, which are surely not quiet).
    let read_fail = counter(http, "SOURCE.r1", "EventReadFail");
    assert!(
        read_fail >= CONNECTIONS as u64 * 2 / 3,
        "EventReadFail = {read_fail}"
    );
}
