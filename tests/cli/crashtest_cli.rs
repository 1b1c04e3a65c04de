//! `sluice crashtest` end to end: a bounded number of SIGKILL rounds and of simulated
//! power-loss rounds, each ending with `rounds=N acked=N recovered=N lost=0 duplicated=N`.

use std::process::Command;

/// Runs the tool and returns the summary fields of its last line.
fn crashtest(args: &[&str]) -> Vec<(String, u64)> {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("crashtest")
        .args(args)
        .output()
        .expect("run sluice crashtest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "crashtest failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().expect("some output");
    last.split(' ')
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("key=value");
            (k.to_owned(), v.parse().expect("a number"))
        })
        .collect()
}

fn field(summary: &[(String, u64)], key: &str) -> u64 {
    summary
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no {key} in {summary:?}"))
}

fn assert_nothing_lost(s: &[(String, u64)], rounds: u64) {
    let keys: Vec<&str> = s.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["rounds", "acked", "recovered", "lost", "duplicated"]);
    assert_eq!(field(s, "rounds"), rounds);
    assert!(field(s, "acked") > 0, "nothing was acknowledged: {s:?}");
    assert_eq!(field(s, "lost"), 0);
    assert_eq!(field(s, "recovered"), field(s, "acked"));
}

#[test]
fn sigkill_rounds_over_two_data_dirs_lose_nothing_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = format!(
        "{},{}",
        tmp.path().join("d1").display(),
        tmp.path().join("d2").display()
    );
    let dir = tmp.path().display().to_string();
    let s = crashtest(&[
        "--dir",
        &dir,
        "--data-dirs",
        &dirs,
        "--rounds",
        "6",
        "--seed",
        "42",
        "--max-run-ms",
        "150",
    ]);
    assert_nothing_lost(&s, 6);
}

/// The buffered write path (`directIo = false`: page-cache appends, padded appends into
/// recycled spares) under the same kills, and under simulated power cuts. The other tests run
/// the default, `auto`, which takes direct I/O on these file systems (the real one in the
/// temporary directory, and the simulated one).
#[test]
fn buffered_rounds_lose_nothing_under_sigkill_or_power_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().display().to_string();
    let s = crashtest(&[
        "--dir",
        &dir,
        "--rounds",
        "6",
        "--seed",
        "43",
        "--max-run-ms",
        "150",
        "--direct-io",
        "false",
    ]);
    assert_nothing_lost(&s, 6);
    let s = crashtest(&[
        "--dir",
        "/sim/crashtest",
        "--rounds",
        "100",
        "--seed",
        "8",
        "--power-loss",
        "--direct-io",
        "false",
    ]);
    assert_nothing_lost(&s, 100);
}

#[test]
fn power_loss_rounds_lose_nothing_and_replay_exactly_from_the_seed() {
    let args = [
        "--dir",
        "/sim/crashtest",
        "--rounds",
        "200",
        "--seed",
        "7",
        "--power-loss",
    ];
    let first = crashtest(&args);
    assert_nothing_lost(&first, 200);
    assert_eq!(crashtest(&args), first, "the same seed gave another run");
}

#[test]
fn removing_segments_or_directory_entries_is_never_a_silent_loss() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    for mode in ["dir-segments", "dir-entry"] {
        let s = crashtest(&[
            "--dir", root, "--rounds", "12", "--seed", "3", "--remove", mode,
        ]);
        assert_eq!(field(&s, "rounds"), 12, "{mode}");
        assert!(
            field(&s, "lossy") > 0,
            "{mode}: no removal cost anything: {s:?}"
        );
        assert_eq!(field(&s, "silent"), 0, "{mode}: {s:?}");
        assert_eq!(field(&s, "phantom"), 0, "{mode}: {s:?}");
        assert_eq!(
            field(&s, "refused"),
            field(&s, "salvage_reported"),
            "{mode}: a refusal salvage did not explain: {s:?}"
        );
    }
}

/// `--exactly-once`: the taker's output is cut back at each start to the cursor its committed
/// takes carry, so no event comes out twice, and the run fails if one does.
#[test]
fn sigkill_rounds_in_exactly_once_mode_deliver_every_event_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().display().to_string();
    let s = crashtest(&[
        "--dir",
        &dir,
        "--rounds",
        "6",
        "--max-run-ms",
        "200",
        "--exactly-once",
    ]);
    assert_nothing_lost(&s, 6);
    assert_eq!(field(&s, "duplicated"), 0);
}
