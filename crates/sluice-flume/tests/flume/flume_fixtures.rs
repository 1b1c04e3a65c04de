//! Flume's own file channels (`shared/reference/flume-channel/`, written by a real Flume
//! 1.11 and drained by it for the truth): the reader's queue is the truth, event for event,
//! body and headers, in Flume's order, for every fixture and variant.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "copies Flume's fixtures from the shared folder and checks its files on the real disk"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sluice_core::io::StdFs;
use sluice_core::keys::KeyFiles;
use sluice_flume::{load_keys, CheckpointUsed, FlumeChannel, FlumeDirs, FlumeKeys};

/// The fixtures folder (`SLUICE_SHARED`, else `shared/` beside the repository or a parent).
pub fn fixtures() -> PathBuf {
    if let Some(s) = std::env::var_os("SLUICE_SHARED") {
        return PathBuf::from(s).join("reference/flume-channel");
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/reference/flume-channel"))
        .find(|p| p.join("manifest.json").is_file())
        .expect("no shared/reference/flume-channel beside the repository (set SLUICE_SHARED)")
}

/// Copies `from` into `to`, recursively.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// A fixture copied into a temporary directory (the checkpoint directory made if git
/// dropped it empty).
pub fn copy_fixture(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join(name), tmp.path());
    std::fs::create_dir_all(tmp.path().join("checkpoint")).unwrap();
    tmp
}

/// The fixture's directories, as its `flume.conf` names them.
pub fn dirs_of(root: &Path) -> FlumeDirs {
    let conf = std::fs::read_to_string(root.join("flume.conf")).unwrap();
    let key = |k: &str| {
        conf.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(a, _)| a.trim().ends_with(&format!("channels.c1.{k}")))
            .map(|(_, v)| v.trim().to_string())
    };
    FlumeDirs {
        checkpoint_dir: root.join(key("checkpointDir").unwrap()),
        backup_checkpoint_dir: key("backupCheckpointDir").map(|d| root.join(d)),
        data_dirs: key("dataDirs")
            .unwrap()
            .split(',')
            .map(|d| root.join(d.trim()))
            .collect(),
    }
}

/// The truth: each event's body and headers (parsed from Java's `Map.toString`).
pub fn truth(dir: &Path) -> Vec<(String, BTreeMap<String, String>)> {
    let bodies = std::fs::read_to_string(dir.join("truth.txt")).unwrap();
    let headers = std::fs::read_to_string(dir.join("truth-headers.txt")).unwrap();
    bodies
        .lines()
        .zip(headers.lines())
        .map(|(b, h)| {
            let inner = h.trim_start_matches('{').trim_end_matches('}');
            let map = inner
                .split(", ")
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            (b.to_string(), map)
        })
        .collect()
}

/// The events the reader gives, as the truth is written.
fn read_all(ch: &FlumeChannel) -> Vec<(String, BTreeMap<String, String>)> {
    ch.queue
        .iter()
        .map(|p| {
            let e = ch.read_event(*p).unwrap();
            let body = String::from_utf8(e.body.to_vec()).unwrap();
            (body, e.headers.to_map())
        })
        .collect()
}

/// The keys of the `encrypted` fixture, loaded as its `flume.conf` names them.
pub fn fixture_keys(root: &Path) -> FlumeKeys {
    let k = root.join("keys");
    let files = KeyFiles {
        keystore_file: k.join("keystore.jceks"),
        store_password_file: k.join("keystore.password"),
        keys: vec![
            ("key-0".into(), None),
            ("key-1".into(), Some(k.join("key-1.password"))),
        ],
    };
    load_keys(&StdFs, &files).unwrap().0
}

fn check(fixture: &str, truth_dir: &str, change: impl FnOnce(&Path)) -> FlumeChannel {
    let tmp = copy_fixture(fixture);
    change(tmp.path());
    let keys = if fixture == "encrypted" {
        fixture_keys(tmp.path())
    } else {
        FlumeKeys::new()
    };
    let ch = FlumeChannel::open(&StdFs, &dirs_of(tmp.path()), &keys).unwrap();
    let want = truth(&fixtures().join(truth_dir));
    let got = read_all(&ch);
    assert_eq!(got.len(), want.len(), "{fixture}: events");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "{fixture}: event {i}");
    }
    ch
}

/// Sets the complete marker (long 4) of a checkpoint file to 1, as a crash mid-checkpoint.
fn mark_incomplete(file: &Path) {
    let mut b = std::fs::read(file).unwrap();
    b[32..40].copy_from_slice(&1i64.to_be_bytes());
    std::fs::write(file, b).unwrap();
}

#[test]
fn a_cleanly_stopped_flume_channel_reads_as_flume_delivered_it() {
    let ch = check("clean-stop", "clean-stop", |_| {});
    assert_eq!(ch.report.checkpoint, CheckpointUsed::Primary);
    assert_eq!(ch.report.counts.skipped, ch.report.counts.read);
}

#[test]
fn a_flume_killed_mid_stream_returns_its_inflight_takes_and_commits_its_open_puts() {
    let ch = check("kill9-midstream", "kill9-midstream", |_| {});
    // 42 pointers in 2 transactions were in flight; one committed after the checkpoint.
    assert_eq!(ch.report.counts.inflight_takes_returned, 40);
}

#[test]
fn two_data_dirs_merge_in_write_order() {
    check("two-datadirs", "two-datadirs", |_| {});
}

#[test]
fn without_a_checkpoint_the_queue_is_rebuilt_from_the_logs() {
    let ch = check("no-checkpoint", "no-checkpoint", |_| {});
    assert!(matches!(ch.report.checkpoint, CheckpointUsed::None(_)));
}

#[test]
fn an_incomplete_checkpoint_is_refused_and_the_logs_replayed_whole() {
    let ch = check(
        "kill9-midstream",
        "variants/incomplete-checkpoint",
        |root| mark_incomplete(&root.join("checkpoint/checkpoint")),
    );
    match &ch.report.checkpoint {
        CheckpointUsed::None(why) => assert!(why.contains("incomplete"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn dual_checkpoints_read_the_primary_and_the_backup_when_the_primary_is_bad() {
    let ch = check("dual-checkpoint", "dual-checkpoint", |_| {});
    assert_eq!(ch.report.checkpoint, CheckpointUsed::Primary);
    let ch = check(
        "dual-checkpoint",
        "variants/dual-checkpoint-bad-primary",
        |root| mark_incomplete(&root.join("checkpoint/checkpoint")),
    );
    assert!(matches!(ch.report.checkpoint, CheckpointUsed::Backup(_)));
}

#[test]
fn an_encrypted_channel_without_its_keys_is_refused_naming_the_alias() {
    let tmp = copy_fixture("encrypted");
    let err = FlumeChannel::open(&StdFs, &dirs_of(tmp.path()), &FlumeKeys::new()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("key-0") || text.contains("key-1"), "{text}");
}

#[test]
fn an_encrypted_channel_reads_with_the_keys_its_jceks_keystore_holds() {
    let ch = check("encrypted", "encrypted", |_| {});
    let aliases: Vec<_> = ch.report.files.iter().filter_map(|f| f.2.clone()).collect();
    assert_eq!(aliases, vec!["key-0".to_string(), "key-1".to_string()]);
}

#[test]
fn an_encrypted_channel_with_a_wrong_key_never_yields_altered_events() {
    let tmp = copy_fixture("encrypted");
    let mut keys = fixture_keys(tmp.path());
    let k0 = keys.get("key-1").unwrap().clone();
    keys.insert("key-0".into(), k0);
    // key-0 is 16 bytes; key-1 32: the wrong key deciphers garbage, which never decodes
    // into the truth's events.
    let want = truth(&fixtures().join("encrypted"));
    match FlumeChannel::open(&StdFs, &dirs_of(tmp.path()), &keys) {
        Err(_) => {}
        Ok(ch) => {
            let got: Vec<_> = ch
                .queue
                .iter()
                .filter_map(|p| ch.read_event(*p).ok())
                .collect();
            assert!(got.len() < want.len());
            for e in got {
                let body = String::from_utf8(e.body.to_vec()).unwrap();
                assert!(want.iter().any(|(b, _)| *b == body), "{body:?}");
            }
        }
    }
}
