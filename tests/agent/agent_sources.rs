//! The real binary with the other sources and sinks: seq -> null with HTTP metrics, exec
//! (`tail -F`) -> file_roll, netcat -> logger, and `sluice config check`.

use crate::support::agent_proc;

use crate::support::ports;
use agent_proc::Proc;
use ports::free_port;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

fn get_metrics(port: u16) -> Option<serde_json::Value> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let body = resp.split_once("\r\n\r\n")?.1;
    serde_json::from_str(body).ok()
}

#[test]
fn seq_to_null_is_counted_in_flume_metrics_over_http() {
    let tmp = tempfile::tempdir().unwrap();
    let mport = free_port();
    let conf = "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
        a1.sources.r1.type = seq\na1.sources.r1.totalEvents = 500\na1.sources.r1.batchSize = 50\n\
        a1.sources.r1.channels = c1\n\
        a1.channels.c1.type = memory\na1.channels.c1.capacity = 1000\n\
        a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n";
    let port_arg = format!("-Dflume.monitoring.port={mport}");
    let mut agent = Proc::plain(
        tmp.path(),
        conf,
        &["-Dflume.monitoring.type=http", &port_arg],
    );
    let mut last = None;
    agent.wait_until("the null sink never drained 500 events", || {
        last = get_metrics(mport);
        // The put side counts after its commit returns, which can be after the sink drained.
        last.as_ref().is_some_and(|m| {
            m["SINK.k1"]["EventDrainSuccessCount"] == "500"
                && m["SOURCE.r1"]["EventAcceptedCount"] == "500"
                && m["CHANNEL.c1"]["EventPutSuccessCount"] == "500"
        })
    });
    let m = last.unwrap();
    assert_eq!(m["SOURCE.r1"]["EventAcceptedCount"], "500");
    assert_eq!(m["SOURCE.r1"]["Type"], "SOURCE");
    assert_eq!(m["CHANNEL.c1"]["EventPutSuccessCount"], "500");
    assert_eq!(m["CHANNEL.c1"]["ChannelSize"], "0");
    assert_eq!(m["CHANNEL.c1"]["ChannelCapacity"], "1000");
    assert_eq!(agent.terminate(), Some(0));
}

#[test]
fn exec_tail_follows_a_growing_file_into_file_roll() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("input.log");
    let out = tmp.path().join("out");
    std::fs::write(&input, "").unwrap();
    let conf = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = exec\na1.sources.r1.command = tail -F {}\n\
         a1.sources.r1.shell = /bin/sh -c\na1.sources.r1.batchSize = 5\n\
         a1.sources.r1.batchTimeout = 100\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {}\n",
        input.display(),
        out.display()
    );
    let mut agent = Proc::plain(tmp.path(), &conf, &[]);
    agent.wait_until("agent did not start", || {
        agent.log_text().contains("source started")
    });
    let read_out = || -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(&out) else {
            return Vec::new();
        };
        rd.flat_map(|e| {
            let t = std::fs::read_to_string(e.unwrap().path()).unwrap();
            t.lines().map(str::to_owned).collect::<Vec<_>>()
        })
        .collect()
    };
    let mut want = Vec::new();
    for round in 0..3 {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&input)
            .unwrap();
        for i in 0..7 {
            let l = format!("tail-{round}-{i}");
            writeln!(f, "{l}").unwrap();
            want.push(l);
        }
        drop(f);
        agent.wait_until("tailed lines missing", || read_out() == want);
    }
    assert_eq!(agent.terminate(), Some(0));
}

#[test]
fn the_logger_sink_logs_in_flume_format() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {port}\n\
         a1.sources.r1.channels = c1\na1.channels.c1.type = memory\n\
         a1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n"
    );
    let agent = Proc::plain(tmp.path(), &conf, &["-Dflume.root.logger=INFO,console"]);
    let mut s = None;
    agent.wait_until("no listener", || {
        s = TcpStream::connect(("127.0.0.1", port)).ok();
        s.is_some()
    });
    let mut s = s.unwrap();
    s.write_all(b"Hello world!\n").unwrap();
    let mut ok = [0u8; 3];
    s.read_exact(&mut ok).unwrap();
    assert_eq!(&ok, b"OK\n");
    let want =
        "Event: { headers:{} body: 48 65 6C 6C 6F 20 77 6F 72 6C 64 21             Hello world! }";
    agent.wait_until("event not logged", || agent.log_text().contains(want));
}

#[test]
fn config_check_prints_file_line_key_and_fails_on_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.properties");
    std::fs::write(
        &bad,
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = localhost\n\
         a1.sources.r1.port = 4444\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\n\
         a1.sinks.k1.type = nosuch\na1.sinks.k1.channel = c1\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["config", "check", "-n", "a1", "-f"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let want = format!(
        "{}:9: a1.sinks.k1.type: unknown sink type \"nosuch\"",
        bad.display()
    );
    assert!(text.contains(&want), "{text}");
    for example in ["netcat-file-roll", "netcat-memory-logger"] {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/{example}.properties"));
        let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["config", "check", "-n", "a1", "-f"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{example}: {text}");
        assert!(!text.contains("warning"), "{example}: {text}");
    }
}
