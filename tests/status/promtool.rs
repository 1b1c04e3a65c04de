//! The Prometheus exposition of a real agent with several component kinds passes a real
//! `promtool check metrics` (Debian's `prometheus` package's, `.ci/install-promtool.sh`):
//! names, types, HELP text, units. promtool missing is a failure, not a skip.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::dead_port::dead_port;
use crate::support::status_support;
use status_support::{free_port, get, start_agent};

/// `promtool check metrics` on `text`: (success, what it printed).
fn promtool_check(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("promtool cannot run ({e}): install it with .ci/install-promtool.sh")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

#[test]
fn promtool_finds_nothing_to_complain_about_in_a_real_agents_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let dead = dead_port();
    let nc = free_port();
    let d = tmp.path();
    let conf = format!(
        "a1.sources = r1 r2\na1.channels = c1 c2\na1.sinks = k1 k2\n\
         a1.sources.r1.type = seq\na1.sources.r1.totalEvents = 100\na1.sources.r1.channels = c1\n\
         a1.sources.r2.type = netcat\na1.sources.r2.bind = 127.0.0.1\na1.sources.r2.port = {nc}\n\
         a1.sources.r2.channels = c2\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {ck}\n\
         a1.channels.c1.dataDirs = {data}\n\
         a1.channels.c2.type = memory\n\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n\
         a1.sinks.k2.type = avro\na1.sinks.k2.channel = c2\n\
         a1.sinks.k2.hostname = 127.0.0.1\na1.sinks.k2.port = {dead}\n",
        ck = d.join("ck").display(),
        data = d.join("data").display(),
        dead = dead.port,
    );
    let agent = start_agent(d, &conf);
    agent.wait_until("the seq events drained", || {
        agent.json()["SINK.k1"]["EventDrainSuccessCount"].as_str() == Some("100")
    });
    let m = get(agent.http, "/metrics", Some("text/plain;version=0.0.4")).unwrap();
    assert_eq!(m.status, 200);
    // Every kind of series is there, so the lint saw each of them.
    for name in [
        "flume_source_event_received_total{",
        "flume_source_open_connections{",
        "flume_channel_size{",
        "flume_channel_tail_cache_hit_total{",
        "flume_channel_replay_progress_ratio{",
        "flume_channel_put_commit_duration_seconds_bucket{",
        "flume_sink_connection_down_seconds{",
        "sluice_build_info{",
        "process_cpu_seconds_total ",
        "process_open_fds ",
        "process_max_fds ",
        "process_resident_memory_bytes ",
        "sluice_process_resident_memory_bytes ",
        "sluice_process_resident_memory_peak_bytes ",
        "process_virtual_memory_bytes ",
        "process_start_time_seconds ",
    ] {
        assert!(m.body.contains(name), "no {name} in\n{}", m.body);
    }
    let (ok, said) = promtool_check(&m.body);
    assert!(
        ok && said.trim().is_empty(),
        "promtool check metrics complained:\n{said}\nexposition:\n{}",
        m.body
    );
}
