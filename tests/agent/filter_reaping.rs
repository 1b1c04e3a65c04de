//! A config filter whose command leaves a child in a session of its own (`setsid`) holding
//! its output: every load and reload reaps that child, and the agent's threads and
//! descriptors stay bounded however many reloads run it (read from `/proc`).

use std::path::Path;

use crate::support::status_support::{post, seq_memory_null, start_agent, HttpAgent};

/// Reloads after the first one, each running the filter once.
const RELOADS: usize = 10;
/// Threads or descriptors the agent may gain over the reloads (tokio's blocking pool
/// grows and shrinks on its own); a leak costs two of each per reload.
const SLACK: usize = 6;

/// A filter script under `dir` that prints `value-of-<key>`, starts `setsid sleep 600` in
/// the background (a new session, holding the script's standard output), appends that
/// child's pid to `children.pids` and exits 0; the agent keys that use it.
fn setsid_filter(dir: &Path) -> String {
    super::agent_reload::filter_leaving_a_child(dir, "setsid sleep 600 &", "children.pids", ">>")
}

/// The agent's threads and open descriptors, from `/proc`.
fn threads_and_fds(agent: &HttpAgent) -> (usize, usize) {
    let pid = agent.pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let threads = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    (threads, fds)
}

/// Whether process `pid` is gone (or a zombie nobody has reaped yet).
fn gone(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
        s.rsplit(')')
            .next()
            .is_some_and(|t| t.trim_start().starts_with('Z'))
    })
}

#[test]
fn reloads_through_a_filter_whose_child_calls_setsid_leave_no_child_thread_or_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let conf = seq_memory_null(1000) + &setsid_filter(dir.path());
    let agent = start_agent(dir.path(), &conf);
    let (status, body) = post(agent.http, "/reload");
    assert_eq!(status, 200, "{body}");
    let before = threads_and_fds(&agent);
    for _ in 0..RELOADS {
        let (status, body) = post(agent.http, "/reload");
        assert_eq!(status, 200, "{body}");
    }
    let pids = std::fs::read_to_string(dir.path().join("children.pids")).unwrap();
    let pids: Vec<&str> = pids.split_whitespace().collect();
    assert!(pids.len() > RELOADS, "a child per load: {pids:?}");
    let alive: Vec<&&str> = pids.iter().filter(|p| !gone(p)).collect();
    assert!(alive.is_empty(), "children left running: {alive:?}");
    let after = threads_and_fds(&agent);
    assert!(
        after.0 <= before.0 + SLACK && after.1 <= before.1 + SLACK,
        "threads and descriptors grew from {before:?} to {after:?} over {RELOADS} reloads"
    );
}
