//! Issue 79: a Flume operator's own configurations run unchanged. Each fixture of
//! `shared/reference/flume-channel/` was written by a real Flume 1.11, and its `drain.conf` is
//! the configuration Flume drained it with (no source, a `file_roll` sink with
//! `sink.serializer = header_and_text`). The real binary runs that file as it is, in the
//! fixture's folder (its paths are relative), on a copy of the fixture: it adopts Flume's
//! channel in place and writes a file equal, byte for byte, to what Flume wrote (the truth's
//! headers as Java's `HashMap` printed them, a space, the body, a newline), with no header
//! Sluice added. Every `flume.conf` and `drain.conf` passes `sluice config check`.

use std::path::Path;
use std::time::Duration;

use super::flume_adopt::fixture;
use crate::support::agent_proc::Proc;
use crate::support::cli_support::{outcome, sluice};
use crate::support::java_support::reference;
use crate::support::wait::wait_until;

/// What Flume's `header_and_text` wrote for fixture (or variant) `name`: line *i* of
/// `truth-headers.txt`, a space, line *i* of `truth.txt`, a newline.
fn flumes_output(name: &str) -> Vec<u8> {
    let dir = reference().join("flume-channel").join(name);
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let (headers, bodies) = (read("truth-headers.txt"), read("truth.txt"));
    let (headers, bodies): (Vec<&str>, Vec<&str>) =
        (headers.lines().collect(), bodies.lines().collect());
    assert_eq!(headers.len(), bodies.len(), "{name}: truth files disagree");
    let mut out = Vec::new();
    for (h, b) in headers.iter().zip(&bodies) {
        out.extend_from_slice(format!("{h} {b}\n").as_bytes());
    }
    out
}

/// The bytes of every file the sink wrote into `dir` (one here: `rollInterval = 0`).
fn sink_output(dir: &Path) -> Vec<u8> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| std::fs::read(f).unwrap_or_default())
        .collect()
}

/// Runs `drain.conf` of the fixture copy in `root` unchanged until the sink has written as
/// many bytes as Flume did, stops the agent, and checks the output is Flume's.
fn drains_as_flume_did(root: &Path, truth_of: &str) {
    let want = flumes_output(truth_of);
    let mut agent = Proc::builder(root)
        .conf_file("drain.conf")
        .cwd(root)
        .ready_line("agent started")
        .spawn();
    let out = root.join("truth-out");
    wait_until(
        Duration::from_secs(90),
        || sink_output(&out).len() >= want.len(),
        || {
            format!(
                "{truth_of}: {} of {} bytes written; log:\n{}",
                sink_output(&out).len(),
                want.len(),
                agent.log_text()
            )
        },
    );
    agent.stop();
    let got = sink_output(&out);
    if got != want {
        let got_text = String::from_utf8_lossy(&got);
        let want_text = String::from_utf8_lossy(&want);
        let first = got_text
            .lines()
            .zip(want_text.lines())
            .enumerate()
            .find(|(_, (g, w))| g != w);
        panic!(
            "{truth_of}: {} bytes against Flume's {}; first difference at line {:?}",
            got.len(),
            want.len(),
            first
        );
    }
    let log = agent.log_text();
    assert!(
        log.contains("adopted the Apache Flume file channel"),
        "{log}"
    );
}

/// Sets the big-endian long at byte 32 of `file` (Flume's checkpoint marker) to 1
/// (`CHECKPOINT_INCOMPLETE`), as the variants' recipes say.
fn mark_incomplete(file: &Path) {
    let mut b = std::fs::read(file).unwrap();
    b[32..40].copy_from_slice(&1i64.to_be_bytes());
    std::fs::write(file, b).unwrap();
}

#[test]
fn every_fixtures_drain_conf_runs_unchanged_and_writes_flumes_bytes() {
    for name in [
        "clean-stop",
        "kill9-midstream",
        "two-datadirs",
        "no-checkpoint",
        "dual-checkpoint",
        "encrypted",
    ] {
        let tmp = fixture(name);
        drains_as_flume_did(tmp.path(), name);
    }
}

#[test]
fn the_variants_drain_as_flume_drained_them() {
    let tmp = fixture("kill9-midstream");
    mark_incomplete(&tmp.path().join("checkpoint/checkpoint"));
    drains_as_flume_did(tmp.path(), "variants/incomplete-checkpoint");
    let tmp = fixture("dual-checkpoint");
    mark_incomplete(&tmp.path().join("checkpoint/checkpoint"));
    drains_as_flume_did(tmp.path(), "variants/dual-checkpoint-bad-primary");
}

#[test]
fn every_flume_written_configuration_passes_config_check() {
    let base = reference().join("flume-channel");
    let mut checked = 0;
    for entry in std::fs::read_dir(&base).unwrap() {
        let dir = entry.unwrap().path();
        for conf in ["flume.conf", "drain.conf", "flume-run1.conf"] {
            let f = dir.join(conf);
            if !f.is_file() {
                continue;
            }
            let out = sluice(&dir, &["config", "check", "-n", "a1", "-f", conf]);
            let (code, stdout, stderr) = outcome(&out);
            let text = format!("{stdout}{stderr}");
            assert_eq!(code, 0, "{}: {text}", f.display());
            assert!(
                !text.contains("unsupported serializer"),
                "{}: {text}",
                f.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 13, "only {checked} configurations found");
}
