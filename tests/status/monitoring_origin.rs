//! The monitoring server answers only requests meant for it (issue 47, item 15; issue 64,
//! item 9 for reads): a `Host` that is not the server's own (DNS rebinding) is refused on
//! every path, a state-changing request (`POST /reload`) with a foreign `Origin` (a
//! cross-site form or fetch) is refused, and requests without `Origin` (curl, Prometheus,
//! `sluice top`) keep working. A loopback peer that reaches a dual-stack listener as
//! `::ffff:127.0.0.1` counts as loopback.

use crate::support::status_support::{seq_memory_null, start_agent_with, status_of};

const EVENTS: u64 = 100_000_000_000;

#[test]
fn a_foreign_host_or_a_cross_site_origin_is_refused_and_the_own_ones_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent_with(
        dir.path(),
        &seq_memory_null(EVENTS),
        &["-Dflume.monitoring.tap=loopback"],
    );
    let port = agent.http;
    let own = format!("127.0.0.1:{port}");
    let ask = |head: String| status_of(port, &head).expect("an answer");

    // DNS rebinding: the browser names the attacker's host. The tap (events) is refused...
    let (status, body) = ask(format!(
        "GET /tap?component=r1 HTTP/1.1\r\nHost: evil.example:{port}"
    ));
    assert_eq!(status, 403, "GET /tap with a foreign Host: {body}");
    assert!(body.contains("Host"), "{body}");
    // ... and so is a Host naming another port of this machine.
    let (status, _) = ask("GET /tap?component=r1 HTTP/1.1\r\nHost: 127.0.0.1:1".to_owned());
    assert_eq!(status, 403);
    // So are the read-only pages (issue 64: a rebinding page could read them).
    for path in ["/metrics", "/", "/history"] {
        let (status, body) = ask(format!("GET {path} HTTP/1.1\r\nHost: evil.example:{port}"));
        assert_eq!(status, 403, "GET {path} with a foreign Host: {body}");
    }

    // A cross-site POST: the Host is ours, the Origin is not.
    let (status, body) = ask(format!(
        "POST /reload HTTP/1.1\r\nHost: {own}\r\nOrigin: http://evil.example"
    ));
    assert_eq!(status, 403, "a cross-site POST /reload: {body}");
    assert!(body.contains("Origin"), "{body}");
    let (status, _) = ask(format!(
        "POST /reload HTTP/1.1\r\nHost: {own}\r\nOrigin: null"
    ));
    assert_eq!(status, 403, "an opaque origin");

    // Our own: no Origin (curl, Prometheus), our origin, localhost, loopback names.
    for head in [
        format!("POST /reload HTTP/1.1\r\nHost: {own}"),
        format!("POST /reload HTTP/1.1\r\nHost: {own}\r\nOrigin: http://{own}"),
        format!("POST /reload HTTP/1.1\r\nHost: localhost:{port}"),
    ] {
        let (status, body) = ask(head.clone());
        assert_eq!(status, 200, "{head}: {body}");
        assert!(body.contains("unchanged"), "{body}");
    }
    for host in [
        own.clone(),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        let (status, body) = ask(format!("GET /metrics HTTP/1.1\r\nHost: {host}"));
        assert_eq!(status, 200, "Host {host}: {body}");
    }
    let (status, _) = ask(format!("GET /tap?component=r1 HTTP/1.1\r\nHost: {own}"));
    assert_eq!(status, 200, "the tap for our own Host");
}

#[test]
fn an_ipv4_mapped_loopback_peer_counts_as_loopback() {
    let dir = tempfile::tempdir().unwrap();
    // Bound on the IPv6 wildcard, a connection to 127.0.0.1 arrives from ::ffff:127.0.0.1.
    let agent = start_agent_with(
        dir.path(),
        &seq_memory_null(EVENTS),
        &[
            "-Dflume.monitoring.bind=::",
            "-Dflume.monitoring.tap=loopback",
        ],
    );
    let port = agent.http;
    let (status, body) = status_of(
        port,
        &format!("POST /reload HTTP/1.1\r\nHost: 127.0.0.1:{port}"),
    )
    .expect("an answer");
    assert_eq!(
        status, 200,
        "POST /reload from a mapped loopback peer: {body}"
    );
    let (status, body) = status_of(
        port,
        &format!("GET /tap?component=r1 HTTP/1.1\r\nHost: 127.0.0.1:{port}"),
    )
    .expect("an answer");
    assert_eq!(status, 200, "GET /tap from a mapped loopback peer: {body}");
}
