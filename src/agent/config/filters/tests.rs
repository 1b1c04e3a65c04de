//! Config filters: Flume's key syntax, the env and external types, hadoop refused.

use super::*;

fn entries(lines: &[(&str, &str)]) -> Vec<(String, String, Origin)> {
    lines
        .iter()
        .enumerate()
        .map(|(i, (k, v))| (k.to_string(), v.to_string(), Origin::Line(i + 1)))
        .collect()
}

fn run(lines: &[(&str, &str)]) -> (Vec<(String, String, Origin)>, Resolution) {
    let mut e = entries(lines);
    let mut res = Resolution::default();
    let d = declared(&e, "a1");
    let b = build(&d, &e, "a1", &mut res.problems);
    apply(&b, &mut e, "a1", &mut res);
    (e, res)
}

fn value<'a>(e: &'a [(String, String, Origin)], key: &str) -> &'a str {
    e.iter()
        .find(|(k, _, _)| k == key)
        .map(|(_, v, _)| v.as_str())
        .unwrap_or("")
}

#[test]
fn flumes_three_reference_spellings_read_the_env_filter() {
    let path = std::env::var("PATH").unwrap();
    let (e, res) = run(&[
        ("a1.configfilters", "f1"),
        ("a1.configfilters.f1.type", "env"),
        ("a1.sources.r1.a", "${f1['PATH']}"),
        ("a1.sources.r1.b", "x-${f1[\"PATH\"]}-${f1[PATH]}"),
    ]);
    assert!(res.problems.is_empty(), "{:?}", res.problems);
    assert_eq!(value(&e, "a1.sources.r1.a"), path);
    assert_eq!(value(&e, "a1.sources.r1.b"), format!("x-{path}-{path}"));
    assert!(res.filtered.contains("a1.sources.r1.a"));
}

#[test]
fn the_external_filter_runs_the_command_with_the_key_and_keeps_the_first_line() {
    let (e, res) = run(&[
        ("a1.configfilters", "sec"),
        (
            "a1.configfilters.sec.type",
            "org.apache.flume.configfilter.ExternalProcessConfigFilter",
        ),
        ("a1.configfilters.sec.command", "printf %s\\n%s\\n"),
        ("a1.sinks.k1.password", "${sec['db_pass']}"),
    ]);
    assert!(res.problems.is_empty(), "{:?}", res.problems);
    assert_eq!(value(&e, "a1.sinks.k1.password"), "db_pass");
}

#[test]
fn a_failing_command_is_an_error_on_the_line_that_used_it() {
    let (_, res) = run(&[
        ("a1.configfilters", "sec"),
        ("a1.configfilters.sec.type", "external"),
        ("a1.configfilters.sec.command", "false"),
        ("a1.sinks.k1.password", "${sec['db_pass']}"),
    ]);
    assert_eq!(res.problems.len(), 1, "{:?}", res.problems);
    assert_eq!(res.problems[0].origin, Origin::Line(4));
    assert!(
        res.problems[0].message.contains("exited with"),
        "{}",
        res.problems[0].message
    );
}

#[test]
fn an_unset_env_key_and_a_malformed_reference_are_errors() {
    let (_, res) = run(&[
        ("a1.configfilters", "f1"),
        ("a1.configfilters.f1.type", "env"),
        ("a1.sources.r1.a", "${f1['SLUICE_SURELY_UNSET_VAR']}"),
        ("a1.sources.r1.b", "${f1['a b']}"),
    ]);
    let lines: Vec<Origin> = res.problems.iter().map(|p| p.origin).collect();
    assert_eq!(lines, vec![Origin::Line(3), Origin::Line(4)]);
    assert!(res.problems[0].message.contains("SLUICE_SURELY_UNSET_VAR"));
}

#[test]
fn hadoop_is_refused_and_external_needs_a_command() {
    let (_, res) = run(&[
        ("a1.configfilters", "h x"),
        ("a1.configfilters.h.type", "hadoop"),
        ("a1.configfilters.x.type", "external"),
    ]);
    assert_eq!(res.problems.len(), 2, "{:?}", res.problems);
    assert!(res.problems[0].message.contains("needs a JVM"));
    assert_eq!(res.problems[1].key, "a1.configfilters.x.command");
}

/// A filter script that prints `value`, leaves `child` (`sleep 600`, `setsid sleep 600`)
/// running in the background holding its standard output, writes that child's pid to
/// `pid_file` and exits 0.
#[allow(
    clippy::disallowed_methods,
    reason = "the filter's script and its child's pid are real files, /proc the real one (DESIGN.md, the agent's std::fs rule)"
)]
fn daemonizing_script(
    dir: &std::path::Path,
    child: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let (script, pid_file) = (dir.join("get-secret"), dir.join("child.pid"));
    let text = format!(
        "#!/bin/sh\necho \"value-of-$1\"\n{child} &\necho $! > {}\nexit 0\n",
        pid_file.display()
    );
    std::fs::write(&script, text).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, pid_file)
}

/// Whether process `pid` is gone or a zombie (killed, not yet reaped).
#[allow(
    clippy::disallowed_methods,
    reason = "the filter's script and its child's pid are real files, /proc the real one (DESIGN.md, the agent's std::fs rule)"
)]
fn dead(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
        s.rsplit(')')
            .next()
            .is_some_and(|t| t.trim_start().starts_with('Z'))
    })
}

#[test]
fn a_command_that_leaves_a_child_holding_its_output_gives_its_value_and_the_child_is_killed() {
    value_given_and_child_killed("sleep 600");
}

#[test]
fn a_command_whose_child_calls_setsid_gives_its_value_and_the_child_is_killed() {
    value_given_and_child_killed("setsid sleep 600");
}

/// Runs a filter command that leaves `child` behind holding its output: its value comes, and
/// the child is killed.
#[allow(
    clippy::disallowed_methods,
    reason = "the filter's script and its child's pid are real files, /proc the real one (DESIGN.md, the agent's std::fs rule)"
)]
fn value_given_and_child_killed(child: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (script, pid_file) = daemonizing_script(tmp.path(), child);
    let command = script.display().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(external::run(&command, "db_pass", Charset::Utf8)));
    // Without the fix this waits for the sleep's 600 s; the bound only turns a hang into a
    // failure.
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the filter command's run returned");
    assert_eq!(got.unwrap(), "value-of-db_pass");
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let pid = pid.trim();
    let gone = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(25));
        dead(pid)
    });
    assert!(gone, "the background child {pid} still runs");
}
