//! Kill -9 rounds on the OTLP chain, all real processes: the OpenTelemetry Python SDK
//! (retrying, as applications run it) -> Sluice edge (otlp source, file channel, otlp sink)
//! -> Sluice collector (otlp source, file channel, file_roll). The edge and then the
//! collector are SIGKILLed and restarted while the SDK exports; every record whose batch the
//! SDK was told was accepted reaches the collector's output.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::multihop::{logs_of, wait_for_all, Proc};
use crate::support::otel_support::*;
use crate::support::ports::free_port;

fn collector(root: &Path, port: u16) -> String {
    let mut c = String::from("col.sources = r1\ncol.channels = c1\ncol.sinks = k1\n");
    c += &otlp_source("col", "r1", "grpc", port, "c1");
    c += &file_channel(root, "col", "c1");
    c += &format!(
        "col.sinks.k1.type = file_roll\ncol.sinks.k1.channel = c1\n\
         col.sinks.k1.sink.directory = {}/col/out\ncol.sinks.k1.sink.rollInterval = 0\n",
        root.display()
    );
    c
}

fn edge(root: &Path, port: u16, col: u16) -> String {
    let mut c = String::from("edge.sources = r1\nedge.channels = c1\nedge.sinks = k1\n");
    c += &otlp_source("edge", "r1", "grpc", port, "c1");
    c += &file_channel(root, "edge", "c1");
    c += &format!(
        "edge.sinks.k1.type = otlp\nedge.sinks.k1.channel = c1\n\
         edge.sinks.k1.endpoint = http://127.0.0.1:{col}\nedge.sinks.k1.batchSize = 100\n\
         edge.sinks.k1.connectTimeout = 1000\nedge.sinks.k1.requestTimeout = 20000\n"
    );
    c
}

#[test]
fn records_the_sdk_saw_acknowledged_survive_kill_9_of_edge_and_collector() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("col/out")).unwrap();
    let (cp, ep) = (free_port(), free_port());
    let mut col = Proc::start(root, "col", &collector(root, cp), cp, &[]);
    let mut edge_p = Proc::start(root, "edge", &edge(root, ep, cp), ep, &[]);
    let acked = root.join("acked.txt");
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/otel_support/otel_send.py");
    let mut sender = Command::new("timeout")
        .arg("180")
        .arg(python())
        .arg(script)
        .args(["grpc", &ep.to_string(), "1500", "kill"])
        .env("OTEL_SEND_ACKED", &acked)
        .env("OTEL_SEND_PACE_MS", "3")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The SDK's start (a Python interpreter and its imports) takes a second or more, longer
    // on a loaded machine: wait, bounded, for its first acknowledgement.
    let end = std::time::Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(&acked).is_err() && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        std::fs::metadata(&acked).is_ok(),
        "some records acknowledged before the first kill"
    );
    std::thread::sleep(Duration::from_millis(500));
    edge_p.kill9();
    std::thread::sleep(Duration::from_millis(300));
    edge_p.restart();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        sender.try_wait().unwrap().is_none(),
        "the SDK was still exporting when the collector was killed"
    );
    col.kill9();
    std::thread::sleep(Duration::from_millis(300));
    col.restart();
    let status = sender.wait().unwrap();
    assert!(status.success(), "the SDK sender failed or timed out");
    let want: Vec<String> = std::fs::read_to_string(&acked)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(
        want.len() >= 1000,
        "only {} records acknowledged\n{}",
        want.len(),
        logs_of([&edge_p, &col])
    );
    let got = wait_for_all(&[root.join("col/out")], &want, &[&edge_p, &col]);
    assert!(got.len() >= want.len());
}
