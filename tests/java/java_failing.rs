//! A Java plugin that cannot start shows it (issue 79 item 4): an interceptor whose
//! `configure()` throws `NoClassDefFoundError` in front of a netcat source makes `/ready` 503
//! and `/health` name it and the exception, its source refuses lines at once, the log says
//! where the missing jar goes, `config check` fails naming the class, and once it can start the
//! agent is ready again. A chatty plugin costs the source beside it nothing (issue 80 item 4):
//! its output reaches the log within the per-JVM budget and the dropped lines are counted.

use crate::support::agent_proc::{HttpAgent, Proc};
use crate::support::java_support::*;
use crate::support::lines_support::netcat_send;
use crate::support::status_support::get;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Compiles this test's plugins (`plugins/failing/`) into `plugins.d/failing`.
fn failing_plugins(root: &Path) -> PathBuf {
    let plugins_d = root.join("plugins.d");
    let src = java_files(&test_plugins().join("failing"));
    plugin(&plugins_d, "failing", &src, &[], &[]);
    plugins_d
}

/// netcat r1 (port `port`) -> `interceptor` (Java, with `extra` keys) -> memory -> null.
fn one_source_conf(port: u16, interceptor: &str, extra: &str) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n\
         a1.sources.r1.interceptors = i1\n\
         a1.sources.r1.interceptors.i1.type = {interceptor}\n{extra}\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 100000\n\
         a1.channels.c1.transactionCapacity = 1000\n\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n"
    )
}

/// Starts agent `a1` on `conf` with the metrics server on `http`, ready once `port` listens.
fn start(dir: &Path, conf: &str, plugins_d: &Path, port: u16, http: u16) -> Proc {
    Proc::builder(dir)
        .name("a1")
        .conf_text(conf)
        .append_log()
        .args(["--plugins-path".to_owned(), plugins_d.display().to_string()])
        .args(HttpAgent::monitoring_args(http))
        .env("SLUICE_JAVA_CACHE", &cache().display().to_string())
        .ready_port(port)
        .spawn()
}

/// Sends one line and reads the answer: `Some(answer)` (an empty one when the connection
/// closed), `None` when nothing came within 10 s.
fn one_line_answer(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"hello\n").ok()?;
    let mut answer = String::new();
    match BufReader::new(s).read_line(&mut answer) {
        Ok(_) => Some(answer),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Some(String::new()),
        Err(_) => None,
    }
}

/// For 15 s from `began`: `/ready` is never 200; `/health` names the interceptor, its class
/// and the exception; a line is refused at once.
fn not_ready_and_named_while_failing(a: &Proc, port: u16, http: u16, began: Instant) {
    let mut named = false;
    let mut refused = false;
    while began.elapsed() < Duration::from_secs(15) {
        if let Some(r) = get(http, "/ready", None) {
            assert_ne!(
                r.status, 200,
                "ready while its interceptor cannot start: {}",
                r.body
            );
        }
        if !named {
            named = get(http, "/health", None).is_some_and(|h| {
                h.status == 503
                    && h.body.contains("INTERCEPTOR.i1")
                    && h.body.contains("sluicetest.failing.Broken$Builder")
                    && h.body.contains("java.lang.NoClassDefFoundError")
            });
        }
        if named && !refused {
            let asked = Instant::now();
            let answer = one_line_answer(port);
            let answer = answer.unwrap_or_else(|| panic!("no answer in 10 s\n{}", a.log_text()));
            assert!(
                answer.is_empty() || answer.starts_with("FAILED"),
                "{answer:?}"
            );
            assert!(asked.elapsed() < Duration::from_secs(10));
            refused = true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let health = get(http, "/health", None).map(|h| h.body);
    assert!(
        named,
        "/health never named the interceptor: {health:?}\n{}",
        a.log_text()
    );
    assert!(refused);
}

/// The log says which class is missing and the `libext/` directory its jar goes in.
fn the_log_says_where_the_jar_goes(a: &Proc, plugins_d: &Path) {
    let log = a.log_text();
    let libext = plugins_d.join("failing/libext").display().to_string();
    let hint = log.lines().find(|l| {
        l.contains("class com.google.common.base.Strings is missing") && l.contains(&libext)
    });
    assert!(hint.is_some(), "no jar advice naming {libext}\n{log}");
}

/// `config check` of `conf` exits non-zero naming the key, the class and the exception.
fn config_check_fails_naming_the_class(dir: &Path, conf: &str, plugins_d: &Path) {
    let file = dir.join("check.properties");
    std::fs::write(&file, conf).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["config", "check", "-n", "a1", "--plugins-path"])
        .arg(plugins_d)
        .arg("-f")
        .arg(&file)
        .env("SLUICE_JAVA_CACHE", cache())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0), "{stdout}");
    let want = "a1.sources.r1.interceptors.i1.type: error: Java class \
                sluicetest.failing.Broken$Builder cannot start";
    assert!(stdout.contains(want), "{want}\n{stdout}");
    assert!(
        stdout.contains("java.lang.NoClassDefFoundError: com/google/common/base/Strings"),
        "{stdout}"
    );
}

#[test]
fn an_interceptor_that_cannot_start_makes_the_agent_not_ready_and_its_source_refuses_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins_d = failing_plugins(tmp.path());
    let flag = tmp.path().join("still-broken");
    std::fs::write(&flag, b"").unwrap();
    let (port, http) = (free_port(), free_port());
    let extra = format!(
        "a1.sources.r1.interceptors.i1.failWhile = {}\n",
        flag.display()
    );
    let conf = one_source_conf(port, "sluicetest.failing.Broken$Builder", &extra);
    let began = Instant::now();
    let mut a = start(tmp.path(), &conf, &plugins_d, port, http);
    not_ready_and_named_while_failing(&a, port, http, began);
    the_log_says_where_the_jar_goes(&a, &plugins_d);
    config_check_fails_naming_the_class(tmp.path(), &conf, &plugins_d);
    // The dependency "arrives": the next restart configures it, and the agent is ready again.
    std::fs::remove_file(&flag).unwrap();
    a.wait_until("ready again once the interceptor starts", || {
        get(http, "/ready", None).is_some_and(|r| r.status == 200)
    });
    let health = get(http, "/health", None).unwrap();
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(
        netcat_send(port, &["after".to_owned()]),
        1,
        "{}",
        a.log_text()
    );
    a.stop();
}

#[test]
fn a_chatty_plugin_is_logged_within_its_budget_and_the_source_beside_it_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins_d = failing_plugins(tmp.path());
    let (chatty_port, port, http) = (free_port(), free_port(), free_port());
    let conf = one_source_conf(chatty_port, "sluicetest.failing.Chatty$Builder", "")
        .replace("a1.sources = r1\n", "a1.sources = r1 r2\n")
        + &format!(
            "a1.sources.r2.type = netcat\na1.sources.r2.bind = 127.0.0.1\n\
             a1.sources.r2.port = {port}\na1.sources.r2.channels = c1\n"
        );
    let mut a = start(tmp.path(), &conf, &plugins_d, port, http);
    a.wait_log("chatty line");
    a.wait_log("lines of output not logged in the last second");
    let before = std::fs::metadata(&a.log).unwrap().len();
    std::thread::sleep(Duration::from_secs(3));
    let grown = std::fs::metadata(&a.log).unwrap().len() - before;
    assert!(grown < 5_000_000, "the log grew {grown} bytes in 3 s");
    let lines: Vec<String> = (0..1000)
        .map(|i| format!("beside the chatty plugin {i}"))
        .collect();
    let mut acked = 0;
    for chunk in lines.chunks(100) {
        acked += netcat_send(port, chunk);
    }
    assert_eq!(acked, 1000, "{}", a.log_tail(20_000));
    a.stop();
}
