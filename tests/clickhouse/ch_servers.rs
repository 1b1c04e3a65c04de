//! The servers misbehave mid-stream: ClickHouse killed and started again, a replica killed
//! (the sink fails over to the other `url`), ZooKeeper stopped for 20 s (the replicated table
//! is read-only meanwhile). Nothing is lost or stored twice, and the errors are named.

use std::time::Duration;

use crate::edge::*;
use crate::support::agent_proc::counter;
use crate::support::clickhouse_support::{cluster, exclusive_turn, health, unique, Restore};
use crate::support::ports::free_port;

#[test]
fn a_clickhouse_restart_mid_stream_loses_and_repeats_nothing() {
    let Some(c) = cluster() else { return };
    let _turn = exclusive_turn();
    let _restore = Restore(c);
    let tmp = tempfile::tempdir().unwrap();
    let table = unique("restart");
    c.create_replicated(&table, COLUMNS, "");
    let port = free_port();
    let url = format!("http://127.0.0.1:{}", c.http());
    let conf = edge_conf(tmp.path(), &url, port, &table, "batchSize = 200");
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    let want = two_services(0, 4000);
    send(port, &want[..2000]);
    c.kill("r1");
    send(port, &want[2000..]);
    std::thread::sleep(Duration::from_secs(3));
    let log = agent.proc.log_text();
    assert!(
        log.contains(&format!("cannot connect to ClickHouse at {url}")),
        "{log}"
    );
    c.start_server("r1");
    c.wait_ready(&c.servers[0]);
    wait_rows(c.http(), &table, want.len() as u64, &[&agent]);
    assert_exactly_once(c.http(), &table, &want);
}

#[test]
fn a_stopped_replica_fails_over_to_the_other_url() {
    let Some(c) = cluster() else { return };
    let _turn = exclusive_turn();
    let _restore = Restore(c);
    let tmp = tempfile::tempdir().unwrap();
    let table = unique("failover");
    c.create_replicated(&table, COLUMNS, "");
    let port = free_port();
    let conf = edge_conf(tmp.path(), &c.url(), port, &table, "batchSize = 200");
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    let want = two_services(0, 4000);
    send(port, &want[..2000]);
    c.kill("r1");
    send(port, &want[2000..]);
    // Everything taken and committed through r2; a take whose INSERT r1 answered (or not)
    // before it died may sit in r1's part, which r2 fetches once r1 is back (r2 drops the
    // identical block sent again as a duplicate: ZooKeeper holds its hash).
    let end = std::time::Instant::now() + DELIVERY_WAIT;
    while counter(agent.http, "SINK.k1", "EventDrainSuccessCount")
        + counter(agent.http, "SINK.k1", "EventAlreadyStoredCount")
        < want.len() as u64
    {
        assert!(
            std::time::Instant::now() < end,
            "not drained through r2:\n{}",
            agent.proc.log_text()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let log = agent.proc.log_text();
    c.start_server("r1");
    c.wait_ready(&c.servers[0]);
    assert!(log.contains("trying the next server of url"), "{log}");
    let r2 = c.servers[1].http;
    wait_rows(r2, &table, want.len() as u64, &[&agent]);
    assert_exactly_once(r2, &table, &want);
}

#[test]
fn with_zookeeper_stopped_for_20_s_nothing_is_lost_and_the_error_is_named() {
    let Some(c) = cluster() else { return };
    let _turn = exclusive_turn();
    let _restore = Restore(c);
    let tmp = tempfile::tempdir().unwrap();
    let table = unique("zkdown");
    c.create_replicated(&table, COLUMNS, "");
    let port = free_port();
    let url = format!("http://127.0.0.1:{}", c.http());
    let conf = edge_conf(tmp.path(), &url, port, &table, "batchSize = 200");
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    let want = two_services(0, 3000);
    send(port, &want[..1000]);
    wait_rows(c.http(), &table, 1000, &[&agent]);
    c.stop_zookeeper();
    send(port, &want[1000..]);
    std::thread::sleep(Duration::from_secs(20));
    let (code, body) = health(agent.http);
    c.start_zookeeper();
    assert_eq!(code, 503, "/health while ZooKeeper is down: {body}");
    assert!(body.contains("SINK.k1") && body.contains(&url), "{body}");
    assert!(body.contains("Code "), "ClickHouse's code is named: {body}");
    wait_rows(c.http(), &table, want.len() as u64, &[&agent]);
    assert_exactly_once(c.http(), &table, &want);
}
