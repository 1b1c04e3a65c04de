//! `sluice channel verify|inspect|dump` run as the real binary on the sound channel and on
//! every damaged fixture: exit codes, the exact problem lines, and that none of them changes
//! a byte of the channel or runs on a channel an agent holds open.

use crate::support::tools_support;

use std::path::Path;

use serde_json::Value;
use sluice_core::{FileChannel, FileChannelConfig};
use tools_support::*;

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

#[test]
fn verify_finds_nothing_wrong_with_the_sound_channel() {
    let fx = copy_fixture("sound");
    let (code, out, err) = outcome(&sluice(fx.path(), "verify", &[], b""));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    assert!(err.contains("events after recovery: 66"), "{err}");
}

#[test]
fn verify_prints_every_problem_of_every_fixture_and_exits_1() {
    let crc = "stored 0xe3f61857, computed 0x83168fd5";
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("torn_tail", vec![
            "data0/log-0000000004:332: record truncated: 45 bytes needed, 30 available; 30 bytes to the end of the file are unreadable".into(),
        ]),
        ("flipped_bit", vec![
            format!("data0/log-0000000002:122: record checksum mismatch: {crc}; 45 bytes are unreadable before the next good record"),
            "data0/log-0000000002:212: commit of transaction 8 counts 4 puts and 0 takes, 3 and 0 were readable".into(),
            format!("data0/log-0000000002:122: queued event seq 33 is unreadable: record checksum mismatch: {crc}"),
        ]),
        ("missing_segment", vec![
            "checkpoint/checkpoint:0: 24 queued events (seq 31..=59) point into segment 2, which is missing or unreadable".into(),
            "backup/checkpoint:0: 24 queued events (seq 31..=59) point into segment 2, which is missing or unreadable".into(),
        ]),
        ("corrupt_checkpoint", vec![format!(
            "checkpoint/checkpoint:0: {}",
            checkpoint_crc_problem(&fixture_dir("corrupt_checkpoint").join("checkpoint/checkpoint"))
        )]),
        ("corrupt_backup", vec![format!(
            "backup/checkpoint:0: {}",
            checkpoint_crc_problem(&fixture_dir("corrupt_backup").join("backup/checkpoint"))
        )]),
    ];
    for (name, want) in cases {
        let fx = copy_fixture(name);
        let (code, out, err) = outcome(&sluice(fx.path(), "verify", &[], b""));
        assert_eq!(code, 1, "{name}: {err}");
        assert_eq!(lines(&out), want, "{name}");
        assert!(
            err.contains(&format!("NOT SOUND: {} problems", want.len())),
            "{name}: {err}"
        );
    }
}

#[test]
fn verify_says_when_open_would_refuse() {
    let fx = copy_fixture("missing_segment");
    let (_, _, err) = outcome(&sluice(fx.path(), "verify", &[], b""));
    assert!(
        err.contains("open would refuse the channel: queued event 31 points into segment 2"),
        "{err}"
    );
}

fn inspect_json(root: &Path) -> Value {
    let (code, out, err) = outcome(&sluice(root, "inspect", &["--json"], b""));
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn checkpoint_states(v: &Value) -> Vec<&str> {
    v["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap())
        .collect()
}

#[test]
fn inspect_shows_queue_segments_checkpoints_and_oldest_event() {
    let fx = copy_fixture("sound");
    let v = inspect_json(fx.path());
    assert_eq!(v["recovered_from"], "checkpoint");
    assert_eq!(v["queue_depth"], 66);
    assert_eq!(v["in_flight_transactions"], 0);
    assert_eq!(v["oldest_event"]["seq"], 8);
    assert_eq!(v["oldest_event"]["segment"], 1);
    let segs: Vec<(u64, u64, u64)> = v["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let n = |k: &str| s[k].as_u64().unwrap();
            (n("id"), n("bytes"), n("live_events"))
        })
        .collect();
    assert_eq!(
        segs,
        [(1, 1328, 18), (2, 1328, 24), (3, 1325, 24), (4, 332, 0)]
    );
    assert_eq!(checkpoint_states(&v), ["valid", "valid"]);
    assert_eq!(v["checkpoints"][0]["entries"], 66);
    assert!(v["checkpoints"][0]["age_ms"].as_u64().unwrap() > 0);

    let (code, text, _) = outcome(&sluice(fx.path(), "inspect", &[], b""));
    assert_eq!(code, 0);
    assert!(text.contains("queue depth: 66\n"), "{text}");
    assert!(
        text.contains("oldest event: seq 8 in segment 1 at offset 338\n"),
        "{text}"
    );
}

#[test]
fn inspect_reports_each_fixture_as_recovery_sees_it() {
    // (fixture, recovered from, queue depth, checkpoint states, open refused, problems)
    let cases = [
        ("torn_tail", "checkpoint", 66, ["valid", "valid"], false, 1),
        (
            "flipped_bit",
            "checkpoint",
            66,
            ["valid", "valid"],
            false,
            0,
        ),
        (
            "missing_segment",
            "checkpoint",
            42,
            ["valid", "valid"],
            true,
            0,
        ),
        (
            "corrupt_checkpoint",
            "backup",
            66,
            ["invalid", "valid"],
            false,
            0,
        ),
        (
            "corrupt_backup",
            "checkpoint",
            66,
            ["valid", "invalid"],
            false,
            0,
        ),
    ];
    for (name, source, depth, states, refused, problems) in cases {
        let fx = copy_fixture(name);
        let v = inspect_json(fx.path());
        assert_eq!(v["recovered_from"], source, "{name}");
        assert_eq!(v["queue_depth"], depth, "{name}");
        assert_eq!(checkpoint_states(&v), states, "{name}");
        assert_eq!(v["open_refused"].is_string(), refused, "{name}");
        assert_eq!(v["problems"].as_array().unwrap().len(), problems, "{name}");
    }
}

fn dump_lines(root: &Path, extra: &[&str]) -> (i32, Vec<Value>, String) {
    let (code, out, err) = outcome(&sluice(root, "dump", extra, b""));
    let events = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (code, events, err)
}

fn body(e: &Value) -> &str {
    e["body"].as_str().unwrap()
}

#[test]
fn dump_prints_every_queued_event_in_order_as_json_lines() {
    let fx = copy_fixture("sound");
    let (code, events, err) = dump_lines(fx.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(events.len(), 66);
    assert_eq!(body(&events[0]), "event-007");
    assert_eq!(events[0]["body_encoding"], "utf8");
    assert_eq!(events[0]["headers"], serde_json::json!({}));
    assert_eq!(body(&events[64]), "event-071");
    // The last body is not UTF-8: base64 of b"bin-\xff\xfe".
    assert_eq!(body(&events[65]), "YmluLf/+");
    assert_eq!(events[65]["body_encoding"], "base64");
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    let (code, events, _) = dump_lines(fx.path(), &["--max", "3"]);
    assert_eq!(code, 0);
    let bodies: Vec<&str> = events.iter().map(body).collect();
    assert_eq!(bodies, ["event-007", "event-008", "event-009"]);
}

#[test]
fn dump_reports_an_unreadable_event_and_goes_on() {
    let fx = copy_fixture("flipped_bit");
    let (code, events, err) = dump_lines(fx.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(events.len(), 65);
    assert!(!events.iter().any(|e| body(e) == "event-027"));
    assert!(
        err.contains("data0/log-0000000002:122: queued event seq 33: record checksum mismatch"),
        "{err}"
    );
}

#[test]
fn dump_follows_the_recovery_policy_on_a_missing_segment() {
    let fx = copy_fixture("missing_segment");
    let (code, events, err) = dump_lines(fx.path(), &[]);
    assert_eq!(code, 3);
    assert!(events.is_empty());
    assert!(err.contains("points into segment 2"), "{err}");
    let (code, events, _) = dump_lines(fx.path(), &["--set", "recoveryPolicy=salvage"]);
    assert_eq!(code, 0);
    assert_eq!(events.len(), 42);
    assert_eq!(body(&events[17]), "event-024");
    assert_eq!(body(&events[18]), "event-049");
}

#[test]
fn read_only_tools_change_no_byte_of_any_fixture() {
    for name in FIXTURES {
        let fx = copy_fixture(name);
        let before = snapshot(fx.path());
        for tool in ["verify", "inspect", "dump"] {
            sluice(fx.path(), tool, &[], b"");
        }
        assert_eq!(snapshot(fx.path()), before, "{name}");
    }
}

#[test]
fn every_tool_refuses_a_channel_held_open() {
    let fx = copy_fixture("sound");
    let mut config =
        FileChannelConfig::with_dirs(fx.path().join("checkpoint"), vec![fx.path().join("data0")]);
    config.minimum_required_space_bytes = 1 << 20;
    let channel = FileChannel::open(config).unwrap();
    let before = snapshot(fx.path());
    for (tool, extra) in [
        ("inspect", &[][..]),
        ("verify", &[]),
        ("dump", &[]),
        (
            "salvage",
            &[
                "--output-checkpoint-dir",
                "o/c",
                "--output-data-dirs",
                "o/d",
            ],
        ),
    ] {
        let (code, out, err) = outcome(&sluice(fx.path(), tool, extra, b""));
        assert_eq!(code, 3, "{tool}: {out}");
        assert_eq!(out, "", "{tool}");
        assert!(
            err.contains("checkpoint is in use by another Sluice channel or process"),
            "{tool}: {err}"
        );
    }
    assert!(!fx.path().join("o").exists());
    assert_eq!(snapshot(fx.path()), before);
    channel.close().unwrap();
}

#[test]
fn verify_finds_a_zeroed_range_that_recovery_would_take_for_the_segment_end() {
    // Zeroes the first put of the third transaction of segment 1 (event-009, seq 11).
    let fx = copy_fixture("sound");
    let seg = fx.path().join("data0/log-0000000001");
    let mut b = std::fs::read(&seg).unwrap();
    b[464..464 + 45].fill(0);
    std::fs::write(&seg, b).unwrap();
    let (code, out, err) = outcome(&sluice(fx.path(), "verify", &[], b""));
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        lines(&out),
        [
            "data0/log-0000000001:464: zeroed space where a record should start; 45 bytes are unreadable before the next good record",
            "data0/log-0000000001:644: commit of transaction 3 counts 4 puts and 0 takes, 3 and 0 were readable",
            "data0/log-0000000001:464: queued event seq 11 is unreadable: zeroed space where a record should start",
        ]
    );
}

#[test]
fn verify_reports_a_replay_position_in_a_missing_segment() {
    // The newest segment holds the checkpoint's replay position (and the take records).
    let fx = copy_fixture("sound");
    std::fs::remove_file(fx.path().join("data0/log-0000000004")).unwrap();
    let (code, out, _) = outcome(&sluice(fx.path(), "verify", &[], b""));
    assert_eq!(code, 1);
    assert_eq!(
        lines(&out),
        [
            "checkpoint/checkpoint:0: replay position of data0 names segment 4, which is not a readable segment of that directory",
            "backup/checkpoint:0: replay position of data0 names segment 4, which is not a readable segment of that directory",
            "checkpoint/checkpoint:0: segment data0/log-0000000004 is missing: the checkpoint's replay position for its directory (the newest segment then); 0 queued events of the checkpoint were in it, and any events committed to it after the checkpoint",
        ]
    );
}

#[test]
fn inspect_names_a_missing_replay_position_segment_and_counts_the_events_of_an_older_one() {
    let fx = copy_fixture("sound");
    // The newest segment (the replay position) and an older one holding 24 queued events.
    std::fs::remove_file(fx.path().join("data0/log-0000000004")).unwrap();
    std::fs::remove_file(fx.path().join("data0/log-0000000003")).unwrap();
    let v = inspect_json(fx.path());
    let refused = v["open_refused"].as_str().expect("open would refuse");
    assert!(refused.contains("log-0000000004"), "{refused}");
    assert!(refused.contains("24 in segment 3"), "{refused}");
    assert_eq!(v["events_lost"], 24);
    assert_eq!(v["queue_depth"], 42);
    let missing = v["missing_segments"].as_array().unwrap();
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(missing[0].as_str().unwrap().contains("replay position"));
}

/// Runs `shell` (a command line) on a pseudo-terminal (util-linux `script`), in `root`; what
/// the terminal showed.
fn on_a_terminal(root: &Path, shell: &str) -> String {
    let out = std::process::Command::new("script")
        .args(["-qec", shell, "/dev/null"])
        .current_dir(root)
        .env("RUST_LOG", "error")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("util-linux `script` runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn on_a_terminal_verify_and_dump_show_progress_and_piped_they_do_not() {
    let fx = copy_fixture("sound");
    let bin = env!("CARGO_BIN_EXE_sluice");
    let args = CHANNEL.join(" ");
    let shown = on_a_terminal(fx.path(), &format!("{bin} channel verify {args}"));
    assert!(shown.contains("verify: read "), "{shown}");
    assert!(shown.contains(" MiB in "), "{shown}");
    assert!(shown.contains("events after recovery: 66"), "{shown}");
    // dump: events to a file, the progress on the terminal.
    let shown = on_a_terminal(
        fx.path(),
        &format!("{bin} channel dump {args} > dumped.json"),
    );
    assert!(shown.contains("dump: read "), "{shown}");
    let dumped = std::fs::read_to_string(fx.path().join("dumped.json")).unwrap();
    assert_eq!(dumped.lines().count(), 66);
    assert!(!dumped.contains("dump:"));
    // Piped (as every other test runs them): not a byte of progress.
    let (code, out, err) = outcome(&sluice(fx.path(), "verify", &[], b""));
    assert_eq!((code, out.as_str()), (0, ""));
    assert!(
        !err.contains("verify: read") && !err.contains('\r'),
        "{err}"
    );
}
