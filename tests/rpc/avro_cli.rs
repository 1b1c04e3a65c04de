//! The real binary: `sluice avro-client` into an agent's avro source (exit codes, headers,
//! every line delivered), `sluice bench --rpc avro` (a bounded smoke run), and the avro
//! source's configuration keys.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::agent_proc::Proc;
use crate::support::ports;
use ports::free_port;
use sluice::agent::registry::SourceKind;
use sluice::agent::topology as config;

const WAIT: Duration = Duration::from_secs(30);

fn start_agent(dir: &Path, port: u16) -> Proc {
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let conf = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = avro\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {port}\n\
         a1.sources.r1.channels = c1\na1.channels.c1.type = memory\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {}\na1.sinks.k1.sink.rollInterval = 0\n",
        out.display()
    );
    Proc::builder(dir)
        .conf_text_as("a.properties", &conf)
        .log("agent.log")
        .arg("--no-reload-conf")
        .no_rust_log()
        .wait(WAIT)
        .ready_port(port)
        .spawn()
}

fn lines(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        out.extend(
            std::fs::read_to_string(e.unwrap().path())
                .unwrap_or_default()
                .lines()
                .map(str::to_owned),
        );
    }
    out
}

#[test]
fn avro_client_sends_every_line_of_a_file_and_exits_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let _agent = start_agent(tmp.path(), port);
    let input = tmp.path().join("input.txt");
    let want: Vec<String> = (0..250).map(|i| format!("line {i}")).collect();
    std::fs::write(&input, want.join("\r\n") + "\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "avro-client",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "--batch",
            "100",
        ])
        .args(["--header", "app=web", "-F"])
        .arg(&input)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("250 lines acknowledged"), "{stderr}");
    let end = Instant::now() + WAIT;
    loop {
        let got = lines(&tmp.path().join("out"));
        if got.len() >= want.len() {
            assert_eq!(got, want);
            break;
        }
        assert!(Instant::now() < end, "{} lines arrived", got.len());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn avro_client_exits_three_when_nothing_listens() {
    let port = free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["avro-client", "-H", "127.0.0.1", "-p", &port.to_string()])
        .args(["--connect-timeout", "2000"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect"));
}

/// `sluice bench --rpc avro ARGS --json --quiet`, which must succeed; its JSON.
fn bench_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["bench", "--rpc", "avro"])
        .args(args)
        .args(["--json", "--quiet"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn bench_rpc_avro_reports_a_rate_from_an_in_process_agent() {
    let v = bench_json(&[
        "--channel",
        "memory",
        "--events",
        "5000",
        "--batch",
        "100",
        "--putters",
        "2",
    ]);
    assert_eq!(v["phases"][0]["events_put"], 5000);
    assert!(v["events_per_sec"].as_f64().unwrap() > 0.0);
    assert_eq!(v["workload"]["rpc"], "avro");
}

#[test]
fn bench_rpc_compare_channel_reports_both_rows_their_ratio_and_the_agents_fsyncs() {
    let v = bench_json(&[
        "--channel",
        "file",
        "--compare-channel",
        "--duration",
        "1s",
        "--batch",
        "100",
        "--putters",
        "2",
        "--rounds",
        "2",
    ]);
    let phases = v["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 2, "{v:#}");
    let (rpc, put) = (&phases[0], &phases[1]);
    assert_eq!(
        (rpc["phase"].as_str(), put["phase"].as_str()),
        (Some("rpc"), Some("put"))
    );
    for row in [rpc, put] {
        assert!(row["events_put"].as_u64().unwrap() > 0, "{row:#}");
        assert!(
            row["fsyncs_per_sec"].as_f64().unwrap() > 0.0,
            "a durable channel fsyncs: {row:#}"
        );
        assert!(
            row["group_commit"]["commits_per_fsync"].as_f64().unwrap() > 0.0,
            "{row:#}"
        );
        assert!(
            row["receiver_cpu_us_per_event"].as_f64().unwrap() > 0.0,
            "{row:#}"
        );
    }
    let c = &v["comparison"];
    assert_eq!(c["rounds"], 2);
    assert_eq!(c["rpc_events_per_sec"].as_array().unwrap().len(), 2);
    assert_eq!(c["channel_events_per_sec"].as_array().unwrap().len(), 2);
    let ratio = c["ratio"].as_f64().unwrap();
    let expect = rpc["events_per_sec"].as_f64().unwrap() / put["events_per_sec"].as_f64().unwrap();
    assert!(
        ratio > 0.0 && (ratio - expect).abs() < 1e-6 * expect,
        "{c:#}"
    );
}

#[test]
fn bench_compare_channel_refuses_the_memory_channel() {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "bench",
            "--rpc",
            "avro",
            "--channel",
            "memory",
            "--compare-channel",
        ])
        .args(["--events", "1000", "--quiet"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--compare-channel needs --channel file"));
}

#[test]
fn the_avro_source_takes_flumes_keys_and_names_its_limits() {
    let base = "a1.sources = r1\na1.channels = c1\na1.sinks = k1\na1.channels.c1.type = memory\n\
                a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\na1.sources.r1.channels = c1\n\
                a1.sources.r1.type = org.apache.flume.source.AvroSource\n\
                a1.sources.r1.bind = 0.0.0.0\na1.sources.r1.port = 4141\n";
    let l = config::load(base, "a1", &[]);
    let cfg = l.config.unwrap();
    let SourceKind::Avro(a) = &cfg.sources["r1"].kind else {
        panic!("not avro");
    };
    assert_eq!((a.bind.as_str(), a.port), ("0.0.0.0", 4141));
    assert_eq!(a.max_frame_bytes, 64 << 20);
    assert_eq!(a.max_events_per_call, 100_000);
    assert_eq!(a.max_connections, 4096);
    assert_eq!(a.idle_timeout, Some(Duration::from_secs(600)));
    assert_eq!(a.request_timeout, Duration::from_secs(20));
    assert_eq!(a.threads, None);
    // deflate is Flume's and accepted; anything else is refused with the key's name.
    let l = config::load(
        &format!("{base}a1.sources.r1.compression-type = deflate\na1.sources.r1.threads = 4\n"),
        "a1",
        &[],
    );
    assert!(l.config.is_some(), "{:?}", l.problems);
    let l = config::load(
        &format!("{base}a1.sources.r1.compression-type = gzip\na1.sources.r1.threads = 4\n"),
        "a1",
        &[],
    );
    assert!(l.config.is_none());
    let p = l
        .problems
        .iter()
        .find(|p| p.key.ends_with("compression-type"))
        .expect("a problem names compression-type");
    assert!(
        p.message.contains("supported: none, deflate"),
        "{}",
        p.message
    );
}
