//! Reload on demand on a real `sluice agent`: SIGHUP and `POST /reload` read the file again,
//! apply a changed configuration (a source added shows in /metrics), keep the running one
//! when the new file has errors (the agent lives on), and count every outcome in
//! `AGENT.a1`. The endpoint refuses GET, and everything when `-Dflume.monitoring.reload=off`.

use crate::support::status_support;

use status_support::{post, seq_memory_null, start_agent, start_agent_with, HttpAgent};

/// The config with a second source `r2` (a seq that stops after 10 events).
fn with_r2(total: u64) -> String {
    seq_memory_null(total).replace("a1.sources = r1\n", "a1.sources = r1 r2\n")
        + "a1.sources.r2.type = seq\na1.sources.r2.totalEvents = 10\na1.sources.r2.channels = c1\n"
}

const BROKEN: &str = "a1.sources.r1.batchSize = lots\n";

fn count(agent: &HttpAgent, key: &str) -> u64 {
    agent.json()["AGENT.a1"][key]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn has_r2(agent: &HttpAgent) -> bool {
    agent.json().get("SOURCE.r2").is_some()
}

#[test]
fn sighup_applies_a_changed_file_and_keeps_the_running_config_on_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut agent = start_agent(dir.path(), &seq_memory_null(1000));
    let conf = dir.path().join("agent.conf");
    let hup = |agent: &HttpAgent| unsafe { libc::kill(agent.pid() as i32, libc::SIGHUP) };
    assert!(!has_r2(&agent));
    std::fs::write(&conf, with_r2(1000)).unwrap();
    assert_eq!(hup(&agent), 0);
    agent.wait_until("r2 after SIGHUP", || has_r2(&agent));
    agent.wait_until("the applied count", || {
        count(&agent, "ReloadAppliedCount") == 1
    });
    // A broken file: the agent stays up with r2.
    std::fs::write(&conf, with_r2(1000) + BROKEN).unwrap();
    assert_eq!(hup(&agent), 0);
    agent.wait_until("the rejected count", || {
        count(&agent, "ReloadRejectedCount") == 1
    });
    assert!(agent.alive(), "SIGHUP must not stop the agent");
    assert!(has_r2(&agent), "the running configuration stays");
    // Unchanged: nothing restarts.
    std::fs::write(&conf, with_r2(1000)).unwrap();
    assert_eq!(hup(&agent), 0);
    agent.wait_until("the unchanged count", || {
        count(&agent, "ReloadUnchangedCount") == 1
    });
    assert_eq!(count(&agent, "ReloadRequestCount"), 3);
    assert_eq!(count(&agent, "ReloadAppliedCount"), 1);
    let log = agent.log_text();
    assert!(
        log.contains("outcome=\"rejected\"") || log.contains("rejected"),
        "{log}"
    );
    assert!(log.contains("SIGHUP"), "the log names the trigger:\n{log}");
}

#[test]
fn post_reload_answers_with_the_outcome_and_refuses_get() {
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent(dir.path(), &seq_memory_null(1000));
    let conf = dir.path().join("agent.conf");
    let (status, body) = post(agent.http, "/reload");
    assert_eq!(
        (status, body.trim()),
        (200, r#"{"errors":[],"outcome":"unchanged"}"#)
    );
    std::fs::write(&conf, with_r2(1000)).unwrap();
    let (status, body) = post(agent.http, "/reload");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""outcome":"applied""#), "{body}");
    assert!(has_r2(&agent), "applied before the answer");
    std::fs::write(&conf, with_r2(1000) + BROKEN).unwrap();
    let (status, body) = post(agent.http, "/reload");
    assert_eq!(status, 422, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["outcome"], "rejected");
    let err = v["errors"][0].as_str().unwrap();
    assert!(
        err.contains("agent.conf:") && err.contains("batchSize"),
        "{err}"
    );
    assert!(has_r2(&agent));
    let get = status_support::get(agent.http, "/reload", None).unwrap();
    assert_eq!(get.status, 405);
    assert_eq!(count(&agent, "ReloadRequestCount"), 3);
    assert_eq!(count(&agent, "ReloadRejectedCount"), 1);
}

#[test]
fn post_reload_is_refused_when_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent_with(
        dir.path(),
        &seq_memory_null(1000),
        &["-Dflume.monitoring.reload=off"],
    );
    std::fs::write(dir.path().join("agent.conf"), with_r2(1000)).unwrap();
    let (status, _) = post(agent.http, "/reload");
    assert_eq!(status, 403);
    assert!(!has_r2(&agent));
    assert_eq!(count(&agent, "ReloadRequestCount"), 0);
}

/// A config filter script under `dir` that prints `value-of-<key>`, leaves `sleep 600`
/// running in the background holding its standard output (it daemonizes a child), writes the
/// child's pid to `child.pid` and exits 0: the filter of `with_daemonizing_filter`.
fn daemonizing_filter(dir: &std::path::Path) -> String {
    filter_leaving_a_child(dir, "sleep 600 &", "child.pid", ">")
}

/// A config filter script under `dir` that prints `value-of-<key>`, runs `background` (a
/// command ending in `&`), writes (`>`) or appends (`>>`) that child's pid to `pid_file`
/// and exits 0; the agent keys that read `stage` through it.
pub(crate) fn filter_leaving_a_child(
    dir: &std::path::Path,
    background: &str,
    pid_file: &str,
    redirect: &str,
) -> String {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("get-secret");
    let text = format!(
        "#!/bin/sh\necho \"value-of-$1\"\n{background}\necho $! {redirect} {}\nexit 0\n",
        dir.join(pid_file).display()
    );
    std::fs::write(&script, text).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!(
        "a1.configfilters = sec\na1.configfilters.sec.type = external\n\
         a1.configfilters.sec.command = {}\n\
         a1.sources.r1.interceptors = i1\na1.sources.r1.interceptors.i1.type = static\n\
         a1.sources.r1.interceptors.i1.key = stage\n\
         a1.sources.r1.interceptors.i1.value = ${{sec['stage']}}\n",
        script.display()
    )
}

#[test]
fn a_reload_through_a_filter_that_daemonizes_a_child_applies_and_so_does_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent(dir.path(), &seq_memory_null(1000));
    let conf = dir.path().join("agent.conf");
    let hup = |agent: &HttpAgent| unsafe { libc::kill(agent.pid() as i32, libc::SIGHUP) };
    let filter = daemonizing_filter(dir.path());
    std::fs::write(&conf, seq_memory_null(1000) + &filter).unwrap();
    assert_eq!(hup(&agent), 0);
    agent.wait_until("the reload through the filter applied", || {
        count(&agent, "ReloadAppliedCount") == 1
    });
    // The next reload is not wedged behind the child that still held the filter's output.
    std::fs::write(&conf, with_r2(1000)).unwrap();
    assert_eq!(hup(&agent), 0);
    agent.wait_until("r2 after the second SIGHUP", || has_r2(&agent));
    assert_eq!(count(&agent, "ReloadAppliedCount"), 2);
    let pid = std::fs::read_to_string(dir.path().join("child.pid")).unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
    let dead = stat.map_or(true, |s| {
        s.rsplit(')')
            .next()
            .is_some_and(|t| t.trim_start().starts_with('Z'))
    });
    assert!(
        dead,
        "the filter's background child {} was killed",
        pid.trim()
    );
}
