//! One directory, any spelling: the README's channel written by the agent under one spelling of
//! its data directory (`data/data`, `./data/data`, the absolute path) opens sound under every
//! other, in the agent and in every channel tool; and a checkpoint written before checkpoints
//! stored canonical paths (the fixtures store `data0`) opens under other spellings too.
//! Real binary.

use crate::support::cli_support;
use crate::support::tools_support;

use std::path::Path;

use cli_support::{free_port, outcome, start_agent};

fn channel(root: &Path, tool: &str, data: &str, extra: &[&str], stdin: &[u8]) -> (i32, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(root)
        .args(["channel", tool, "--checkpoint-dir", "data/checkpoint"])
        .args(["--data-dirs", data])
        .args(extra)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let (code, out, err) = outcome(&child.wait_with_output().unwrap());
    (code, format!("{out}{err}"))
}

#[test]
fn the_readme_channel_opens_under_every_spelling_in_the_agent_and_every_tool() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let abs = d.join("data/data").to_string_lossy().into_owned();
    let spellings = ["data/data", "./data/data", abs.as_str()];
    let readme = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/netcat-file-roll.properties"),
    )
    .unwrap()
    .replace("bind = localhost", "bind = 127.0.0.1");
    for (round, agent_spelling) in spellings.iter().enumerate() {
        let port = free_port();
        let conf = readme
            .replace("port = 44444", &format!("port = {port}"))
            .replace(
                "dataDirs = ./data/data",
                &format!("dataDirs = {agent_spelling}"),
            );
        std::fs::write(d.join("a1.properties"), conf).unwrap();
        let mut a = start_agent(d, "a1.properties", &[], &format!("agent{round}.log"));
        let log = a.log.clone();
        a.wait_file(&log, "agent started");
        let text = a.log_text();
        assert!(!text.contains("replay"), "{agent_spelling}: {text}");
        assert_eq!(a.terminate(), Some(0));
        for (i, spelling) in spellings.iter().enumerate() {
            let what = format!("agent {agent_spelling}, tool {spelling}");
            let (code, out) = channel(d, "verify", spelling, &[], b"");
            assert_eq!(code, 0, "{what}: {out}");
            assert!(out.ends_with("sound\n"), "{what}: {out}");
            let (code, out) = channel(d, "put", spelling, &[], format!("x{i}\n").as_bytes());
            assert_eq!(code, 0, "{what}: {out}");
            let (code, out) = channel(d, "inspect", spelling, &[], b"");
            assert_eq!(code, 0, "{what}: {out}");
            assert!(
                out.starts_with("recovered from: checkpoint\n"),
                "{what}: {out}"
            );
            assert!(out.contains("queue depth: 1\n"), "{what}: {out}");
            let (code, out) = channel(d, "dump", spelling, &[], b"");
            assert_eq!(code, 0, "{what}: {out}");
            let out_dir = format!("saved{round}{i}");
            let salvage = [
                "--output-checkpoint-dir",
                &format!("{out_dir}/c"),
                "--output-data-dirs",
                &format!("{out_dir}/d"),
            ];
            let (code, out) = channel(d, "salvage", spelling, &salvage, b"");
            assert_eq!(code, 0, "{what}: {out}");
            let (code, out) = channel(d, "take", spelling, &[], b"");
            assert_eq!(
                (code, out.as_str()),
                (0, format!("x{i}\n").as_str()),
                "{what}"
            );
        }
    }
}

#[test]
fn a_checkpoint_that_stored_a_relative_spelling_opens_under_other_spellings_and_working_dirs() {
    let fx = tools_support::copy_fixture("sound");
    let root = fx.path();
    let abs = |p: &str| root.join(p).to_string_lossy().into_owned();
    // (working directory, checkpoint dir, backup dir, data dir); the checkpoint stores `data0`.
    let elsewhere = std::env::temp_dir();
    let cases = [
        (
            root,
            "checkpoint".to_owned(),
            "backup".to_owned(),
            "data0".to_owned(),
        ),
        (
            root,
            "./checkpoint".into(),
            "backup".into(),
            "./data0".into(),
        ),
        (root, "checkpoint".into(), "backup".into(), abs("data0")),
        (
            elsewhere.as_path(),
            abs("checkpoint"),
            abs("backup"),
            abs("data0"),
        ),
    ];
    for (cwd, ckpt, backup, data) in &cases {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .current_dir(cwd)
            .args([
                "channel",
                "verify",
                "--checkpoint-dir",
                ckpt,
                "--data-dirs",
                data,
            ])
            .args(["--set", "useDualCheckpoints=true", "--set"])
            .arg(format!("backupCheckpointDir={backup}"))
            .output()
            .unwrap();
        let (code, out, err) = outcome(&out);
        assert_eq!(code, 0, "{cwd:?} {data}: {out}{err}");
        assert!(err.ends_with("sound\n"), "{cwd:?} {data}: {err}");
    }
}

#[test]
fn a_channel_put_under_a_relative_spelling_verifies_from_another_working_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out) = channel(tmp.path(), "put", "./data/data", &[], b"");
    assert_eq!(code, 0, "{out}");
    let abs = |p: &str| tmp.path().join(p).to_string_lossy().into_owned();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(std::env::temp_dir())
        .args([
            "channel",
            "verify",
            "--checkpoint-dir",
            &abs("data/checkpoint"),
        ])
        .args(["--data-dirs", &abs("data/data")])
        .output()
        .unwrap();
    let (code, out, err) = outcome(&out);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.ends_with("sound\n"), "{err}");
}

#[test]
fn a_channel_moved_under_another_path_finds_its_positions_by_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old");
    std::fs::create_dir_all(&old).unwrap();
    let (code, out) = channel(&old, "put", "data/data", &[], b"a\nb\n");
    assert_eq!(code, 0, "{out}");
    // The checkpoint stored `data/data`; from another working directory that spelling names
    // nothing, and the absolute path of the new place differs from every stored one.
    let new = tmp.path().join("elsewhere/new");
    std::fs::create_dir_all(new.parent().unwrap()).unwrap();
    std::fs::rename(&old, &new).unwrap();
    let data = new.join("data/data").to_string_lossy().into_owned();
    let ckpt = new.join("data/checkpoint").to_string_lossy().into_owned();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(tmp.path())
        .args([
            "channel",
            "verify",
            "--checkpoint-dir",
            &ckpt,
            "--data-dirs",
            &data,
        ])
        .output()
        .unwrap();
    let (code, out, err) = outcome(&out);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.ends_with("sound\n"), "{out}{err}");
}
