//! Helpers of the otlp tests: the OpenTelemetry Python SDK (installed by
//! `.ci/install-otel.sh`) driven by `otel_send.py`, agents with otlp sources as real
//! processes, and the queued events of a file channel read back with `sluice channel dump`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::agent_proc::sluice_bin;

pub mod exports;

/// The Python interpreter of the venv `.ci/install-otel.sh` makes.
pub fn python() -> PathBuf {
    let venv = std::env::var_os("SLUICE_OTEL_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/sluice/otel-venv")
        });
    let py = venv.join("bin/python");
    assert!(
        py.exists(),
        "{} is missing: run .ci/install-otel.sh (the OpenTelemetry Python SDK)",
        py.display()
    );
    py
}

/// Runs `otel_send.py MODE PORT COUNT TAG` (bounded by its exporters' 30 s timeouts and a
/// 60 s flush); its one JSON line.
pub fn send(mode: &str, port: u16, count: usize, tag: &str) -> serde_json::Value {
    send_tls(mode, port, count, tag, None)
}

/// [`send`], over TLS trusting the CA in `ca` when given.
pub fn send_tls(
    mode: &str,
    port: u16,
    count: usize,
    tag: &str,
    ca: Option<&str>,
) -> serde_json::Value {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/otel_support/otel_send.py");
    let out = Command::new("timeout")
        .arg("120")
        .arg(python())
        .arg(script)
        .args([mode, &port.to_string(), &count.to_string(), tag])
        .args(ca)
        // requests lets these override the exporter's own CA file (its session trusts the
        // environment), so the test CA would be ignored where a CI image sets them.
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("CURL_CA_BUNDLE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "otel_send.py {mode} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("otel_send.py {mode}: {e}: {text}"))
}

/// `<name>.sources.<src>` lines of an otlp source on `port` in `protocol` into `channels`.
pub fn otlp_source(name: &str, src: &str, protocol: &str, port: u16, channels: &str) -> String {
    format!(
        "{name}.sources.{src}.type = otlp\n{name}.sources.{src}.protocol = {protocol}\n\
         {name}.sources.{src}.bind = 127.0.0.1\n{name}.sources.{src}.port = {port}\n\
         {name}.sources.{src}.channels = {channels}\n"
    )
}

/// `<name>.channels.<ch>` lines of a file channel under `<root>/<name>/<ch>`.
pub fn file_channel(root: &Path, name: &str, ch: &str) -> String {
    format!(
        "{name}.channels.{ch}.type = file\n\
         {name}.channels.{ch}.checkpointDir = {r}/{name}/{ch}/ck\n\
         {name}.channels.{ch}.dataDirs = {r}/{name}/{ch}/data\n\
         {name}.channels.{ch}.minimumRequiredSpace = 1048576\n",
        r = root.display()
    )
}

/// The events queued in file channel `<root>/<name>/<ch>` (the agent stopped), as
/// (headers, body) from `sluice channel dump`.
pub fn dump(root: &Path, name: &str, ch: &str) -> Vec<(serde_json::Value, String)> {
    let dir = root.join(name).join(ch);
    let out = Command::new(sluice_bin())
        .args(["channel", "dump", "--checkpoint-dir"])
        .arg(dir.join("ck"))
        .arg("--data-dirs")
        .arg(dir.join("data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["body_encoding"], "utf8", "{l}");
            (
                v["headers"].clone(),
                v["body"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// `POST /` of `body` (JSON) with `Content-Type: application/json` on a connection of its own
/// to an http source: the status.
pub fn post_json(port: u16, body: &str) -> u16 {
    post_json_to(port, "/", body)
}

/// `POST path` of a JSON `body` on a connection of its own; the status (0 if none came).
pub fn post_json_to(port: u16, path: &str, body: &str) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    raw.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}
