//! TAILDIR catching up after an outage (issue 81), on real agents: an edge (TAILDIR with
//! `catchUpBytes = 4096` -> a file channel of 100 events -> avro to a collector that is down)
//! while `app.log` is rotated three times, so three rotated files wait behind the live
//! `app.log`. Once the collector is up, the live file's lines arrive before the backlog is
//! drained (it gets a batch after every backlog batch), while the backlog itself still
//! arrives oldest first and every line once.

use std::path::PathBuf;

use crate::support::agent_proc::{counter, Proc};
use crate::support::lines_support::{duplicates, wait_for_all, written};
use crate::support::multihop::collector_conf;
use crate::support::ports::free_port;
use crate::support::rotating_log::RotatingLog;
use crate::support::status_support::start_agent;
use crate::taildir_outage::{edge_conf, line, spool_links, write_lines};

/// Lines written to each generation of `app.log`.
const LINES_PER_FILE: usize = 300;
/// Rotations by rename while the collector is down (the backlog: three rotated files).
const ROTATIONS: usize = 3;

fn position(got: &[String], want: &str) -> usize {
    got.iter()
        .position(|l| l == want)
        .unwrap_or_else(|| panic!("{want} not delivered"))
}

#[test]
fn after_an_outage_lines_of_the_live_file_arrive_before_the_backlog_is_drained() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("logs")).unwrap();
    let mut log = RotatingLog::open(&r.join("logs"));
    let mut want = write_lines(&mut log, 0, LINES_PER_FILE);
    let port = free_port();
    let conf = edge_conf(r, port, "a1.sources.r1.catchUpBytes = 4096\n");
    let mut edge = start_agent(r, &conf);
    edge.wait_until("the channel to refuse a batch", || {
        counter(edge.http, "SOURCE.r1", "ChannelWriteFail") > 0
    });
    for k in 1..=ROTATIONS {
        log.rotate();
        want.extend(write_lines(&mut log, k * LINES_PER_FILE, LINES_PER_FILE));
        edge.wait_until("the new app.log to be spooled", || spool_links(r) > k);
    }
    let mut col = Proc::start(r, "col", &collector_conf(r, "col", port), port, &[]);
    let out: PathBuf = r.join("col/out");
    let got = wait_for_all(
        std::slice::from_ref(&out),
        &want,
        crate::support::multihop::WAIT,
        || format!("edge:\n{}\ncollector:\n{}", edge.log_text(), col.log_text()),
    );
    assert_eq!(duplicates(&got), 0, "lines delivered twice");
    let got = written(&out);
    let live_first = position(&got, &line(ROTATIONS * LINES_PER_FILE));
    let backlog_last = position(&got, &line(ROTATIONS * LINES_PER_FILE - 1));
    assert!(
        live_first < backlog_last,
        "the live app.log's first line arrived at {live_first}, after the whole backlog (its last line at {backlog_last})"
    );
    let backlog: Vec<&String> = got
        .iter()
        .filter(|l| **l < line(ROTATIONS * LINES_PER_FILE))
        .collect();
    assert!(
        backlog.is_sorted(),
        "the backlog arrived out of order: oldest file not first"
    );
    col.stop();
    edge.stop();
}
