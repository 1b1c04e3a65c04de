//! The sink over ClickHouse's `https_port` with the TLS keys of the other HTTP sinks
//! (`ssl`, `truststore`, `truststore-type`): the test CA of `net_support/tls/` trusted, every
//! line stored once; without the truststore the server's certificate is refused, named.

use crate::edge::*;
use crate::support::clickhouse_support::{cluster, shared_turn, unique};
use crate::support::ports::free_port;

const CA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/support/net_support/tls/ca.pem"
);

#[test]
fn over_https_with_the_test_ca_in_the_truststore_every_line_is_stored_once() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let table = unique("tls");
    c.create_replicated(&table, COLUMNS, "");
    let port = free_port();
    let url = format!("https://localhost:{}", c.servers[0].https);
    let conf = edge_conf(
        tmp.path(),
        &url,
        port,
        &table,
        &format!("ssl = true\ntruststore = {CA}\ntruststore-type = PEM\ncompression = gzip"),
    );
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    let want = two_services(0, 3000);
    send(port, &want);
    wait_rows(c.http(), &table, want.len() as u64, &[&agent]);
    assert_exactly_once(c.http(), &table, &want);
}

#[test]
fn over_https_without_the_truststore_the_certificate_is_refused_and_named() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let table = unique("tlsno");
    c.create_replicated(&table, COLUMNS, "");
    let port = free_port();
    let url = format!("https://localhost:{}", c.servers[0].https);
    let conf = edge_conf(tmp.path(), &url, port, &table, "ssl = true");
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    send(port, &two_services(0, 10));
    agent.proc.wait_log("cannot deliver");
    let log = agent.proc.log_text();
    assert!(
        log.contains(&url) && log.to_ascii_lowercase().contains("certificate"),
        "the refusal names the server and its certificate:\n{log}"
    );
}
