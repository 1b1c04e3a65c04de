//! The nats sink's delivery: 5,000 lines through netcat -> file channel -> nats sink into an
//! R3 stream by a templated subject, read back with nats-py.

use crate::edge::*;
use crate::support::nats_support::{cluster, shared_turn, unique};
use crate::support::ports::free_port;

#[test]
fn five_thousand_lines_arrive_once_in_order_per_subject_with_their_msg_ids() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let s = stream(c, &unique("SINK"), 120.0);
    let port = free_port();
    let conf = edge_conf(tmp.path(), &c.url(), port, &s, "");
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    let want = two_services(0, 5000);
    send(port, &want);
    let got = wait_stored(c, &s, want.len(), &[&agent]);
    assert_exactly_once(&got, &want);
    let log = agent.proc.log_text();
    assert!(log.contains("connected to NATS"), "{log}");
    assert!(agent.counter("SINK.k1", "EventDrainSuccessCount") >= 5000);
}
