//! Configurations written to exhaust the agent (issue 64, item 8). `${` nested 20,000 deep in
//! `config check` fails at once with the depth limit named at its file:line and key, exit 1,
//! in bounded memory. A running agent whose reloaded file, or whose `--conf-uri` body (served
//! by a small HTTP server in the test), becomes 5,000 deep keeps its running configuration,
//! logs why naming the source, and still takes lines on its source port; an agent started
//! from a 30 KiB body of nested `${` refuses to start with that error (exit 1). ZooKeeper
//! hands its znode's text to the same resolver (`sluice::agent::config`), so it is covered by
//! these.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::agent_proc::{sluice_bin, HttpAgent, Proc};
use crate::support::cli_support::{free_port, send_line, WAIT};
use crate::support::status_support::post;

/// The most a `config check` of the deep file may take: its text is 40 KB.
const CHECK_RSS_MAX_KIB: i64 = 256 << 10;

/// A value of `${` nested `depth` deep.
fn deep(depth: usize) -> String {
    format!("{}x{}", "${".repeat(depth), "}".repeat(depth))
}

/// netcat on `port` -> memory -> null; line 2 is the source's `bind`, written `bind`.
fn conf(port: u16, bind: &str) -> String {
    format!(
        "a1.sources = r1\n\
         a1.sources.r1.bind = {bind}\n\
         a1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.port = {port}\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\n\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n"
    )
}

/// Runs `sluice ARGS` in `dir` to its end (killed after [`WAIT`]): exit code (`None` when a
/// signal ended it), its output (stdout and stderr), and its peak resident memory in KiB (`wait4`'s, of this child
/// only).
fn run_measured(dir: &Path, args: &[&str]) -> (Option<i32>, String, i64) {
    let err = dir.join("output.txt");
    let out = std::fs::File::create(&err).unwrap();
    #[allow(
        clippy::zombie_processes,
        reason = "reaped by wait4 below, which also reports its peak memory"
    )]
    let child = Command::new(sluice_bin())
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let end = Instant::now() + WAIT;
    let (status, rss) = loop {
        let mut status = 0;
        // SAFETY: an all-zero rusage is valid, and wait4 writes only into the two locals.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let got = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if got == pid {
            break (status, usage.ru_maxrss);
        }
        assert!(got == 0, "wait4: {}", std::io::Error::last_os_error());
        if Instant::now() > end {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("sluice {args:?} did not end within {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, std::fs::read_to_string(err).unwrap(), rss)
}

#[test]
fn config_check_of_a_value_nested_twenty_thousand_deep_fails_with_the_limit_in_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.properties"), conf(6667, &deep(20_000))).unwrap();
    let (code, err, rss_kib) = run_measured(
        tmp.path(),
        &["config", "check", "-n", "a1", "-f", "a.properties"],
    );
    assert_eq!(
        code,
        Some(1),
        "exit 1 (the configuration has errors): {err:.2000}"
    );
    assert!(
        err.contains("a.properties:2") && err.contains("a1.sources.r1.bind"),
        "the error names file:line and key: {err:.2000}"
    );
    assert!(err.contains("SUBST_DEPTH_MAX"), "{err:.2000}");
    assert!(
        err.len() < 4096,
        "the error shows the start of the value only: {err:.2000}"
    );
    assert!(
        rss_kib < CHECK_RSS_MAX_KIB,
        "config check peaked at {rss_kib} KiB (at most {CHECK_RSS_MAX_KIB})"
    );
}

/// An agent on `conf` in `dir/agent.conf` with the metrics server (for `POST /reload`).
fn file_agent(dir: &Path, conf: &str) -> HttpAgent {
    let http = free_port();
    let proc = Proc::builder(dir)
        .conf_text_as("agent.conf", conf)
        .log("agent.log")
        .no_rust_log()
        .arg("--no-reload-conf")
        .args(HttpAgent::monitoring_args(http))
        .wait(WAIT)
        .ready_line("agent started")
        .spawn();
    HttpAgent { proc, http }
}

/// The agent keeps running its old configuration: alive, and a line sent to its netcat
/// source is answered `OK`.
fn still_runs(dir: &Path, agent: &mut HttpAgent, port: u16) {
    assert!(agent.proc.alive(), "log:\n{}", agent.proc.log_text());
    send_line(dir, port, "still here");
    assert!(agent.proc.alive(), "log:\n{}", agent.proc.log_text());
}

#[test]
fn a_reloaded_file_nested_five_thousand_deep_leaves_the_running_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut agent = file_agent(tmp.path(), &conf(port, "127.0.0.1"));
    send_line(tmp.path(), port, "before");
    std::fs::write(tmp.path().join("agent.conf"), conf(port, &deep(5_000))).unwrap();
    let (status, body) = post(agent.http, "/reload");
    assert_eq!(status, 422, "rejected: {body:.2000}");
    assert!(
        body.contains("agent.conf:2") && body.contains("SUBST_DEPTH_MAX"),
        "{body:.2000}"
    );
    still_runs(tmp.path(), &mut agent, port);
    agent
        .proc
        .wait_log("the configuration has errors; keeping the running one");
    assert_eq!(agent.proc.terminate(), Some(0), "{}", agent.proc.log_text());
}

/// A tiny HTTP server on loopback answering every GET with `body` (200, no `Last-Modified`,
/// so every poll reads it again); runs until the test process ends.
fn serve(body: Arc<Mutex<String>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            let body = body.lock().unwrap().clone();
            std::thread::spawn(move || answer(s, &body));
        }
    });
    port
}

fn answer(mut s: TcpStream, body: &str) {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    while r.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
        line.clear();
    }
    let _ = write!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = s.flush();
    let _ = s.read(&mut [0u8; 1]);
}

/// An agent reading its configuration from `uri`, with the metrics server.
fn uri_agent(dir: &Path, uri: &str, ready: bool) -> HttpAgent {
    let http = free_port();
    let mut b = Proc::builder(dir)
        .log("agent.log")
        .no_rust_log()
        .args(["--conf-uri", uri, "--no-reload-conf"])
        .args(HttpAgent::monitoring_args(http))
        .wait(WAIT);
    if ready {
        b = b.ready_line("agent started");
    }
    HttpAgent {
        proc: b.spawn(),
        http,
    }
}

#[test]
fn a_conf_uri_body_nested_five_thousand_deep_leaves_the_running_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let body = Arc::new(Mutex::new(conf(port, "127.0.0.1")));
    let uri = format!("http://127.0.0.1:{}/a1.properties", serve(body.clone()));
    let mut agent = uri_agent(tmp.path(), &uri, true);
    send_line(tmp.path(), port, "before");
    *body.lock().unwrap() = conf(port, &deep(5_000));
    let (status, answer) = post(agent.http, "/reload");
    assert_eq!(status, 422, "rejected: {answer:.2000}");
    assert!(
        answer.contains(&format!("{uri}:2")) && answer.contains("SUBST_DEPTH_MAX"),
        "the error names the URI and line: {answer:.2000}"
    );
    still_runs(tmp.path(), &mut agent, port);
    assert_eq!(agent.proc.terminate(), Some(0), "{}", agent.proc.log_text());
}

#[test]
fn an_agent_started_from_a_thirty_kib_body_of_nested_variables_refuses_to_start() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let body = Arc::new(Mutex::new(conf(port, &deep(15_000))));
    let uri = format!("http://127.0.0.1:{}/a1.properties", serve(body));
    let mut agent = uri_agent(tmp.path(), &uri, false);
    assert_eq!(
        agent.proc.wait_exit(),
        Some(1),
        "{:.3000}",
        agent.proc.log_text()
    );
    let log = agent.proc.log_text();
    assert!(
        log.contains(&format!("{uri}:2")) && log.contains("SUBST_DEPTH_MAX"),
        "{log:.3000}"
    );
}
