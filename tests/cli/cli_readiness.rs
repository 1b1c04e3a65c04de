//! The README's readiness line: `agent started` is logged only once every source accepts
//! input. The README's own example agent (examples/netcat-file-roll.properties, `bind =
//! localhost`) is started 20 times, and on each the port is connected to the moment the line
//! is read from the agent's stderr. Real binary; a source whose port is taken gets a warning
//! naming it instead of the line.

use crate::support::cli_support;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;

use cli_support::*;

/// Starts the README's agent on `port` in `dir`; reads its stderr on a thread that connects to
/// `localhost:port` the moment a line contains `agent started` and reports the outcome. Then
/// stops the agent (SIGTERM) and returns (the connect result, the agent's exit code, stderr).
fn start_and_connect_on_the_line(
    dir: &std::path::Path,
    port: u16,
) -> (Result<(), String>, Option<i32>, String) {
    let conf = dir.join("netcat-file-roll.properties");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/netcat-file-roll.properties"
        ),
        &conf,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(dir)
        .args(["agent", "-n", "a1", "-f", "netcat-file-roll.properties"])
        .arg(format!("-Da1.sources.r1.port={port}"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let mut sent = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if !sent && line.contains("agent started") {
                let r = TcpStream::connect(("localhost", port))
                    .map(drop)
                    .map_err(|e| e.to_string());
                tx.send(r).unwrap();
                sent = true;
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let connected = rx
        .recv_timeout(WAIT)
        .unwrap_or_else(|_| Err("no `agent started` line".to_owned()));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let code = child.wait().unwrap().code();
    let text = reader.join().unwrap();
    (connected, code, text)
}

#[test]
fn the_readme_agent_accepts_connections_when_it_says_agent_started() {
    for round in 0..20 {
        let tmp = tempfile::tempdir().unwrap();
        let (connected, code, text) = start_and_connect_on_the_line(tmp.path(), free_port());
        assert_eq!(
            connected,
            Ok(()),
            "round {round}: refused on `agent started`:\n{text}"
        );
        assert_eq!(code, Some(0), "round {round}:\n{text}");
    }
}

#[test]
fn a_source_that_cannot_listen_is_named_instead_of_the_readiness_line() {
    let tmp = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (ch, sink) = MEMORY_LOGGER;
    std::fs::write(
        tmp.path().join("a1.properties"),
        netcat_conf(port, ch, sink),
    )
    .unwrap();
    let mut a = start_agent(tmp.path(), "a1.properties", &[], "agent.log");
    let log = a.log.clone();
    let text = a.wait_file(&log, "agent running, but not every source accepts input");
    assert!(
        text.contains("source does not accept input: source r1: cannot listen on"),
        "{text}"
    );
    assert!(!text.contains("agent started"), "{text}");
    assert_eq!(a.terminate(), Some(0));
}
