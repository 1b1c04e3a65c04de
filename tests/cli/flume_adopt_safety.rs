//! `sluice channel adopt` made safe by default (issue 80 item 2, issue 79 item 5): an in-place
//! adoption refuses a staging folder planted as a link and leaves the victim's files; an
//! encrypted Flume channel is not written in plaintext unless `--allow-plaintext` says so,
//! and with the new channel's keys it is sealed; a rerun after a finished adoption says
//! there is nothing to adopt.

use std::path::Path;

use super::flume_adopt::fixture;
use crate::support::cli_support::{outcome, sluice};

const FLUME: [&str; 4] = [
    "--flume-checkpoint-dir",
    "checkpoint",
    "--flume-data-dirs",
    "data",
];
const TARGET: [&str; 4] = [
    "--checkpoint-dir",
    "new/checkpoint",
    "--data-dirs",
    "new/data",
];
/// The `encrypted` fixture's keys, to read Flume's logs.
const FLUME_KEYS: [&str; 8] = [
    "--flume-keystore-file",
    "keys/keystore.jceks",
    "--flume-keystore-password-file",
    "keys/keystore.password",
    "--flume-keys",
    "key-0 key-1",
    "--flume-key-password-file",
    "key-1=keys/key-1.password",
];

fn adopt(dir: &Path, extra: &[&[&str]]) -> (i32, String, String) {
    let mut args = vec!["channel", "adopt"];
    for a in extra {
        args.extend_from_slice(a);
    }
    outcome(&sluice(dir, &args))
}

#[test]
fn an_in_place_adoption_refuses_a_staging_folder_planted_as_a_link_and_the_victims_files_stay() {
    let tmp = fixture("clean-stop");
    let victim = tmp.path().join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    for i in 0..3 {
        std::fs::write(victim.join(format!("f{i}")), b"mine").unwrap();
    }
    let link = tmp.path().join("data/.sluice-adopt");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let (code, stdout, stderr) = adopt(tmp.path(), &[&FLUME, &["--in-place"]]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(
        stderr.contains(".sluice-adopt is a symbolic link"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(&victim).unwrap().count(),
        3,
        "victim emptied"
    );
    for i in 0..3 {
        assert_eq!(
            std::fs::read(victim.join(format!("f{i}"))).unwrap(),
            b"mine"
        );
    }
    assert!(
        tmp.path().join("data/log-1").exists(),
        "Flume's files moved"
    );
}

/// Whether any file under `dir` holds `needle`.
fn any_file_holds(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|e| {
        let p = e.unwrap().path();
        p.is_file()
            && std::fs::read(&p)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
    })
}

#[test]
fn an_encrypted_flume_channel_is_not_written_in_plaintext_without_allow_plaintext() {
    let tmp = fixture("encrypted");
    let (code, stdout, stderr) = adopt(tmp.path(), &[&FLUME, &TARGET, &FLUME_KEYS]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(stderr.contains("--allow-plaintext"), "{stderr}");
    assert!(stderr.contains("encryption.activeKey"), "{stderr}");
    assert!(!tmp.path().join("new/checkpoint/adopt.done").exists());
    let (code, stdout, stderr) = adopt(
        tmp.path(),
        &[&FLUME, &TARGET, &FLUME_KEYS, &["--allow-plaintext"]],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("adopted "), "{stdout}");
    assert!(any_file_holds(
        &tmp.path().join("new/data"),
        b"pub:encrypted"
    ));
}

#[test]
fn an_encrypted_flume_channel_given_keys_for_the_new_channel_is_sealed() {
    let tmp = fixture("encrypted");
    let sets = [
        "--set",
        "encryption.activeKey=key-1",
        "--set",
        "encryption.cipherProvider=AESCTRNOPADDING",
        "--set",
        "encryption.keyProvider=JCEKSFILE",
        "--set",
        "encryption.keyProvider.keyStoreFile=keys/keystore.jceks",
        "--set",
        "encryption.keyProvider.keyStorePasswordFile=keys/keystore.password",
        "--set",
        "encryption.keyProvider.keys=key-0 key-1",
        "--set",
        "encryption.keyProvider.keys.key-1.passwordFile=keys/key-1.password",
    ];
    let (code, stdout, stderr) = adopt(tmp.path(), &[&FLUME, &TARGET, &FLUME_KEYS, &sets]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(!any_file_holds(
        &tmp.path().join("new/data"),
        b"pub:encrypted"
    ));
}

#[test]
fn a_rerun_after_a_finished_adoption_says_there_is_nothing_to_adopt() {
    let tmp = fixture("clean-stop");
    let (code, stdout, stderr) = adopt(tmp.path(), &[&FLUME, &TARGET]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, stderr) = adopt(tmp.path(), &[&FLUME, &TARGET]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("nothing to adopt"), "{stdout}");
    assert!(!stdout.contains("finished an interrupted"), "{stdout}");
}
