//! Helpers for the multi-hop tests: real `sluice agent` processes (an edge with a netcat
//! source, a file channel and avro sinks; collectors with an avro source, a file channel and
//! file_roll), a netcat client that counts `OK`s, and readers of the collectors' output.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::lines_support;
#[allow(unused_imports)] // each test crate uses a different subset
pub use lines_support::{duplicates, lines, written};

use crate::support::agent_proc;
#[allow(unused_imports)]
pub use agent_proc::{logs_of, metrics, Proc};

mod kill_run;
use crate::support::ports;
#[allow(unused_imports)]
pub use kill_run::{kill_in_turn, kill_schedule, kill_schedule_of, spawn_sender, stop_and_check};
pub use ports::free_port;

/// Longest wait for anything in these tests.
pub const WAIT: Duration = Duration::from_secs(60);

/// The avro sink keys the tests use: short timeouts so a dead peer is noticed fast.
pub const FAST_SINK_KEYS: &str = "connect-timeout = 1000\nrequest-timeout = 2000\n\
                                  max-reconnect-backoff = 1000\nbatch-size = 50\n";

/// `conf` with the avro/thrift sinks' request time-out of [`FAST_SINK_KEYS`] raised to 20 s,
/// for tests that assert no duplicates: a call that times out is sent again even when the
/// collector committed it, and a loaded machine can take 2 s for one commit.
pub fn patient(conf: &str) -> String {
    conf.replace("request-timeout = 2000", "request-timeout = 20000")
}

impl Proc {
    /// Starts agent `name` with `conf` (written under `dir`, no config reload, `extra`
    /// arguments) and waits until `port` listens.
    pub fn start(dir: &Path, name: &str, conf: &str, port: u16, extra: &[&str]) -> Proc {
        let mut args = vec!["--no-reload-conf".to_owned()];
        args.extend(extra.iter().map(|s| s.to_string()));
        Proc::spawn(dir, name, conf, args, Some(port))
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
pub fn wait_for_all(dirs: &[PathBuf], want: &[String], procs: &[&Proc]) -> Vec<String> {
    lines_support::wait_for_all(dirs, want, WAIT, || logs_of(procs.iter().copied()))
}
