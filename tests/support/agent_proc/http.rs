//! An agent with Flume's HTTP metrics reporter: [`HttpAgent`] (a [`Proc`] and its metrics
//! port) and reading its counters over loopback.

use super::Proc;
use std::path::Path;
use std::time::Duration;

/// `GET /metrics` from an agent's HTTP reporter as JSON (`Null` while it does not answer).
pub fn metrics(port: u16) -> serde_json::Value {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return serde_json::Value::Null;
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

/// Counter `counter` of component `comp` (`SINK.k1`) from the metrics on `port`, 0 if absent.
pub fn counter(port: u16, comp: &str, counter: &str) -> u64 {
    metrics(port)[comp][counter]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// An agent process with Flume's HTTP metrics reporter on a port of its own.
pub struct HttpAgent {
    pub proc: Proc,
    /// The HTTP metrics port.
    pub http: u16,
}

impl HttpAgent {
    /// Starts agent `name` on `conf` with `args` plus the HTTP reporter on `http`, waiting
    /// for `port` to listen when one is given.
    pub fn spawn(
        dir: &Path,
        name: &str,
        conf: &str,
        args: Vec<String>,
        http: u16,
        port: Option<u16>,
    ) -> HttpAgent {
        HttpAgent::spawn_env(dir, name, conf, args, Vec::new(), http, port)
    }

    /// [`HttpAgent::spawn`] with extra environment for every start.
    pub fn spawn_env(
        dir: &Path,
        name: &str,
        conf: &str,
        mut args: Vec<String>,
        env: Vec<(String, String)>,
        http: u16,
        port: Option<u16>,
    ) -> HttpAgent {
        args.extend(HttpAgent::monitoring_args(http));
        HttpAgent {
            proc: Proc::spawn_env(dir, name, conf, args, env, port),
            http,
        }
    }

    /// The arguments that turn on the HTTP metrics reporter on port `http`.
    pub fn monitoring_args(http: u16) -> [String; 2] {
        [
            "-Dflume.monitoring.type=http".to_owned(),
            format!("-Dflume.monitoring.port={http}"),
        ]
    }

    /// The agent's Flume JSON from `GET /metrics`; fails if the reporter does not answer.
    pub fn json(&self) -> serde_json::Value {
        let v = metrics(self.http);
        assert!(!v.is_null(), "GET /metrics on {}: no JSON", self.http);
        v
    }
}

impl std::ops::Deref for HttpAgent {
    type Target = Proc;
    fn deref(&self) -> &Proc {
        &self.proc
    }
}

impl std::ops::DerefMut for HttpAgent {
    fn deref_mut(&mut self) -> &mut Proc {
        &mut self.proc
    }
}
