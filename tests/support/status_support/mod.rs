//! Helpers of the status tests (`status_*.rs`): a real `sluice agent` with the metrics
//! server on (an [`HttpAgent`]), and a minimal HTTP/1.1 GET over loopback with timeouts.
#![allow(dead_code)]

pub use crate::support::agent_proc::HttpAgent;
use crate::support::agent_proc::Proc;
use crate::support::ports;
pub use ports::free_port;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

/// Longest wait for anything in these tests.
pub const WAIT: Duration = Duration::from_secs(30);

/// Starts `sluice agent -n a1` on `conf` with `-Dflume.monitoring.type=http` on a free port
/// and waits until the metrics server answers.
pub fn start_agent(dir: &Path, conf: &str) -> HttpAgent {
    start_agent_with(dir, conf, &[])
}

/// [`start_agent`] with more command-line arguments.
pub fn start_agent_with(dir: &Path, conf: &str, extra: &[&str]) -> HttpAgent {
    let http = free_port();
    let proc = Proc::builder(dir)
        .conf_text_as("agent.conf", conf)
        .log("agent.log")
        .stdout_to_log()
        .no_rust_log()
        .arg("--no-reload-conf")
        .args(HttpAgent::monitoring_args(http))
        .args(extra)
        .wait(WAIT)
        .ready_when("the metrics server", move || {
            get(http, "/metrics", None).is_some_and(|r| r.status == 200)
        })
        .spawn();
    HttpAgent { proc, http }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Header lines, lower-cased names.
    pub headers: Vec<(String, String)>,
    /// Body (the server answers with Content-Length).
    pub body: String,
}

impl Answer {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `GET path` with an optional Accept header, on a connection of its own; `None` when the
/// server cannot be reached or answers garbage.
pub fn get(port: u16, path: &str, accept: Option<&str>) -> Option<Answer> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(10))).ok()?;
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{accept}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(Answer {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// seq -> memory channel -> null sink, `total` events.
pub fn seq_memory_null(total: u64) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = seq\na1.sources.r1.totalEvents = {total}\na1.sources.r1.batchSize = 50\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 10000\na1.channels.c1.transactionCapacity = 100\n\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\na1.sinks.k1.batchSize = 100\n"
    )
}

/// `POST path` on a connection of its own: (status, body).
pub fn post(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(70))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

/// Sends `head` (a request line and headers, without the blank line that ends them) on a
/// new loopback connection and returns the answer's status code and first body bytes, read
/// until the body starts (a streamed answer is not waited for); `None` when the server cannot
/// be reached or answers garbage.
pub fn status_of(port: u16, head: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "{head}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
        if raw.len() > 1 << 16 {
            break;
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}
