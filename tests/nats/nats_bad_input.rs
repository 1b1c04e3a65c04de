//! Bad input named within 10 s: a wrong password, a stream that does not exist, a server
//! without JetStream. Each time the agent's log names the cause and `/health` answers 503
//! naming the sink (for a missing stream, also the stream and the servers).

use std::time::{Duration, Instant};

use crate::edge::*;
use crate::support::agent_proc::HttpAgent;
use crate::support::nats_support::{available, cluster, health, shared_turn, unique, Single};
use crate::support::ports::free_port;

/// Within 10 s of the start: the log says each of `needles` and `/health` is 503 naming
/// `SINK.k1`.
fn named_within_10_s(agent: &HttpAgent, needles: &[&str]) {
    named_in_log_and_health(agent, needles, &["SINK.k1"]);
}

/// Within 10 s of the start: the log says each of `needles` and `/health` is 503 with each
/// of `in_health` in its body.
fn named_in_log_and_health(agent: &HttpAgent, needles: &[&str], in_health: &[&str]) {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, body) = health(agent.http);
        let log = agent.proc.log_text();
        if needles.iter().all(|n| log.contains(n))
            && code == 503
            && in_health.iter().all(|n| body.contains(n))
        {
            return;
        }
        assert!(
            Instant::now() < end,
            "not named within 10 s: want {needles:?} in the log and 503 naming {in_health:?}; /health {code} {body}\n{log}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn agent_against(url: &str, stream: &str, extra: &str) -> (tempfile::TempDir, HttpAgent) {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = edge_conf(tmp.path(), url, port, stream, extra);
    let a = start_edge(tmp.path(), &conf, port, &[]);
    (tmp, a)
}

#[test]
fn a_wrong_password_is_named_and_the_sink_is_unhealthy() {
    if !available() {
        return;
    }
    let server = Single::start(
        "auth",
        "authorization { user: sluice, password: right }\njetstream { store_dir: \"STORE\" }",
    );
    let (_tmp, agent) = agent_against(&server.url(), "ANY", "user = sluice\npassword = wrong");
    named_within_10_s(&agent, &["refused the credentials", &server.url()]);
}

#[test]
fn a_missing_stream_is_named_and_the_sink_is_unhealthy() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let missing = unique("NOSUCH");
    let (_tmp, agent) = agent_against(&c.url(), &missing, "");
    // `/health` names the sink, the stream and the servers, as the log does.
    named_in_log_and_health(
        &agent,
        &["does not exist at", &missing],
        &["SINK.k1", &missing, &c.url(), "does not exist at"],
    );
}

#[test]
fn a_server_without_jetstream_is_named_and_the_sink_is_unhealthy() {
    if !available() {
        return;
    }
    let server = Single::start("nojs", "");
    let (_tmp, agent) = agent_against(&server.url(), "ANY", "");
    named_within_10_s(&agent, &["is JetStream enabled there", &server.url()]);
}

#[test]
fn a_tls_server_is_reached_with_the_rpc_sinks_truststore_key() {
    if !available() {
        return;
    }
    let tls =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/net_support/tls");
    let key = tls.join("keystore.pem").display().to_string();
    let server = Single::start(
        "tls",
        &format!("tls {{ cert_file: \"{key}\", key_file: \"{key}\" }}\njetstream {{ store_dir: \"STORE\" }}"),
    );
    let ca = tls.join("ca.pem").display().to_string();
    let extra = format!("ssl = true\ntruststore = {ca}");
    // Reached over TLS: the server answers, and the stream (never made) is named missing.
    let (_tmp, agent) = agent_against(&server.url(), "NOSTREAM", &extra);
    named_within_10_s(&agent, &["connected to NATS", "does not exist at"]);
    // Without ssl the same server is not reached.
    let (_tmp2, plain) = agent_against(&server.url(), "NOSTREAM", "");
    named_within_10_s(&plain, &["cannot connect to NATS"]);
}
