//! A Flume user's encrypted file channel, its configuration unchanged, with a JCEKS keystore
//! made by the JDK's `keytool` (issue 65): events flow through the real binary and no byte of
//! them is on disk in the clear; the active key rotates across a restart and every event
//! arrives once; a key still needed cannot be dropped; the tools and the crashtest (SIGKILL
//! and power loss) take the same keys.
//!
//! This file holds the keystore and the agent's run with its key rotation; `crashtest.rs` the
//! crashtest on sealed segments; `pkcs12.rs` a PKCS12 keystore.

mod crashtest;
mod pkcs12;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::agent_proc::{metrics, HttpAgent, Proc};
use crate::support::cli_support::{free_port, sluice};
use crate::support::lines_support::{duplicates, wait_for_all};

const MARKER: &str = "CARD-4111";

fn keytool(dir: &Path, alias: &str, bits: &str, key_pw: &str) {
    let out = Command::new("keytool")
        .current_dir(dir)
        .args([
            "-genseckey",
            "-alias",
            alias,
            "-keyalg",
            "AES",
            "-keysize",
            bits,
        ])
        .args(["-storetype", "jceks", "-keystore", "keys/keystore.jceks"])
        .args(["-storepass", "store-secret", "-keypass", key_pw])
        .output()
        .expect("run keytool (the JDK is installed by .ci/install-test-deps.sh)");
    assert!(
        out.status.success(),
        "keytool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn secret(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    let mut p = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut p, 0o600);
    std::fs::set_permissions(path, p).unwrap();
}

/// A keystore with key-0 (AES-256, the store password) and key-1 (AES-128, its own).
fn keys(dir: &Path) {
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    keytool(dir, "key-0", "256", "store-secret");
    keytool(dir, "key-1", "128", "key1-secret");
    secret(&dir.join("keys/keystore.password"), "store-secret\n");
    secret(&dir.join("keys/key-1.password"), "key1-secret\n");
}

/// Flume's encryption keys, as a Flume user writes them (relative to `base`, if given).
fn encryption(active: &str, keys: &str, base: &str) -> Vec<(String, String)> {
    [
        ("encryption.activeKey", active.to_owned()),
        ("encryption.cipherProvider", "AESCTRNOPADDING".to_owned()),
        ("encryption.keyProvider", "JCEKSFILE".to_owned()),
        (
            "encryption.keyProvider.keyStoreFile",
            format!("{base}keys/keystore.jceks"),
        ),
        (
            "encryption.keyProvider.keyStorePasswordFile",
            format!("{base}keys/keystore.password"),
        ),
        ("encryption.keyProvider.keys", keys.to_owned()),
        (
            "encryption.keyProvider.keys.key-1.passwordFile",
            format!("{base}keys/key-1.password"),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn conf(active: &str) -> String {
    let mut c = String::from(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = spooldir\na1.sources.r1.spoolDir = spool\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = ckpt\n\
         a1.channels.c1.dataDirs = data\na1.channels.c1.maxFileSize = 1048576\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = out\na1.sinks.k1.sink.rollInterval = 0\n",
    );
    for (k, v) in encryption(active, "key-0 key-1", "") {
        c.push_str(&format!("a1.channels.c1.{k} = {v}\n"));
    }
    c
}

fn lines(tag: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{MARKER}-{tag}-{i:05} holder=J.Doe exp=12/29"))
        .collect()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn assert_no_plaintext(dir: &Path) {
    for sub in ["ckpt", "data"] {
        for f in files(&dir.join(sub)) {
            let b = std::fs::read(&f).unwrap();
            assert!(
                !b.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
                "{} holds an event in the clear",
                f.display()
            );
        }
    }
}

fn tool_args(dir: &Path, active: &str, keys: &str) -> Vec<String> {
    let mut a = vec![
        "--checkpoint-dir".to_owned(),
        dir.join("ckpt").display().to_string(),
        "--data-dirs".to_owned(),
        dir.join("data").display().to_string(),
    ];
    for (k, v) in encryption(active, keys, &format!("{}/", dir.display())) {
        a.push("--set".into());
        a.push(format!("{k}={v}"));
    }
    a
}

/// Runs `sluice ARGS` in `dir` with `stdin` written to it.
fn with_stdin(dir: &Path, args: &[String], stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(dir)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut input, stdin.as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn verify(dir: &Path, active: &str, keys: &str) -> (bool, String) {
    let mut args = vec!["channel".to_owned(), "verify".to_owned()];
    args.extend(tool_args(dir, active, keys));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = sluice(dir, &argv);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_flume_encryption_config_runs_unchanged_and_rotates_its_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    keys(dir);
    std::fs::create_dir_all(dir.join("spool")).unwrap();
    let first = lines("k0", 3_000);
    std::fs::write(dir.join("spool/a.log"), first.join("\n") + "\n").unwrap();
    let mut agent = Proc::builder(dir)
        .conf_text(&conf("key-0"))
        .cwd(dir)
        .arg("--no-reload-conf")
        .spawn();
    let outs = [dir.join("out")];
    wait_for_all(&outs, &first, Duration::from_secs(60), || agent.log_text());
    let log = agent.log_text();
    assert!(
        log.contains("AES-256-GCM") && log.contains("key-0"),
        "{log}"
    );
    agent.stop();
    assert_no_plaintext(dir);

    key0_is_needed_while_a_segment_holds_it(dir);
    rotate_to_key1(dir, first);
    the_tools_take_the_same_keys(dir);
    // A wrong store password: one line naming the keystore.
    secret(&dir.join("keys/keystore.password"), "not-it\n");
    let (ok, err) = verify(dir, "key-1", "key-0 key-1");
    assert!(!ok && err.contains("keystore.jceks"), "{err}");
}

/// The newest segment is sealed with key-0: dropping key-0 while it remains is refused,
/// naming the alias; with both keys every tag checks out.
fn key0_is_needed_while_a_segment_holds_it(dir: &Path) {
    let (ok, err) = verify(dir, "key-1", "key-1");
    assert!(!ok && err.contains("\"key-0\""), "{err}");
    let (ok, err) = verify(dir, "key-0", "key-0 key-1");
    assert!(
        ok && err.contains("sealed segments by key") && err.contains("key-0="),
        "{err}"
    );
}

/// Rotate: key-1 active, key-0 kept for the old segments; every event once, and the metrics
/// show which keys still seal segments.
fn rotate_to_key1(dir: &Path, first: Vec<String>) {
    let outs = [dir.join("out")];
    std::fs::write(dir.join("agent.properties"), conf("key-1")).unwrap();
    let second = lines("k1", 3_000);
    let http = free_port();
    let mut agent = Proc::builder(dir)
        .conf_text(&conf("key-1"))
        .cwd(dir)
        .arg("--no-reload-conf")
        .args(HttpAgent::monitoring_args(http))
        .spawn();
    std::fs::write(dir.join("spool/b.log"), second.join("\n") + "\n").unwrap();
    let all = [first, second].concat();
    let got = wait_for_all(&outs, &all, Duration::from_secs(60), || agent.log_text());
    assert_eq!(duplicates(&got), 0, "every event once");
    // Which keys still seal segments, as the metrics show it.
    let m = &metrics(http)["CHANNEL.c1"];
    let sealed: u64 = m["SealedSegmentCount"]
        .as_str()
        .unwrap_or("0")
        .parse()
        .unwrap();
    let by = m["SegmentsByKey"].as_str().unwrap_or_default();
    let oldest = m["OldestKeyInUse"].as_str().unwrap_or_default();
    assert!(sealed > 0 && by.contains("key-1="), "{m}");
    assert!(["key-0", "key-1"].contains(&oldest), "{m}");
    agent.stop();
    assert_no_plaintext(dir);
}

/// `verify` with both keys, and the other tools take the same keys: put one event and dump
/// it back.
fn the_tools_take_the_same_keys(dir: &Path) {
    let (ok, err) = verify(dir, "key-1", "key-0 key-1");
    assert!(ok && err.contains("key-1="), "{err}");
    let tool = |verb: &str, stdin: &str| {
        let mut args = vec!["channel".to_owned(), verb.to_owned()];
        args.extend(tool_args(dir, "key-1", "key-0 key-1"));
        with_stdin(dir, &args, stdin)
    };
    let put = tool("put", "CARD-4111-tool\n");
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let dump = tool("dump", "");
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump.status.success() && text.contains("CARD-4111-tool"),
        "{text}"
    );
    assert_no_plaintext(dir);
}
