//! A real Kafka-protocol broker for the kafka tests: `tansu` on a free loopback port with
//! the memory storage engine, started per test and killed on drop (`tansu.rs`); or, when
//! `SLUICE_KAFKA_BOOTSTRAP=host:port` is set, an external Apache Kafka cluster (topics get
//! unique names, so runs do not see each other's records). Also: topic creation through
//! librdkafka's admin client, a plain producer and consumer (`client.rs`), and `sluice agent`
//! processes.
#![allow(dead_code)]

mod client;
mod tansu;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use client::runtime;
pub use tansu::{Broker, INSTALL, TANSU_LOG};

use crate::support::lines_support;
#[allow(unused_imports)] // each test crate uses a different subset
pub use lines_support::{duplicates, lines, netcat_send as send_lines, written};

use crate::support::agent_proc;
use crate::support::ports;
#[allow(unused_imports)]
pub use agent_proc::{logs_of, metrics, HttpAgent, Proc};
pub use ports::free_port;

/// Longest wait for anything in these tests.
pub const WAIT: Duration = Duration::from_secs(60);
/// The environment variable naming an external cluster.
pub const BOOTSTRAP_ENV: &str = "SLUICE_KAFKA_BOOTSTRAP";

/// A unique suffix for topic and group names.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    format!(
        "{prefix}-{}-{ms}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// One `sluice agent` process with its HTTP metrics on a port of its own, no config reload.
pub type Agent = HttpAgent;

impl Agent {
    /// Starts agent `name` with `conf` (written under `dir`); if `port` is given, waits until
    /// it listens there.
    pub fn start(dir: &Path, name: &str, conf: &str, port: Option<u16>) -> Agent {
        let args = vec!["--no-reload-conf".to_owned()];
        HttpAgent::spawn(dir, name, conf, args, free_port(), port)
    }

    /// Starts the process again (after it was killed); if `port` is given, waits for it.
    pub fn restart_on(&mut self, port: Option<u16>) {
        self.proc.port = port;
        self.proc.restart();
    }

    /// Counter `counter` of component `comp` (`SINK.k1`) from the agent's metrics, 0 if absent.
    pub fn counter(&self, comp: &str, counter: &str) -> u64 {
        agent_proc::counter(self.http, comp, counter)
    }
}

/// Waits until every line of `want` is in one of `dirs`; returns everything written there.
pub fn wait_for_all(dirs: &[PathBuf], want: &[String], agents: &[&Agent]) -> Vec<String> {
    lines_support::wait_for_all(dirs, want, WAIT, || logs_of(agents.iter().map(|a| &a.proc)))
}

/// An edge agent `edge`: netcat on `port` -> file channel under `root/edge` -> kafka sink
/// into `topic` with `acks = all` and `flumeBatchSize = 100` (the operator's scenario).
pub fn edge_conf(root: &Path, b: &Broker, port: u16, topic: &str) -> String {
    format!(
        "edge.sources = r1\nedge.channels = c1\nedge.sinks = k1\n\
         edge.sources.r1.type = netcat\nedge.sources.r1.bind = 127.0.0.1\n\
         edge.sources.r1.port = {port}\nedge.sources.r1.channels = c1\n\
         edge.channels.c1.type = file\nedge.channels.c1.checkpointDir = {r}/edge/ck\n\
         edge.channels.c1.dataDirs = {r}/edge/data\n\
         edge.channels.c1.minimumRequiredSpace = 1048576\n\
         edge.sinks.k1.type = kafka\nedge.sinks.k1.channel = c1\n\
         edge.sinks.k1.kafka.bootstrap.servers = {bs}\nedge.sinks.k1.kafka.topic = {topic}\n\
         edge.sinks.k1.kafka.producer.acks = all\nedge.sinks.k1.flumeBatchSize = 100\n",
        bs = b.bootstrap,
        r = root.display()
    )
}
