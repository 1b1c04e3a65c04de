//! `sluice config check` on the real binary says what would cost events or change a Flume
//! value silently (issue 79): an hdfs sink whose time-escaped `hdfs.path` nothing gives a
//! timestamp to (every event would be a poison event) is a warning naming the key and the
//! fix, and exits 0; with `hdfs.useLocalTimeStamp = true` there is no such warning. A
//! `checkpointInterval` below Flume's floor is said with the given and the used value.

use std::path::Path;
use std::process::Command;

/// netcat → file channel → hdfs sink on `%Y%m%d`, plus `extra` lines.
fn conf(root: &Path, extra: &str) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = 44444\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {r}/ck\n\
         a1.channels.c1.dataDirs = {r}/data\n\
         a1.sinks.k1.type = hdfs\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.hdfs.path = {r}/out/%Y%m%d\n{extra}",
        r = root.display()
    )
}

/// Exit code and stdout of `config check` on `text`.
fn check(root: &Path, text: &str) -> (Option<i32>, String) {
    let path = root.join("a1.properties");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["config", "check", "-n", "a1", "-f"])
        .arg(&path)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_time_escaped_path_with_no_timestamp_is_a_warning_naming_the_key_and_the_fix() {
    let d = tempfile::tempdir().unwrap();
    let (code, out) = check(d.path(), &conf(d.path(), ""));
    assert_eq!(code, Some(0), "a warning, not an error: {out}");
    let line = out
        .lines()
        .find(|l| l.contains("a1.sinks.k1.hdfs.path: warning: has time escapes"))
        .unwrap_or_else(|| panic!("no warning on hdfs.path: {out}"));
    assert!(line.contains(":13: "), "at the key's line: {line}");
    assert!(
        line.contains("set a1.sinks.k1.hdfs.useLocalTimeStamp = true"),
        "{line}"
    );
    assert!(
        line.contains("a1.sources.r1.interceptors.ts.type = timestamp"),
        "{line}"
    );
    assert!(line.contains("dead letter"), "{line}");
}

#[test]
fn a_local_timestamp_or_a_timestamp_interceptor_leaves_no_warning() {
    let d = tempfile::tempdir().unwrap();
    for extra in [
        "a1.sinks.k1.hdfs.useLocalTimeStamp = true\n",
        "a1.sources.r1.interceptors = ts\na1.sources.r1.interceptors.ts.type = timestamp\n",
    ] {
        let (code, out) = check(d.path(), &conf(d.path(), extra));
        assert_eq!(code, Some(0), "{out}");
        assert!(!out.contains("warning"), "{extra}: {out}");
    }
}

#[test]
fn a_checkpoint_interval_below_flumes_floor_is_said_with_both_values() {
    let d = tempfile::tempdir().unwrap();
    let extra = "a1.sinks.k1.hdfs.useLocalTimeStamp = true\n\
                 a1.channels.c1.checkpointInterval = 250\n";
    let (code, out) = check(d.path(), &conf(d.path(), extra));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(
            "a1.channels.c1.checkpointInterval: warning: checkpointInterval=250 is below the smallest 1000 ms (as in Flume); using 1000"
        ),
        "{out}"
    );
}
