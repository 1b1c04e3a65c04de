//! Keys an operator can get right from the errors (issue 79 items 6 and 7), on the
//! `encrypted` fixture (Flume's keytool recipe: key-1 has its own password): a wrong key or
//! store password names the password file to set (the flag, in the tools), `config check`
//! unwraps every key and fails on a wrong password, `keys` lists take commas, the tools read
//! the channel from the agent's file (`-f/-n/-c`), and `adopt --dry-run` refuses a target
//! too small, writing nothing.

use std::path::Path;

use super::flume_adopt::fixture;
use crate::support::cli_support::{outcome, sluice};

const FLUME: [&str; 4] = [
    "--flume-checkpoint-dir",
    "checkpoint",
    "--flume-data-dirs",
    "data",
];
const FROM_FILE: [&str; 6] = ["-f", "flume.conf", "-n", "a1", "-c", "c1"];

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    outcome(&sluice(dir, args))
}

/// `flume.conf` of the fixture with `from` replaced by `to`, written as `name`.
fn conf_with(dir: &Path, name: &str, from: &str, to: &str) {
    let text = std::fs::read_to_string(dir.join("flume.conf")).unwrap();
    assert!(text.contains(from), "flume.conf has no {from:?}");
    std::fs::write(dir.join(name), text.replace(from, to)).unwrap();
}

#[test]
fn a_key_with_its_own_password_not_given_names_the_flag_to_pass() {
    let tmp = fixture("encrypted");
    let keys = [
        "--flume-keystore-file",
        "keys/keystore.jceks",
        "--flume-keystore-password-file",
        "keys/keystore.password",
        "--flume-keys",
        "key-0,key-1",
    ];
    let mut args = vec!["channel", "adopt", "--dry-run"];
    args.extend_from_slice(&FLUME);
    args.extend_from_slice(&keys);
    let (code, stdout, stderr) = run(tmp.path(), &args);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(
        stderr.contains("wrong password for key \"key-1\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("--flume-key-password-file key-1=FILE"),
        "{stderr}"
    );
    assert!(!stderr.contains("encryption.keyProvider"), "{stderr}");
}

#[test]
fn a_wrong_store_password_names_the_store_password_flag_and_file() {
    let tmp = fixture("encrypted");
    std::fs::write(tmp.path().join("wrong.password"), "not-it\n").unwrap();
    let mut args = vec!["channel", "adopt", "--dry-run"];
    args.extend_from_slice(&FLUME);
    args.extend_from_slice(&[
        "--flume-keystore-file",
        "keys/keystore.jceks",
        "--flume-keystore-password-file",
        "wrong.password",
        "--flume-keys",
        "key-0 key-1",
    ]);
    let (code, stdout, stderr) = run(tmp.path(), &args);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(stderr.contains("wrong store password"), "{stderr}");
    assert!(
        stderr.contains("read from wrong.password, --flume-keystore-password-file"),
        "{stderr}"
    );
}

#[test]
fn config_check_fails_on_a_wrong_key_password_naming_the_key_and_passes_with_the_right_one() {
    let tmp = fixture("encrypted");
    std::fs::write(tmp.path().join("wrong.password"), "not-it\n").unwrap();
    conf_with(
        tmp.path(),
        "bad.conf",
        "keys.key-1.passwordFile = keys/key-1.password",
        "keys.key-1.passwordFile = wrong.password",
    );
    let (code, stdout, stderr) = run(
        tmp.path(),
        &["config", "check", "-f", "bad.conf", "-n", "a1"],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("a1.channels.c1.encryption.keyProvider.keys.key-1.passwordFile: keystore keys/keystore.jceks: wrong password for key \"key-1\" (read from wrong.password"),
        "{stdout}"
    );
    let (code, stdout, stderr) = run(
        tmp.path(),
        &["config", "check", "-f", "flume.conf", "-n", "a1"],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("2 key(s) unwrapped"), "{stdout}");
}

#[test]
fn config_check_without_the_keys_own_password_file_names_the_key_to_set() {
    let tmp = fixture("encrypted");
    conf_with(
        tmp.path(),
        "nopw.conf",
        "a1.channels.c1.encryption.keyProvider.keys.key-1.passwordFile = keys/key-1.password",
        "",
    );
    let (code, stdout, stderr) = run(
        tmp.path(),
        &["config", "check", "-f", "nopw.conf", "-n", "a1"],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("needs encryption.keyProvider.keys.key-1.passwordFile naming a file"),
        "{stdout}"
    );
}

#[test]
fn a_keys_list_with_commas_is_read_as_flumes_spaces() {
    let tmp = fixture("encrypted");
    for (i, list) in ["key-0,key-1", "key-0, key-1"].iter().enumerate() {
        let name = format!("commas{i}.conf");
        conf_with(
            tmp.path(),
            &name,
            "keyProvider.keys = key-0 key-1",
            &format!("keyProvider.keys = {list}"),
        );
        let (code, stdout, stderr) = run(tmp.path(), &["config", "check", "-f", &name, "-n", "a1"]);
        assert_eq!(code, 0, "{list}: {stdout}{stderr}");
        assert!(stdout.contains("2 key(s) unwrapped"), "{stdout}");
    }
}

#[test]
fn the_adopt_and_verify_tools_read_the_channel_and_its_keys_from_the_agents_file() {
    let tmp = fixture("encrypted");
    let mut args = vec!["channel", "adopt", "--dry-run"];
    args.extend_from_slice(&FROM_FILE);
    let (code, stdout, stderr) = run(tmp.path(), &args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("events: 2982 "), "{stdout}");
    let mut args = vec!["channel", "verify", "--flume"];
    args.extend_from_slice(&FROM_FILE);
    let (code, stdout, stderr) = run(tmp.path(), &args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("events: 2982 "), "{stdout}");
}

#[test]
fn a_dry_run_into_a_channel_too_small_is_refused_and_writes_nothing() {
    let tmp = fixture("encrypted");
    let before = std::fs::read_dir(tmp.path().join("checkpoint"))
        .unwrap()
        .count();
    let mut args = vec!["channel", "adopt", "--dry-run"];
    args.extend_from_slice(&FROM_FILE);
    args.extend_from_slice(&[
        "--checkpoint-dir",
        "new/checkpoint",
        "--data-dirs",
        "new/data",
        "--set",
        "capacity=2000",
        "--set",
        "transactionCapacity=100",
    ]);
    let (code, stdout, stderr) = run(tmp.path(), &args);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "refused: Flume's channel holds 2982 events, more than the new channel's capacity 2000"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("--set capacity=2982"), "{stdout}");
    assert!(!tmp.path().join("new").exists());
    let after = std::fs::read_dir(tmp.path().join("checkpoint"))
        .unwrap()
        .count();
    assert_eq!(
        before, after,
        "the dry run wrote into Flume's checkpoint dir"
    );
    assert!(!tmp.path().join("checkpoint/adopt.state").exists());
}
