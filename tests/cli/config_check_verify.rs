//! `sluice config check --verify-channels` on the real binary: a channel not created yet has
//! nothing to verify (0), the sound fixture is sound (0), a flipped bit is found (1, with the
//! problem printed as `channel verify` prints it), a channel an agent holds is refused (3)
//! and no byte of any channel changes.

use crate::support::tools_support;

use std::path::Path;
use std::process::Command;

use sluice_core::{FileChannel, FileChannelConfig};
use tools_support::{copy_fixture, outcome, snapshot};

/// A file channel `c1` on `root`'s fixture directories, a seq source and a null sink.
fn conf(root: &Path) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = seq\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {r}/checkpoint\n\
         a1.channels.c1.dataDirs = {r}/data0\na1.channels.c1.useDualCheckpoints = true\n\
         a1.channels.c1.backupCheckpointDir = {r}/backup\n\
         a1.channels.c1.minimumRequiredSpace = 1048576\na1.channels.c1.directIo = false\n\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n",
        r = root.display()
    )
}

fn check(root: &Path, verify: bool) -> (i32, String, String) {
    let path = root.join("a1.properties");
    std::fs::write(&path, conf(root)).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(["config", "check", "-n", "a1", "-f"]).arg(&path);
    if verify {
        cmd.arg("--verify-channels");
    }
    let out = cmd.env("RUST_LOG", "error").output().unwrap();
    std::fs::remove_file(&path).unwrap();
    outcome(&out)
}

#[test]
fn a_channel_not_created_yet_has_nothing_to_verify() {
    let d = tempfile::tempdir().unwrap();
    let (code, out, err) = check(d.path(), true);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("channel c1: not created yet"), "{out}");
    assert!(!d.path().join("checkpoint").exists(), "nothing is created");
}

#[test]
fn the_sound_fixture_is_sound_and_unchanged() {
    let fx = copy_fixture("sound");
    let before = snapshot(fx.path());
    let (code, out, err) = check(fx.path(), true);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("channel c1: sound"), "{out}");
    assert_eq!(snapshot(fx.path()), before);
}

#[test]
fn a_flipped_bit_fails_the_check_only_with_verify_channels() {
    let fx = copy_fixture("flipped_bit");
    let before = snapshot(fx.path());
    let (code, out, _) = check(fx.path(), false);
    assert_eq!(code, 0, "without the flag the file alone is checked: {out}");
    let (code, out, err) = check(fx.path(), true);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("channel c1: NOT SOUND"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("channel c1: ") && l.contains("log-0000000002")),
        "the damaged segment is named: {out}"
    );
    assert_eq!(snapshot(fx.path()), before);
}

#[test]
fn a_channel_held_open_is_refused() {
    let fx = copy_fixture("sound");
    let mut config =
        FileChannelConfig::with_dirs(fx.path().join("checkpoint"), vec![fx.path().join("data0")]);
    config.minimum_required_space_bytes = 1 << 20;
    let channel = FileChannel::open(config).unwrap();
    let (code, out, err) = check(fx.path(), true);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        err.contains("channel c1: cannot verify") && err.contains("in use"),
        "{err}"
    );
    channel.close().unwrap();
}
