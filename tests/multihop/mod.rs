//! Helpers for the multi-hop tests: real `sluice agent` processes (an edge with a netcat
//! source, a file channel and avro sinks; collectors with an avro source, a file channel and
//! file_roll), a netcat client that counts `OK`s, and readers of the collectors' output.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../lines_support/mod.rs"]
mod lines_support;
#[allow(unused_imports)] // each test crate uses a different subset
pub use lines_support::{lines, written};

/// Longest wait for anything in these tests.
pub const WAIT: Duration = Duration::from_secs(60);

/// The avro sink keys the tests use: short timeouts so a dead peer is noticed fast.
pub const FAST_SINK_KEYS: &str = "connect-timeout = 1000\nrequest-timeout = 2000\n\
                                  max-reconnect-backoff = 1000\nbatch-size = 50\n";

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// One agent process; killed when dropped.
pub struct Proc {
    pub child: Child,
    pub name: String,
    pub conf: PathBuf,
    pub port: u16,
    pub log: PathBuf,
    pub extra: Vec<String>,
    starts: u32,
}

impl Proc {
    /// Starts agent `name` with `conf` (written under `dir`) and waits until `port` listens.
    pub fn start(dir: &Path, name: &str, conf: &str, port: u16, extra: &[&str]) -> Proc {
        let path = dir.join(format!("{name}.properties"));
        std::fs::write(&path, conf).unwrap();
        let mut p = Proc {
            child: Command::new("true").spawn().unwrap(),
            name: name.to_owned(),
            conf: path,
            port,
            log: dir.join(format!("{name}.log")),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            starts: 0,
        };
        p.restart();
        p
    }

    /// Starts the process again (after it was killed) and waits until it listens.
    pub fn restart(&mut self) {
        let _ = self.child.wait();
        self.starts += 1;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        self.child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["agent", "--no-reload-conf", "-n", &self.name, "-f"])
            .arg(&self.conf)
            .args(&self.extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let end = Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < end,
                "{} did not listen; log:\n{}",
                self.name,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, sig: i32) {
        let rc = unsafe { libc::kill(self.child.id() as i32, sig) };
        assert_eq!(rc, 0);
    }

    /// SIGKILL and wait for the exit.
    pub fn kill9(&mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An edge agent: netcat on `port` -> file channel -> the sinks in `sinks` (already written
/// as `edge.sinks...` lines naming channel c1), under `root`.
pub fn edge_conf(root: &Path, port: u16, sink_names: &str, sinks: &str) -> String {
    format!(
        "edge.sources = r1\nedge.channels = c1\nedge.sinks = {sink_names}\n\
         edge.sources.r1.type = netcat\nedge.sources.r1.bind = 127.0.0.1\n\
         edge.sources.r1.port = {port}\nedge.sources.r1.channels = c1\n\
         edge.channels.c1.type = file\nedge.channels.c1.checkpointDir = {r}/edge/ck\n\
         edge.channels.c1.dataDirs = {r}/edge/data\n\
         edge.channels.c1.minimumRequiredSpace = 1048576\n{sinks}",
        r = root.display()
    )
}

/// `edge.sinks.<name>` lines of an avro sink to `127.0.0.1:<port>` with [`FAST_SINK_KEYS`].
pub fn avro_sink(name: &str, port: u16) -> String {
    let mut s = format!(
        "edge.sinks.{name}.type = avro\nedge.sinks.{name}.channel = c1\n\
         edge.sinks.{name}.hostname = 127.0.0.1\nedge.sinks.{name}.port = {port}\n"
    );
    for l in FAST_SINK_KEYS.lines() {
        s.push_str(&format!("edge.sinks.{name}.{l}\n"));
    }
    s
}

/// A collector agent named `name`: avro source on `port` -> file channel -> file_roll into
/// `<root>/<name>/out`.
pub fn collector_conf(root: &Path, name: &str, port: u16) -> String {
    format!(
        "{name}.sources = r1\n{name}.channels = c1\n{name}.sinks = k1\n\
         {name}.sources.r1.type = avro\n{name}.sources.r1.bind = 127.0.0.1\n\
         {name}.sources.r1.port = {port}\n{name}.sources.r1.channels = c1\n\
         {name}.channels.c1.type = file\n{name}.channels.c1.checkpointDir = {r}/{name}/ck\n\
         {name}.channels.c1.dataDirs = {r}/{name}/data\n\
         {name}.channels.c1.minimumRequiredSpace = 1048576\n\
         {name}.sinks.k1.type = file_roll\n{name}.sinks.k1.channel = c1\n\
         {name}.sinks.k1.sink.directory = {r}/{name}/out\n{name}.sinks.k1.sink.rollInterval = 0\n",
        r = root.display()
    )
}

/// A netcat client that sends lines and counts `OK` answers (answers come in order).
pub struct Client {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(port: u16) -> std::io::Result<Client> {
        let w = TcpStream::connect(("127.0.0.1", port))?;
        w.set_read_timeout(Some(Duration::from_secs(20)))?;
        let r = BufReader::new(w.try_clone()?);
        Ok(Client { w, r })
    }

    /// Sends lines; returns how many were answered `OK` before an error or another answer.
    pub fn send(&mut self, lines: &[String]) -> usize {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        if self.w.write_all(text.as_bytes()).is_err() {
            return 0;
        }
        let mut ok = 0;
        for _ in lines {
            let mut answer = String::new();
            match self.r.read_line(&mut answer) {
                Ok(n) if n > 0 && answer == "OK\n" => ok += 1,
                _ => break,
            }
        }
        ok
    }
}

/// Waits until every line of `want` is in one of `dirs`; returns everything written there.
pub fn wait_for_all(dirs: &[PathBuf], want: &[String], logs: &[&Proc]) -> Vec<String> {
    let end = Instant::now() + WAIT;
    loop {
        let got: Vec<String> = dirs.iter().flat_map(|d| written(d)).collect();
        let have: BTreeSet<&String> = got.iter().collect();
        let missing: Vec<&String> = want.iter().filter(|l| !have.contains(l)).collect();
        if missing.is_empty() {
            return got;
        }
        if Instant::now() >= end {
            let logs: String = logs
                .iter()
                .map(|p| format!("--- {}:\n{}\n", p.name, p.log_text()))
                .collect();
            panic!(
                "{} of {} lines missing, first {:?}\n{logs}",
                missing.len(),
                want.len(),
                missing[0]
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Lines written more than once.
pub fn duplicates(got: &[String]) -> usize {
    let unique: BTreeSet<&String> = got.iter().collect();
    got.len() - unique.len()
}

/// `GET /metrics` from an agent's HTTP reporter.
pub fn metrics(port: u16) -> serde_json::Value {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}
