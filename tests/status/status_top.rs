//! `sluice top --once` against a real agent: one table per component kind, rates from two
//! polls, plain lines when stdout is not a terminal.

use crate::support::status_support;

use std::process::Command;

use status_support::{seq_memory_null, start_agent};

#[test]
fn top_once_prints_every_component_with_rates_from_a_real_agent() {
    let tmp = tempfile::tempdir().unwrap();
    let agent = start_agent(tmp.path(), &seq_memory_null(1_000));
    agent.wait_until("every event drained", || {
        agent.json()["SINK.k1"]["EventDrainSuccessCount"] == "1000"
    });
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["top", "--once", "--interval", "0.2", "--url"])
        .arg(format!("http://127.0.0.1:{}/metrics", agent.http))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains('\x1b'), "escape codes on a pipe:\n{text}");
    for header in ["CHANNEL", "SOURCE", "SINK"] {
        assert!(
            text.lines().any(|l| l.starts_with(header)),
            "no {header} table:\n{text}"
        );
    }
    let row = |name: &str| -> Vec<String> {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row {name}:\n{text}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    // The flow has ended: fill 0, size 0 of 10000, no puts per second any more.
    assert_eq!(row("c1"), ["c1", "0.0", "0/10000", "0.0", "0.0"]);
    assert_eq!(row("r1")[1], "0.0");
    assert_eq!(row("k1")[1], "0.0");
}

#[test]
fn top_says_clearly_when_the_agent_cannot_be_reached() {
    let port = status_support::free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["top", "--once", "--url"])
        .arg(format!("http://127.0.0.1:{port}/metrics"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot connect"), "{err}");
}
