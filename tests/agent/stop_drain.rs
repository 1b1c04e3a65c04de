//! A graceful stop drains the memory channels into their sinks (`drainTimeout`): the lines a
//! netcat source acknowledged reach file_roll though the sink could not write when SIGTERM
//! came, and what a sink that never delivers leaves is lost, counted and logged, the stop
//! ending after its `drainTimeout`. The sink is held back by its directory: `sink.directory`
//! under a regular file cannot be created (as root too) until the test replaces the file.

use std::path::{Path, PathBuf};

use crate::support::agent_proc::Proc;
use crate::support::lines_support::{lines, netcat_send, written};
use crate::support::ports::free_port;

/// netcat on `port` -> memory channel -> file_roll into `out`, with `extra` channel keys.
fn conf(port: u16, out: &Path, extra: &str) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 1000\n{extra}\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {}\na1.sinks.k1.sink.rollInterval = 0\n",
        out.display()
    )
}

/// A running agent whose file_roll cannot create its directory (`<dir>/blocker/out`, the
/// blocker a regular file), 20 lines acknowledged `OK` by its netcat source and the sink's
/// failure logged; the blocker and the directory the sink writes to.
fn blocked_agent_holding_twenty_lines(dir: &Path, extra: &str) -> (Proc, PathBuf, PathBuf) {
    let blocker = dir.join("blocker");
    std::fs::write(&blocker, b"").unwrap();
    let out = blocker.join("out");
    let port = free_port();
    let mut a = Proc::builder(dir)
        .conf_text_as("agent.properties", &conf(port, &out, extra))
        .log("agent.log")
        .arg("--no-reload-conf")
        .ready_port(port)
        .spawn();
    let sent = lines("line", 0..20);
    assert_eq!(netcat_send(port, &sent), 20, "{}", a.log_text());
    a.wait_running("the sink's failure naming sink.directory", |p| {
        p.log_text().contains("sink.directory")
    });
    (a, blocker, out)
}

#[test]
fn lines_acknowledged_before_sigterm_reach_file_roll_though_it_could_not_write_when_the_stop_began()
{
    let tmp = tempfile::tempdir().unwrap();
    let (mut a, blocker, out) = blocked_agent_holding_twenty_lines(tmp.path(), "");
    a.signal(libc::SIGTERM);
    a.wait_running("the drain of c1", |p| {
        p.log_text()
            .contains("draining the memory channel into its sinks")
    });
    // The sink can write now; its next retry delivers while the stop waits for it.
    std::fs::remove_file(&blocker).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    assert_eq!(a.wait_exit(), Some(0), "{}", a.log_text());
    let mut got = written(&out);
    got.sort();
    assert_eq!(got, lines("line", 0..20), "{}", a.log_text());
    let log = a.log_text();
    assert!(log.contains("memory channel drained"), "{log}");
    assert!(!log.contains("they are lost"), "{log}");
}

#[test]
fn a_stop_whose_sink_never_delivers_ends_after_the_drain_timeout_and_counts_every_line_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut a, _blocker, out) =
        blocked_agent_holding_twenty_lines(tmp.path(), "a1.channels.c1.drainTimeout = 2s\n");
    // The stop is bounded: drainTimeout, then the runner's and the channel's graces.
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
    assert!(written(&out).is_empty());
    let log = a.log_text();
    let lost: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("they are lost"))
        .collect();
    assert_eq!(lost.len(), 1, "{log}");
    assert!(
        lost[0].contains("WARN") && lost[0].contains("c1") && lost[0].contains("lost=20"),
        "{}",
        lost[0]
    );
    assert!(
        log.contains("bound_ms=12000"),
        "the stop's bound says the drain: {log}"
    );
}
