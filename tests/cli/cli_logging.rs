//! The agent's log as a Flume user starts it: every `-Dflume.root.logger` spelling seen in
//! Flume tutorials either maps or falls back to INFO with one warning, never silences the
//! agent; LOGFILE writes under `flume.log.dir`; the flume layouts (Flume's console pattern on
//! the console, its LOGFILE pattern in the file) and JSON. Real binary.

use crate::support::cli_support;

use cli_support::*;

fn conf(dir: &std::path::Path, port: u16) -> String {
    let (ch, sink) = MEMORY_LOGGER;
    std::fs::write(dir.join("a1.properties"), netcat_conf(port, ch, sink)).unwrap();
    "a1.properties".into()
}

#[test]
fn log_levels_from_flume_tutorials_map_or_fall_back_to_info_with_one_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let c = conf(tmp.path(), free_port());
    for (root, warnings) in [
        ("=INFO,console", 0),
        ("VERBOSE,console", 1),
        ("ALL,console", 0),
        ("info", 0),
    ] {
        let mut a = start_agent(
            tmp.path(),
            &c,
            &[&format!("-Dflume.root.logger={root}")],
            "agent.log",
        );
        let log = a.log.clone();
        a.wait_file(&log, "agent started");
        assert_eq!(a.terminate(), Some(0));
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            text.matches("unknown log level").count(),
            warnings,
            "{root}: {text}"
        );
        assert!(!text.contains("invalid filter directive"), "{root}: {text}");
        if warnings == 1 {
            assert!(
                text.contains("unknown log level `VERBOSE` in -Dflume.root.logger=VERBOSE,console; logging at INFO (log4j levels: OFF, FATAL, ERROR, WARN, INFO, DEBUG, TRACE, ALL)"),
                "{text}"
            );
        }
        assert!(text.contains("agent stopped"), "{root}: {text}");
    }
}

#[test]
fn fatal_keeps_the_errors_of_a_source_whose_port_is_taken_and_drops_info() {
    let tmp = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let c = conf(tmp.path(), taken.local_addr().unwrap().port());
    let mut a = start_agent(
        tmp.path(),
        &c,
        &["-Dflume.root.logger=FATAL,console"],
        "agent.log",
    );
    let log = a.log.clone();
    let text = a.wait_file(&log, "Address already in use");
    assert!(text.contains("ERROR"), "{text}");
    assert_eq!(a.terminate(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("agent started"), "{text}");
    assert!(!text.contains(" INFO "), "{text}");
}

#[test]
fn logfile_appender_writes_to_flume_log_dir_and_not_to_the_console() {
    let tmp = tempfile::tempdir().unwrap();
    let c = conf(tmp.path(), free_port());
    let mut a = start_agent(
        tmp.path(),
        &c,
        &["-Dflume.root.logger=TRACE,LOGFILE", "-Dflume.log.dir=logs"],
        "agent.log",
    );
    let file = tmp.path().join("logs/flume.log");
    a.wait_file(&file, "agent started");
    assert_eq!(a.terminate(), Some(0));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("agent stopped"), "{text}");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("agent.log")).unwrap(),
        ""
    );
}

/// Sends one line to the netcat source on `port` and waits for its `OK`.
fn send_line(port: u16, line: &str) {
    use std::io::{BufRead, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(format!("{line}\n").as_bytes()).unwrap();
    let mut reply = String::new();
    std::io::BufReader::new(s).read_line(&mut reply).unwrap();
    assert_eq!(reply, "OK\n");
}

#[test]
fn flume_and_json_layouts_give_parseable_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let c = conf(tmp.path(), port);
    // The console gets Flume's console layout, the log file its LOGFILE layout.
    let mut a = start_agent(
        tmp.path(),
        &c,
        &[
            "-Dflume.log.format=flume",
            "-Dflume.root.logger=INFO,console,LOGFILE",
        ],
        "flume.log",
    );
    let log = a.log.clone();
    a.wait_file(&log, "agent started");
    send_line(port, "hello");
    a.wait_file(&log, "Event: ");
    assert_eq!(a.terminate(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text.lines().find(|l| l.contains("agent started")).unwrap();
    // %d (%t) [%p - %l] %m%n
    let pattern = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} \([^)]+\) \[INFO - sluice::cli::agent\(agent\.rs:\d+\)\] agent started agent=a1$";
    assert!(regex::Regex::new(pattern).unwrap().is_match(line), "{line}");
    let event = text.lines().find(|l| l.contains("Event: ")).unwrap();
    assert!(
        event.contains("[INFO - sluice::sink::logger(logger.rs:"),
        "{event}"
    );
    let file = std::fs::read_to_string(tmp.path().join("logs/flume.log")).unwrap();
    let line = file.lines().find(|l| l.contains("agent started")).unwrap();
    // %d{dd MMM yyyy HH:mm:ss,SSS} %-5p [%t] (%C:%L) - %m%n
    let pattern = r"^\d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2},\d{3} INFO  \[[^\]]+\] \(sluice::cli::agent:\d+\) - agent started agent=a1$";
    assert!(regex::Regex::new(pattern).unwrap().is_match(line), "{line}");
    // The logger sink's events name the same target in both layouts (and in the default one).
    let event = file.lines().find(|l| l.contains("Event: ")).unwrap();
    assert!(event.contains("(sluice::sink::logger:"), "{event}");

    let mut a = start_agent(tmp.path(), &c, &["-Dflume.log.format=json"], "json.log");
    let log = a.log.clone();
    a.wait_file(&log, "agent started");
    assert_eq!(a.terminate(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    let objs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let started = objs
        .iter()
        .find(|o| o["message"] == "agent started")
        .unwrap();
    assert_eq!(started["level"], "INFO");
    assert_eq!(started["fields"]["agent"], "a1");
    assert!(started["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn an_unknown_log_format_is_refused_as_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let c = conf(tmp.path(), free_port());
    let (code, _, err) = outcome(&sluice(
        tmp.path(),
        &["agent", "-n", "a1", "-f", &c, "-Dflume.log.format=xml"],
    ));
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        err,
        "sluice: error: -Dflume.log.format=xml: expected text, flume or json\n"
    );
}
