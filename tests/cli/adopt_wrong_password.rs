//! An agent adopting an encrypted Apache Flume channel at its start with a wrong keystore
//! password (issue 87, item 15): the error leads with the cause (the wrong password and the
//! file it was read from), and offers no `--skip-damaged` recipe, which would lose events and
//! cannot cure a password.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::flume_adopt::fixture;

/// Runs `sluice agent` in `dir` until it exits (at most 60 s); its code and stderr and stdout.
fn agent(dir: &Path, conf: &str) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(dir)
        .args(["agent", "-n", "a1", "-f", conf, "--no-reload-conf"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("the agent did not stop within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn a_wrong_keystore_password_at_start_is_said_first_without_the_data_losing_recipe() {
    let tmp = fixture("encrypted");
    let dir = tmp.path();
    std::fs::write(dir.join("wrong.password"), "not-it\n").unwrap();
    let text = std::fs::read_to_string(dir.join("flume.conf")).unwrap();
    let from = "keyStorePasswordFile = keys/keystore.password";
    assert!(text.contains(from));
    let bad = text.replace(from, "keyStorePasswordFile = wrong.password");
    std::fs::write(dir.join("bad.conf"), bad).unwrap();
    let (code, out) = agent(dir, "bad.conf");
    assert_ne!(code, 0, "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("adopting the Apache Flume channel"))
        .unwrap_or_else(|| panic!("no adoption error:\n{out}"));
    let cause = line
        .find("wrong store password")
        .unwrap_or_else(|| panic!("the cause is not named: {line}"));
    let stopped = line.find("stopped and nothing was started").unwrap();
    assert!(stopped < cause, "{line}");
    assert!(!line.contains("--skip-damaged"), "{line}");
}
