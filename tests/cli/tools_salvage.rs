//! `sluice channel salvage` run as the real binary: every readable committed event is copied
//! in commit order into a new channel that verifies sound, the loss is reported with its
//! place, the source is never changed, and unsafe outputs are refused.

use crate::support::tools_support;

use std::ops::Range;
use std::path::Path;

use tools_support::*;

const OUT: [&str; 4] = [
    "--output-checkpoint-dir",
    "out/checkpoint",
    "--output-data-dirs",
    "out/data0,out/data1",
];

/// The bodies of the salvaged channel, read back through `sluice channel dump`.
fn output_bodies(root: &Path) -> Vec<Vec<u8>> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(root)
        .args(["channel", "take", "--checkpoint-dir", "out/checkpoint"])
        .args(["--data-dirs", "out/data0,out/data1"])
        .args(["--set", "minimumRequiredSpace=1048576"])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn verify_output(root: &Path) -> i32 {
    std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(root)
        .args(["channel", "verify", "--checkpoint-dir", "out/checkpoint"])
        .args(["--data-dirs", "out/data0,out/data1"])
        .output()
        .unwrap()
        .status
        .code()
        .unwrap_or(-1)
}

fn expected(lost: &Range<usize>) -> Vec<Vec<u8>> {
    bodies()
        .into_iter()
        .enumerate()
        .skip(TAKEN)
        .filter(|(i, _)| !lost.contains(i))
        .map(|(_, b)| b)
        .collect()
}

/// A fixture, the report lines before the summary, events kept and lost, and the indices
/// (into `bodies()`) of the bodies lost.
type Case = (&'static str, Vec<String>, usize, usize, Range<usize>);

#[test]
fn salvage_keeps_every_readable_event_in_order_and_reports_the_loss() {
    let crc = "stored 0xe3f61857, computed 0x83168fd5";
    let cases: Vec<Case> = vec![
        ("sound", vec![], 66, 0, 0..0),
        (
            "torn_tail",
            vec!["data0/log-0000000004:332: torn tail of 30 bytes (record truncated: 45 bytes needed, 30 available)".into()],
            66,
            0,
            0..0,
        ),
        (
            "flipped_bit",
            vec![format!("data0/log-0000000002:122: queued event seq 33 lost: record checksum mismatch: {crc}")],
            65,
            1,
            26..27,
        ),
        (
            "missing_segment",
            vec!["24 queued events lost: segment 2 is missing".into()],
            42,
            24,
            24..48,
        ),
        (
            "corrupt_checkpoint",
            vec![format!(
                "checkpoint not used: checkpoint/checkpoint: {}",
                checkpoint_crc_problem(&fixture_dir("corrupt_checkpoint").join("checkpoint/checkpoint"))
            )],
            66,
            0,
            0..0,
        ),
        ("corrupt_backup", vec![], 66, 0, 0..0),
    ];
    for (name, report, kept, lost, lost_bodies) in cases {
        let fx = copy_fixture(name);
        let before = snapshot(fx.path());
        let (code, out, err) = outcome(&sluice(fx.path(), "salvage", &OUT, b""));
        assert_eq!(code, 0, "{name}: {err}");
        let mut want = report;
        want.push(format!(
            "salvaged {kept} events into out/checkpoint (out/data0,out/data1)"
        ));
        let (unreadable, missing) = if name == "missing_segment" {
            (0, lost)
        } else {
            (lost, 0)
        };
        want.push(format!(
            "lost {lost} committed events: {unreadable} unreadable, {missing} in missing segments, 0 counted by commits whose puts were damaged"
        ));
        assert_eq!(out.lines().collect::<Vec<_>>(), want, "{name}");
        let mut after = snapshot(fx.path());
        after.retain(|p, _| !p.starts_with("out"));
        assert_eq!(after, before, "{name}: the source changed");
        assert!(!fx.path().join("out/checkpoint/SALVAGE_INCOMPLETE").exists());
        assert_eq!(verify_output(fx.path()), 0, "{name}: output not sound");
        assert_eq!(output_bodies(fx.path()), expected(&lost_bodies), "{name}");
    }
}

#[test]
fn salvage_refuses_an_output_that_is_not_empty_and_changes_nothing() {
    let fx = copy_fixture("flipped_bit");
    std::fs::create_dir_all(fx.path().join("out/data0")).unwrap();
    std::fs::write(fx.path().join("out/data0/keep"), b"x").unwrap();
    let before = snapshot(fx.path());
    let (code, out, err) = outcome(&sluice(fx.path(), "salvage", &OUT, b""));
    assert_eq!(code, 3);
    assert_eq!(out, "");
    assert!(
        err.contains("output directory out/data0 is not empty"),
        "{err}"
    );
    assert_eq!(snapshot(fx.path()), before);
}

#[test]
fn salvage_refuses_to_write_into_the_channel_it_salvages() {
    let fx = copy_fixture("sound");
    let before = snapshot(fx.path());
    let args = [
        "--output-checkpoint-dir",
        "fresh",
        "--output-data-dirs",
        "data0",
    ];
    let (code, _, err) = outcome(&sluice(fx.path(), "salvage", &args, b""));
    assert_eq!(code, 3);
    assert!(
        err.contains("data0 is a directory of the channel being salvaged"),
        "{err}"
    );
    assert_eq!(snapshot(fx.path()), before);
}

#[test]
fn a_salvage_killed_at_any_moment_leaves_the_source_intact_and_its_output_recognisable() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let events = 40_000;
    let lines: String = (0..events).map(|i| format!("line-{i:06}\n")).collect();
    let (code, _, err) = outcome(&sluice(root, "put", &["--batch", "1000"], lines.as_bytes()));
    assert_eq!(code, 0, "{err}");
    let before = snapshot(root);
    let mut seen = [0usize; 3]; // nothing written, marked incomplete, complete
    for (i, delay_ms) in [0u64, 5, 20, 60, 150, 400, 1500].into_iter().enumerate() {
        let out = root.join(format!("out{i}"));
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .current_dir(root)
            .args(["channel", "salvage"])
            .args(CHANNEL)
            .arg("--output-checkpoint-dir")
            .arg(out.join("c"))
            .arg("--output-data-dirs")
            .arg(out.join("d"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        child.wait().unwrap();

        let mut now = snapshot(root);
        now.retain(|p, _| !p.to_string_lossy().starts_with("out"));
        assert!(now == before, "kill after {delay_ms} ms changed the source");
        if out.join("c").join("SALVAGE_INCOMPLETE").exists() {
            seen[1] += 1;
        } else if !out.join("c/checkpoint").exists() {
            assert!(!out.join("d").exists(), "an unmarked partial output");
            seen[0] += 1;
        } else {
            let args = ["--checkpoint-dir", "c", "--data-dirs", "d", "--json"];
            let o = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
                .current_dir(&out)
                .args(["channel", "inspect"])
                .args(args)
                .output()
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(v["queue_depth"], events, "an unmarked output lacks events");
            seen[2] += 1;
        }
    }
    eprintln!("kill outcomes (nothing, marked, complete): {seen:?}");
    assert_eq!(seen.iter().sum::<usize>(), 7, "{seen:?}");
}
