//! Helpers for the alarm tests: a real `sluice agent` process with the HTTP metrics server
//! and configuration reload on, a local webhook receiver (answering 200, 500, or never), and
//! small HTTP and netcat clients. Loopback only; every wait is bounded.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::lines_support;
#[allow(unused_imports)] // each test crate uses a different subset
pub use lines_support::{lines, netcat_send, written};

use crate::support::agent_proc;
use crate::support::ports;
#[allow(unused_imports)]
pub use agent_proc::{HttpAgent, Proc};
pub use ports::free_port;

/// Longest wait for anything in these tests.
pub const WAIT: Duration = Duration::from_secs(60);

/// One agent process (config reload every second, metrics on `http`); killed when dropped.
pub type Agent = HttpAgent;

impl Agent {
    /// Writes `conf` under `dir` and starts agent `name`; waits until its metrics server answers.
    pub fn start_reloading(dir: &Path, name: &str, conf: &str, http: u16) -> Agent {
        let args = vec!["-i".to_owned(), "1".to_owned()];
        HttpAgent::spawn(dir, name, conf, args, http, Some(http))
    }

    /// Rewrites the configuration file (the agent reloads it within a second or two).
    pub fn rewrite(&self, conf: &str) {
        std::fs::write(self.conf.as_ref().unwrap(), conf).unwrap();
    }

    /// `GET /alarms`.
    pub fn alarms(&self) -> Vec<serde_json::Value> {
        let (code, body) = http(self.http, "GET", "/alarms");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str::<Vec<serde_json::Value>>(&body).unwrap()
    }

    /// `GET /metrics` as JSON.
    pub fn metrics(&self) -> serde_json::Value {
        let (_, body) = http(self.http, "GET", "/metrics");
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
    }

    /// Waits until `pred` holds for the active alarms; returns them.
    pub fn wait_alarms(
        &self,
        what: &str,
        pred: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let end = Instant::now() + WAIT;
        loop {
            let a = self.alarms();
            if pred(&a) {
                return a;
            }
            assert!(
                Instant::now() < end,
                "timed out waiting for {what}; alarms {a:?}; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// One HTTP/1.0 request; (status code, body).
pub fn http(port: u16, method: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (code, body.to_owned())
}

/// How a [`Webhook`] answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Ok,
    Fail,
    Hang,
}

/// A local HTTP server that records every POST body it gets.
pub struct Webhook {
    pub port: u16,
    pub bodies: Arc<Mutex<Vec<serde_json::Value>>>,
}

/// Most connections a webhook server accepts (its thread then ends).
const WEBHOOK_CONNECTIONS_MAX: usize = 1000;

impl Webhook {
    pub fn start(answer: Answer) -> Webhook {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let b = bodies.clone();
        std::thread::spawn(move || {
            for s in l.incoming().take(WEBHOOK_CONNECTIONS_MAX) {
                let Ok(s) = s else { continue };
                let b = b.clone();
                std::thread::spawn(move || serve(s, answer, &b));
            }
        });
        Webhook { port, bodies }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/alarms", self.port)
    }

    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.bodies.lock().unwrap().clone()
    }

    /// Waits until `pred` holds for the bodies received; returns them.
    pub fn wait(
        &self,
        what: &str,
        pred: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let end = Instant::now() + WAIT;
        loop {
            let b = self.bodies();
            if pred(&b) {
                return b;
            }
            assert!(
                Instant::now() < end,
                "timed out waiting for {what}; got {b:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn serve(s: TcpStream, answer: Answer, bodies: &Mutex<Vec<serde_json::Value>>) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    // Keep-alive: several requests per connection, each with Content-Length.
    for _ in 0..100 {
        let mut len = 0usize;
        let mut first = true;
        loop {
            let mut line = String::new();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if first && line.trim().is_empty() {
                continue;
            }
            first = false;
            if line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; len.min(1 << 20)];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        bodies
            .lock()
            .unwrap()
            .push(serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null));
        let status = match answer {
            Answer::Ok => "200 OK",
            Answer::Fail => "500 Internal Server Error",
            Answer::Hang => {
                std::thread::sleep(Duration::from_secs(30));
                return;
            }
        };
        if write!(w, "HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").is_err() {
            return;
        }
    }
}

/// Waits until every line of `want` is under `dir`.
pub fn wait_written(dir: &Path, want: &[String], agent: &Agent) {
    let end = Instant::now() + WAIT;
    loop {
        let got: std::collections::BTreeSet<String> = written(dir).into_iter().collect();
        let missing = want.iter().filter(|l| !got.contains(*l)).count();
        if missing == 0 {
            return;
        }
        assert!(
            Instant::now() < end,
            "{missing} of {} lines missing under {}; log:\n{}",
            want.len(),
            dir.display(),
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
