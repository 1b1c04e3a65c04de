//! Helpers of the thrift tests: agents as real processes (thrift source -> file channel or
//! memory channel -> file_roll, and edges with thrift sinks), and the Python client written
//! from Flume's IDL on Apache Thrift's Python library (`flume_thrift_client.py`; installed by
//! `.ci/install-thrift.sh`).
#![allow(dead_code)]

use std::io::Write;

use sluice::wire::thrift::{decode_reply, encode_call, Method, Protocol, Status, ThriftError};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::multihop;
#[allow(unused_imports)]
pub use multihop::*;

/// The Python interpreter of the venv `.ci/install-thrift.sh` makes.
pub fn python() -> PathBuf {
    let venv = std::env::var_os("SLUICE_THRIFT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/sluice/thrift-venv")
        });
    let py = venv.join("bin/python");
    assert!(
        py.exists(),
        "{} is missing: run .ci/install-thrift.sh (Python's thrift package)",
        py.display()
    );
    py
}

/// Runs the Python client against `port` in `protocol` with `calls` (JSON); its answers,
/// one per call.
pub fn python_calls(port: u16, protocol: &str, calls: &serde_json::Value) -> Vec<String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/thrift_support/flume_thrift_client.py");
    let mut child = Command::new(python())
        .arg(script)
        .args(["127.0.0.1", &port.to_string(), protocol])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(calls.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `appendBatch` of `bodies` with one header each.
pub fn batch_call(bodies: &[String]) -> serde_json::Value {
    let events: Vec<_> = bodies
        .iter()
        .map(|b| serde_json::json!({"headers": {"host": "py"}, "body": b}))
        .collect();
    serde_json::json!({"method": "appendBatch", "events": events})
}

/// A collector agent named `name`: thrift source on `port` (`protocol`) -> file channel ->
/// file_roll into `<root>/<name>/out`, plus `extra` source keys.
pub fn thrift_collector_conf(
    root: &Path,
    name: &str,
    port: u16,
    protocol: &str,
    extra: &str,
) -> String {
    let mut c = collector_conf(root, name, port).replace(
        &format!("{name}.sources.r1.type = avro\n"),
        &format!("{name}.sources.r1.type = thrift\n{name}.sources.r1.protocol = {protocol}\n"),
    );
    for l in extra.lines() {
        c.push_str(&format!("{name}.sources.r1.{l}\n"));
    }
    c
}

/// `edge.sinks.<name>` lines of a thrift sink to `127.0.0.1:<port>` in `protocol`, with
/// [`FAST_SINK_KEYS`].
pub fn thrift_sink(name: &str, port: u16, protocol: &str) -> String {
    avro_sink(name, port).replace(
        &format!("edge.sinks.{name}.type = avro\n"),
        &format!("edge.sinks.{name}.type = thrift\nedge.sinks.{name}.protocol = {protocol}\n"),
    )
}

/// One compact `appendBatch` of `body` on a connection of its own to `port`: the status the
/// source answered.
pub fn good_call(port: u16, body: &str) -> Result<Status, ThriftError> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut out = Vec::new();
    let events = [sluice_core::Event::new(body)];
    encode_call(Protocol::Compact, Method::AppendBatch, 1, &events, &mut out);
    s.write_all(&out).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut payload).unwrap();
    decode_reply(&payload, Protocol::Compact, Method::AppendBatch, 1)
}
