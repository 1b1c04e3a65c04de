//! `sluice bench` end to end: tiny workloads through the real binary, the JSON keys scripts
//! rely on, the verification of both-phase runs, and the probe on a temporary directory.

use std::process::{Command, Output};

use serde_json::Value;

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("bench")
        .args(args)
        .arg("--quiet")
        .output()
        .expect("run sluice bench")
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "sluice bench failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}

fn dirs(tmp: &tempfile::TempDir) -> (String, String) {
    let c = tmp.path().join("ckpt");
    let d = tmp.path().join("data");
    (c.display().to_string(), d.display().to_string())
}

#[test]
fn a_timed_put_run_needs_no_capacity_setting() {
    let tmp = tempfile::tempdir().unwrap();
    let (c, d) = dirs(&tmp);
    let out = bench(&[
        "--checkpoint-dir",
        &c,
        "--data-dirs",
        &d,
        "--phase",
        "put",
        "--duration",
        "300ms",
        "--batch",
        "10",
        "--event-size",
        "64",
        "--json",
    ]);
    let v = json_of(&out);
    assert!(
        v["events_per_sec"].as_f64().unwrap_or(0.0) > 0.0,
        "a timed run reports a rate: {v}"
    );
}

#[test]
fn both_phases_report_the_json_keys_and_verify_every_event() {
    let tmp = tempfile::tempdir().unwrap();
    let (c, d) = dirs(&tmp);
    let out = bench(&[
        "--checkpoint-dir",
        &c,
        "--data-dirs",
        &d,
        "--events",
        "2000",
        "--batch",
        "50",
        "--putters",
        "2",
        "--takers",
        "2",
        "--event-size",
        "64..512",
        "--json",
    ]);
    let v = json_of(&out);
    for key in [
        "events_per_sec",
        "payload_mb_per_sec",
        "commits_per_sec",
        "fsyncs_per_sec",
    ] {
        assert!(v[key].as_f64().unwrap() > 0.0, "{key} in {v}");
    }
    for q in ["p50", "p99", "p999", "max"] {
        assert!(
            v["commit_latency_us"][q].as_f64().unwrap() > 0.0,
            "{q} in {v}"
        );
    }
    let phases = v["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 2);
    assert_eq!(phases[0]["events_put"], 2000);
    assert_eq!(phases[1]["events_taken"], 2000);
    assert_eq!(v["verified"]["ok"], true);
    assert_eq!(v["verified"]["put"], 2000);
    assert_eq!(v["verified"]["missing"], 0);
}

#[test]
fn put_then_take_in_two_runs_drains_the_backlog_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let (c, d) = dirs(&tmp);
    let common = ["--checkpoint-dir", &c, "--data-dirs", &d, "--json"];
    let put = json_of(&bench(
        &[&common[..], &["--phase", "put", "--events", "2000"]].concat(),
    ));
    assert_eq!(put["phases"][0]["events_put"], 2000);
    assert!(put["verified"].is_null());
    let take = json_of(&bench(
        &[&common[..], &["--phase", "take", "--batch", "300"]].concat(),
    ));
    assert_eq!(take["phases"][0]["events_taken"], 2000);
    assert_eq!(take["verified"]["ok"], true);
    // The channel is empty now: a second drain takes nothing.
    let again = json_of(&bench(&[&common[..], &["--phase", "take"]].concat()));
    assert_eq!(again["phases"][0]["events_taken"], 0);
}

#[test]
fn both_phase_run_refuses_a_channel_that_already_holds_events() {
    let tmp = tempfile::tempdir().unwrap();
    let (c, d) = dirs(&tmp);
    let common = ["--checkpoint-dir", &c, "--data-dirs", &d];
    json_of(&bench(
        &[&common[..], &["--phase", "put", "--events", "10", "--json"]].concat(),
    ));
    let out = bench(&[&common[..], &["--phase", "both", "--events", "10"]].concat());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds 10 events"));
}

#[test]
fn mixed_phase_on_two_dirs_and_memory_channel_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let c = tmp.path().join("c").display().to_string();
    let d = format!(
        "{},{}",
        tmp.path().join("d1").display(),
        tmp.path().join("d2").display()
    );
    let v = json_of(&bench(&[
        "--checkpoint-dir",
        &c,
        "--data-dirs",
        &d,
        "--phase",
        "mixed",
        "--events",
        "2000",
        "--putters",
        "3",
        "--takers",
        "2",
        "--batch",
        "10",
        "--json",
    ]));
    assert_eq!(v["verified"]["ok"], true);
    assert_eq!(v["workload"]["data_dirs"], 2);
    // Disk reads over the run, per phase and (first phase) at the top level.
    assert!(v["disk_read_bytes"].as_u64().is_some(), "{v}");
    assert!(v["phases"][0]["disk_read_bytes"].as_u64().is_some());
    let m = json_of(&bench(&[
        "--channel",
        "memory",
        "--events",
        "2000",
        "--json",
    ]));
    assert_eq!(m["verified"]["ok"], true);
    assert_eq!(m["fsyncs_per_sec"], 0.0);
}

#[test]
fn reopen_and_checkpoint_pauses_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let (c, d) = dirs(&tmp);
    let v = json_of(&bench(&[
        "--checkpoint-dir",
        &c,
        "--data-dirs",
        &d,
        "--events",
        "2000",
        "--batch",
        "10",
        "--reopen",
        "--checkpoint-every-ms",
        "20",
        "--json",
    ]));
    let r = &v["reopen"];
    assert_eq!(r["backlog_events"], 2000);
    assert_eq!(r["with_checkpoint_source"], "Checkpoint");
    assert_eq!(r["full_replay_source"], "FullReplay");
    assert_eq!(r["full_replay_events"], 2000);
    assert!(r["log_bytes"].as_u64().unwrap() > 2000 * 1024);
    assert!(v["phases"][0]["checkpoints"]["count"].as_u64().is_some());
    assert_eq!(v["verified"]["ok"], true);
}

#[test]
fn probe_measures_a_temporary_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().display().to_string();
    let v = json_of(&bench(&[
        "--probe",
        "--probe-secs",
        "0.2",
        "--data-dirs",
        &d,
        "--json",
    ]));
    assert!(v["synced_write_mb_per_sec"].as_f64().unwrap() > 0.0);
    assert!(v["fdatasync_per_sec"].as_f64().unwrap() > 0.0);
    assert!(v["buffered_mb_per_sec"].as_f64().unwrap() > 0.0);
    assert!(v["prealloc_fdatasync_per_sec"].as_f64().unwrap() > 0.0);
    assert!(v["prealloc_fdatasync_p50_us"].as_f64().unwrap() > 0.0);
    assert!(v["batch_fdatasync_per_sec"].as_f64().unwrap() > 0.0);
    assert!(v["batch_fdatasync_p50_us"].as_f64().unwrap() > 0.0);
    // Measured, or null where the file system refuses O_DIRECT (tmpfs).
    let direct = &v["direct_overwrite_mb_per_sec"];
    assert!(
        direct.is_null() || direct.as_f64().unwrap() > 0.0,
        "{direct}"
    );
    // The probe leaves nothing behind.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn bad_arguments_fail_with_a_message() {
    let out = bench(&["--event-size", "4", "--events", "1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--event-size"));
}
