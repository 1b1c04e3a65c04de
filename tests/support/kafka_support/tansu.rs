//! The broker the kafka tests start: `tansu` (found on PATH or in cargo's bin directory) on a
//! loopback port with the memory storage engine, waited for until it serves metadata, killed
//! on drop and restartable on the same port; or the external cluster that
//! `SLUICE_KAFKA_BOOTSTRAP` names.

use super::{free_port, BOOTSTRAP_ENV, WAIT};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

/// tansu's log filter: warnings, and its group coordinator's own lines (a member expired
/// after a missed heartbeat, a new leader) as evidence of what the group did.
pub const TANSU_LOG: &str = "warn,tansu_broker::coordinator=info";
/// How to get the broker the tests start.
pub const INSTALL: &str = "cargo install tansu --features dynostore --locked";

/// The `tansu` binary: on PATH or in cargo's bin directory.
fn tansu() -> PathBuf {
    if let Ok(p) = std::env::var("TANSU") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join("tansu");
        if p.is_file() {
            return p;
        }
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    let p = home.join("bin/tansu");
    assert!(
        p.is_file(),
        "the kafka tests need a Kafka-protocol broker: `tansu` is not installed \
         (not on PATH, not in {}). Install it with `{INSTALL}` (.ci/install-kafka.sh does), or \
         point the tests at an Apache Kafka cluster with {BOOTSTRAP_ENV}=host:port",
        p.display()
    );
    p
}

/// A broker for one test.
pub struct Broker {
    child: Option<Child>,
    pub port: u16,
    pub bootstrap: String,
    log: PathBuf,
    /// The port clients are told to connect to, when it is not `port` (a proxy in front).
    advertised: Option<u16>,
}

impl Broker {
    /// Starts tansu (or uses the external cluster) and waits until it serves metadata.
    pub fn start(dir: &Path) -> Broker {
        if let Ok(b) = std::env::var(BOOTSTRAP_ENV) {
            return Broker {
                child: None,
                port: 0,
                bootstrap: b,
                log: dir.join("broker.log"),
                advertised: None,
            };
        }
        Broker::spawned(dir, free_port(), None)
    }

    /// tansu started on loopback `port`, telling clients `advertised` (else `port`).
    fn spawned(dir: &Path, port: u16, advertised: Option<u16>) -> Broker {
        let mut b = Broker {
            child: None,
            port,
            bootstrap: format!("127.0.0.1:{}", advertised.unwrap_or(port)),
            log: dir.join("broker.log"),
            advertised,
        };
        b.spawn();
        b
    }

    /// Starts tansu on `port` (a test that needs the broker down first); `None` against an
    /// external cluster.
    pub fn start_on(dir: &Path, port: u16) -> Option<Broker> {
        if std::env::var(BOOTSTRAP_ENV).is_ok() {
            return None;
        }
        Some(Broker::spawned(dir, port, None))
    }

    /// Starts tansu on a free port but tells clients to connect to loopback `advertised`
    /// (where a proxy the test controls forwards to `port`); the bootstrap is `advertised`
    /// too. `None` against an external cluster.
    pub fn start_advertised(dir: &Path, port: u16, advertised: u16) -> Option<Broker> {
        if std::env::var(BOOTSTRAP_ENV).is_ok() {
            return None;
        }
        Some(Broker::spawned(dir, port, Some(advertised)))
    }

    /// Whether the broker is one the test started (so it can be stopped and restarted).
    pub fn is_local(&self) -> bool {
        self.port != 0
    }

    fn spawn(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let advertised = format!("tcp://127.0.0.1:{}", self.advertised.unwrap_or(self.port));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(tansu())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &advertised,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .env("RUST_LOG", TANSU_LOG)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start tansu");
        self.child = Some(child);
        let end = Instant::now() + WAIT;
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() && self.metadata_ok() {
                return;
            }
            assert!(
                Instant::now() < end,
                "tansu did not serve metadata on {}; log:\n{}",
                self.bootstrap,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn metadata_ok(&self) -> bool {
        let c: Result<BaseConsumer, _> = self.config().create();
        c.map(|c| c.fetch_metadata(None, Duration::from_secs(2)).is_ok())
            .unwrap_or(false)
    }

    /// SIGKILLs the broker (memory storage: its topics and records are gone).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A client configuration for this broker.
    pub fn config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap);
        c
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}
