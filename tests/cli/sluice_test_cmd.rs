//! `sluice test` on the real binary: the repository's examples pass their test files; a
//! failing expectation prints the test, the component, the event and a diff and exits 1; a
//! malformed test file exits 3, a missing agent name 2, a configuration with errors 1.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn sluice_test(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("test")
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_examples_pass_their_test_files() {
    for (conf, n) in [
        ("examples/routing-multiplex.properties", 3),
        ("examples/failover-edge.properties", 1),
    ] {
        let conf = repo(conf);
        let (code, out, err) = sluice_test(&["-f", conf.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains(&format!("{n} passed, 0 failed")), "{out}");
        assert!(!out.contains("FAIL"), "{out}");
    }
}

/// A test file expecting what routing-multiplex.properties does not do.
const WRONG: &str = r#"
agent = "a1"

[[tests]]
name = "wrong: WARN is not an alert"
source = "r1"
dropped = 0

[[tests.inputs]]
body = "WARN slow request"

[[tests.outputs]]
channel = "c_archive"
events = [ { body = "WARN fast request", headers = { level = "ERROR" } } ]

[[tests.outputs]]
sink = "k_alert"
count = 1

[[tests]]
name = "right: DEBUG is dropped"
source = "r1"
dropped = 1

[[tests.inputs]]
body = "DEBUG x"
"#;

#[test]
fn a_failing_expectation_prints_the_event_the_component_and_a_diff() {
    let d = tempfile::tempdir().unwrap();
    let tests = d.path().join("wrong.toml");
    std::fs::write(&tests, WRONG).unwrap();
    let conf = repo("examples/routing-multiplex.properties");
    let (code, out, err) = sluice_test(&["-f", conf.to_str().unwrap(), tests.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("FAIL \"wrong: WARN is not an alert\": channel c_archive: event 1 of 1"),
        "{out}"
    );
    assert!(
        out.contains(
            r#"event: {"body":"WARN slow request","headers":{"level":"WARN","origin":"edge-1"}}"#
        ),
        "{out}"
    );
    for line in [
        r#"- body: "WARN fast request""#,
        r#"+ body: "WARN slow request""#,
        r#"- header level: "ERROR""#,
        r#"+ header level: "WARN""#,
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert!(
        out.contains(
            "FAIL \"wrong: WARN is not an alert\": sink k_alert: expected 1 events, received 0"
        ),
        "{out}"
    );
    assert!(out.contains("ok   \"right: DEBUG is dropped\""), "{out}");
    assert!(out.contains("1 passed, 1 failed"), "{out}");
}

#[test]
fn bad_inputs_get_the_usual_exit_codes() {
    let d = tempfile::tempdir().unwrap();
    let conf = repo("examples/routing-multiplex.properties");
    let conf = conf.to_str().unwrap();
    let bad = d.path().join("bad.toml");
    std::fs::write(&bad, "[[tests]]\nname = 1\n").unwrap();
    let (code, _, err) = sluice_test(&["-f", conf, bad.to_str().unwrap()]);
    assert_eq!(code, 3, "malformed test file: {err}");
    assert!(err.contains("bad.toml"), "{err}");
    let anon = d.path().join("anon.toml");
    std::fs::write(&anon, "[[tests]]\nname = \"x\"\nsource = \"r1\"\n").unwrap();
    let (code, _, err) = sluice_test(&["-f", conf, anon.to_str().unwrap()]);
    assert_eq!(code, 2, "no agent name: {err}");
    let broken = d.path().join("broken.properties");
    std::fs::write(
        &broken,
        std::fs::read_to_string(conf).unwrap() + "a1.channels.c_alert.capacity = lots\n",
    )
    .unwrap();
    let (code, out, _) = sluice_test(&[
        "-f",
        broken.to_str().unwrap(),
        repo("examples/routing-multiplex.tests.toml")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("capacity") && out.contains("no test ran"),
        "{out}"
    );
    let (code, _, _) = sluice_test(&["-f", d.path().join("none.properties").to_str().unwrap()]);
    assert_eq!(code, 3, "a missing file");
}
