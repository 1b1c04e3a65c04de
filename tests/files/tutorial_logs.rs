//! The INFO lines a reader of the Flume tutorial looks for, on the real binary: a collector
//! (avro source) logs each upstream that connects and disconnects (Flume: OPEN, BOUND,
//! CONNECTED ... CLOSED), and the hdfs sink logs `Creating <file>.tmp` and `Renaming <file>.tmp
//! to <file>` as Flume's BucketWriter does.

use crate::support::cli_support;

use std::io::Write;
use std::process::{Command, Stdio};

use cli_support::*;

#[test]
fn a_collector_logs_upstreams_and_the_hdfs_sink_logs_creating_and_renaming() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(
        tmp.path().join("a1.properties"),
        format!(
            "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
             a1.sources.r1.type = avro\na1.sources.r1.bind = 127.0.0.1\n\
             a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n\
             a1.channels.c1.type = memory\n\
             a1.sinks.k1.type = hdfs\na1.sinks.k1.channel = c1\n\
             a1.sinks.k1.hdfs.path = out\na1.sinks.k1.hdfs.fileType = DataStream\n\
             a1.sinks.k1.hdfs.rollInterval = 0\na1.sinks.k1.hdfs.rollSize = 0\n\
             a1.sinks.k1.hdfs.rollCount = 2\n"
        ),
    )
    .unwrap();
    let mut a = start_agent(tmp.path(), "a1.properties", &[], "agent.log");
    let log = a.log.clone();
    a.wait_file(&log, "agent started");
    let mut client = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(tmp.path())
        .args(["avro-client", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    client
        .stdin
        .take()
        .unwrap()
        .write_all(b"one\ntwo\nthree\n")
        .unwrap();
    assert_eq!(client.wait().unwrap().code(), Some(0));
    // Three events, two per file: the first file is renamed as the third event arrives.
    let text = a.wait_file(&log, "Renaming ");
    let text = if text.contains("upstream disconnected") {
        text
    } else {
        a.wait_file(&log, "upstream disconnected")
    };
    assert!(text.contains("upstream connected"), "{text}");
    let creating = text
        .lines()
        .find(|l| l.contains("Creating "))
        .expect("a Creating line");
    assert!(
        creating.contains("out/FlumeData.") && creating.ends_with(".tmp"),
        "{creating}"
    );
    let renaming = text.lines().find(|l| l.contains("Renaming ")).unwrap();
    assert!(
        regex::Regex::new(r"Renaming \S*out/FlumeData\.(\d+)\.tmp to \S*out/FlumeData\.\d+$")
            .unwrap()
            .is_match(renaming),
        "{renaming}"
    );
    assert_eq!(a.terminate(), Some(0));
}
