//! The server's limits and a server that never answers (issue 87): an event over the
//! server's `max_payload` is dead-lettered, named, and the events after it are stored; a
//! port that accepts TCP and never says `INFO` makes the sink unhealthy (`/health` 503,
//! `ConnectionDownMillis` growing, a log line naming the server) instead of hanging it, and
//! events flow once a real server answers there.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::edge::*;
use crate::support::agent_proc::{logs_of, metrics, HttpAgent};
use crate::support::lines_support::netcat_send;
use crate::support::nats_support::{available, health, Single};
use crate::support::ports::free_port;

/// Longest wait for the stream of a single server to hold every line.
const WAIT: Duration = Duration::from_secs(90);

/// The lines of stream `name` on `server` once it holds at least `n` of them.
fn wait_single(server: &Single, name: &str, n: usize, agent: &HttpAgent) -> Vec<String> {
    let end = Instant::now() + WAIT;
    loop {
        let got: Vec<String> = server
            .dump(name, &format!("{name}.logs.>"))
            .into_iter()
            .map(|m| m.data)
            .collect();
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < end,
            "{name} holds {} of {n} lines after {WAIT:?}\n{}",
            got.len(),
            logs_of([&agent.proc])
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn an_event_over_the_servers_max_payload_is_dead_lettered_and_later_events_are_stored() {
    if !available() {
        return;
    }
    let server = Single::start(
        "maxpayload",
        "max_payload: 1048576\njetstream { store_dir: \"STORE\" }",
    );
    let name = "BIG";
    server.create_stream(
        name,
        &[
            &format!("{name}.logs.>"),
            &format!("sluice.progress.{name}.*"),
        ],
    );
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut conf = edge_conf(tmp.path(), &server.url(), port, name, "");
    conf.push_str("e.sources.r1.max-line-length = 4194304\n");
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    let big = format!("web-{}", "x".repeat(2 << 20));
    assert_eq!(
        netcat_send(port, &[big]),
        1,
        "the 2 MiB line is acknowledged"
    );
    let later = two_services(0, 300);
    send(port, &later);
    let got = wait_single(&server, name, later.len(), &agent);
    assert_eq!(got, later, "every later line once, in order");
    let dead = tmp.path().join("deadletter").join("k1.deadletter.jsonl");
    let text = std::fs::read_to_string(&dead).unwrap_or_default();
    assert_eq!(
        text.lines().count(),
        1,
        "one dead letter in {dead:?}: {text:.300}"
    );
    assert!(text.contains("max_payload"), "{text:.300}");
    let log = agent.proc.log_text();
    assert!(
        log.contains("max_payload"),
        "the poison line names the limit: {log}"
    );
}

/// A TCP listener on `port` that accepts every connection and never writes a byte, until
/// the flag is set.
fn silent_server(port: u16) -> (Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
    l.set_nonblocking(true).unwrap();
    let flag = stop.clone();
    let t = std::thread::spawn(move || {
        let mut held = Vec::new();
        while !flag.load(Ordering::Relaxed) {
            match l.accept() {
                Ok((s, _)) => held.push(s),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    });
    (stop, t)
}

#[test]
fn a_server_that_never_says_info_makes_the_sink_unhealthy_and_events_flow_once_one_answers() {
    if !available() {
        return;
    }
    let nats_port = free_port();
    let (stop, silent) = silent_server(nats_port);
    let url = format!("nats://127.0.0.1:{nats_port}");
    let name = "SILENT";
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = edge_conf(tmp.path(), &url, port, name, "connect-timeout = 1000");
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    let lines = two_services(0, 300);
    send(port, &lines);
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, body) = health(agent.http);
        let down = metrics(agent.http)["SINK.k1"]["ConnectionDownMillis"]
            .as_str()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
        let log = agent.proc.log_text();
        let named = log.contains("handshake") && log.contains(&url);
        if code == 503 && body.contains("SINK.k1") && down > 0 && named {
            break;
        }
        assert!(
            Instant::now() < end,
            "not unhealthy within 30 s: /health {code} {body}, ConnectionDownMillis {down}\n{log}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    silent.join().unwrap();
    let server = Single::start_on("silent", "jetstream { store_dir: \"STORE\" }", nats_port);
    server.create_stream(
        name,
        &[
            &format!("{name}.logs.>"),
            &format!("sluice.progress.{name}.*"),
        ],
    );
    let got = wait_single(&server, name, lines.len(), &agent);
    assert_eq!(got, lines, "every line once, in order");
}
