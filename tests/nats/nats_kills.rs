//! kill -9 of the sink's agent mid-stream (rounds, and one restart 12 s after the kill with
//! a 5 s duplicate window), kill -9 of the stream's leader mid-stream, and all three servers
//! down for 20 s: every acknowledged line stored, none twice.

use std::time::Duration;

use crate::edge::*;
use crate::support::agent_proc::counter;
use crate::support::nats_support::{cluster, exclusive_turn, health, shared_turn, unique};
use crate::support::ports::free_port;

/// Lines per chunk the tests send between events.
const CHUNK: usize = 100;

#[test]
fn killing_the_agent_mid_stream_in_rounds_stores_every_line_once() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let s = stream(c, &unique("KILL"), 120.0);
    let port = free_port();
    let conf = edge_conf(tmp.path(), &c.url(), port, &s, "");
    let mut agent = start_edge(tmp.path(), &conf, port, &[]);
    let want = two_services(0, 3000);
    for (i, chunk) in want.chunks(CHUNK).enumerate() {
        send(port, chunk);
        if i % 8 == 7 {
            agent.proc.kill9();
            std::thread::sleep(Duration::from_secs(1));
            agent.restart_on(Some(port));
        }
    }
    let got = wait_stored(c, &s, want.len(), &[&agent]);
    assert_exactly_once(&got, &want);
}

#[test]
fn a_restart_long_after_the_duplicate_window_stores_nothing_twice() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let s = stream(c, &unique("WINDOW"), 5.0);
    let port = free_port();
    let conf = edge_conf(tmp.path(), &c.url(), port, &s, "");
    // The third batch is stored by the server and held before its take commits: the kill
    // leaves it in the channel, to be taken again after the window has forgotten its ids.
    let mut agent = start_edge(
        tmp.path(),
        &conf,
        port,
        &[("SLUICE_FAILPOINT", "nats-sink-stored:3")],
    );
    let want = two_services(0, 1000);
    send(port, &want);
    agent.proc.wait_log("failpoint nats-sink-stored held");
    agent.proc.kill9();
    std::thread::sleep(Duration::from_secs(12));
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    let got = wait_stored(c, &s, want.len(), &[&agent]);
    assert_exactly_once(&got, &want);
    let log = agent.proc.log_text();
    assert!(
        log.contains("dropped events the stream already holds"),
        "{log}"
    );
    // The resent batch is counted as already stored, not as drained (issue 87).
    let end = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let stored = counter(agent.http, "SINK.k1", "EventAlreadyStoredCount");
        let drained = counter(agent.http, "SINK.k1", "EventDrainSuccessCount");
        let taken = counter(agent.http, "SINK.k1", "EventDrainAttemptCount");
        if stored > 0 {
            assert!(
                stored + drained <= taken,
                "stored {stored} drained {drained} of {taken}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < end,
            "already stored {stored}, drained {drained}, taken {taken}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn killing_the_streams_leader_mid_stream_loses_and_repeats_nothing() {
    let Some(c) = cluster() else { return };
    let _turn = exclusive_turn();
    let tmp = tempfile::tempdir().unwrap();
    let s = stream(c, &unique("LEADER"), 120.0);
    let port = free_port();
    let conf = edge_conf(tmp.path(), &c.url(), port, &s, "");
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    let want = two_services(0, 3000);
    let mut killed = None;
    for (i, chunk) in want.chunks(CHUNK).enumerate() {
        send(port, chunk);
        if i == 10 {
            let leader = c.leader(&s);
            c.kill(&leader);
            killed = Some(leader);
        }
    }
    let got = wait_stored(c, &s, want.len(), &[&agent]);
    let killed = killed.unwrap();
    assert_ne!(c.leader(&s), killed, "a new leader took over");
    c.start_all();
    assert_exactly_once(&got, &want);
}

#[test]
fn with_every_server_down_the_channel_holds_the_backlog_until_they_return() {
    let Some(c) = cluster() else { return };
    let _turn = exclusive_turn();
    let tmp = tempfile::tempdir().unwrap();
    let s = stream(c, &unique("DOWN"), 120.0);
    let port = free_port();
    let conf = edge_conf(tmp.path(), &c.url(), port, &s, "request-timeout = 3000");
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    let want = two_services(0, 2000);
    send(port, &want[..500]);
    c.kill_all();
    send(port, &want[500..]);
    std::thread::sleep(Duration::from_secs(20));
    let (code, body) = health(agent.http);
    let log = agent.proc.log_text();
    c.start_all();
    assert_eq!(code, 503, "/health while every server is down: {body}");
    assert!(body.contains("SINK.k1"), "{body}");
    let first = c.url().split(',').next().unwrap().to_owned();
    assert!(log.contains(&first), "the errors name the servers:\n{log}");
    let got = wait_stored(c, &s, want.len(), &[&agent]);
    assert_exactly_once(&got, &want);
}
