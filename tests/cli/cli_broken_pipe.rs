//! A closed pipe on stdout or stderr (`sluice agent ... 2>&1 | head`) never makes the binary
//! panic (exit 101). The agent keeps moving data after its log reader went away and stops
//! cleanly (exit 0); a one-shot command ends quietly by SIGPIPE, as `cat` does. Real binary;
//! the pipe's read end is closed by the test.

use crate::support::cli_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cli_support::*;

/// A netcat → memory → file_roll agent writing into `dir/out`.
fn conf(dir: &std::path::Path, port: u16) -> String {
    let sink = format!(
        "a1.sinks.k1.type = file_roll\na1.sinks.k1.sink.directory = {}\n\
         a1.sinks.k1.sink.rollInterval = 0\n",
        dir.join("out").display()
    );
    std::fs::write(
        dir.join("a1.properties"),
        netcat_conf(port, "a1.channels.c1.type = memory\n", &sink),
    )
    .unwrap();
    "a1.properties".into()
}

/// Sends `line` and expects `OK` (connecting until the source accepts, at most [`WAIT`]).
fn send(port: u16, line: &str) {
    let end = Instant::now() + WAIT;
    let mut s = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(e) if Instant::now() < end => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("cannot connect: {e}"),
        }
    };
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(format!("{line}\n").as_bytes()).unwrap();
    let mut reply = String::new();
    BufReader::new(s).read_line(&mut reply).unwrap();
    assert_eq!(reply, "OK\n");
}

/// Every line the file_roll sink wrote so far.
fn delivered(dir: &std::path::Path) -> String {
    let mut text = String::new();
    for e in std::fs::read_dir(dir.join("out")).into_iter().flatten() {
        text += &std::fs::read_to_string(e.unwrap().path()).unwrap_or_default();
    }
    text
}

#[test]
fn an_agent_whose_log_pipe_closed_keeps_delivering_and_stops_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let c = conf(tmp.path(), port);
    // DEBUG, so that every batch writes log lines into the closed pipe.
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(tmp.path())
        .args([
            "agent",
            "-n",
            "a1",
            "-f",
            &c,
            "-Dflume.root.logger=DEBUG,console",
        ])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let end = Instant::now() + WAIT;
    while !line.contains("agent started") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "no `agent started`"
        );
        assert!(Instant::now() < end);
    }
    // `| head` has read enough: both ends of the agent's output are closed.
    drop(stderr);
    drop(child.stdout.take());
    for i in 0..20 {
        send(port, &format!("after the pipe closed {i}"));
    }
    let end = Instant::now() + WAIT;
    while !delivered(tmp.path()).contains("after the pipe closed 19") {
        assert!(Instant::now() < end, "the sink stopped delivering");
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status}");
}

#[test]
fn an_agent_refusing_its_configuration_into_a_closed_stderr_exits_1_not_101() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("bad.properties"),
        "a1.sources = r1\na1.channels = c1\na1.sources.r1.type = nope\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(tmp.path())
        .args(["agent", "-n", "a1", "-f", "bad.properties"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{status}");
}

#[test]
fn a_one_shot_command_whose_stdout_closed_ends_by_sigpipe_without_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    // Enough problems that `config check` prints lines after its reader is gone.
    let mut text = String::from("a1.sources = r1\na1.channels = c1\na1.sinks = k1\n");
    for i in 0..100 {
        text += &format!("a1.channels.c1.unknownKey{i} = x\n");
    }
    std::fs::write(tmp.path().join("a1.properties"), text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(tmp.path())
        .args(["config", "check", "-n", "a1", "-f", "a1.properties"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGPIPE), "{status}: {err}");
    assert!(!err.contains("panicked"), "{err}");
}
