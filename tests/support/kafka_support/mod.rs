//! A real Kafka-protocol broker for the kafka tests: `tansu` on a free loopback port with
//! the memory storage engine, started per test and killed on drop; or, when
//! `SLUICE_KAFKA_BOOTSTRAP=host:port` is set, an external Apache Kafka cluster (topics get
//! unique names, so runs do not see each other's records). Also: topic creation through
//! librdkafka's admin client, a plain producer and consumer, and `sluice agent` processes.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};

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
/// tansu's log filter: warnings, and its group coordinator's own lines (a member expired
/// after a missed heartbeat, a new leader) as evidence of what the group did.
pub const TANSU_LOG: &str = "warn,tansu_broker::coordinator=info";
/// How to get the broker the tests start.
pub const INSTALL: &str = "cargo install tansu --features dynostore --locked";

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
        let port = free_port();
        let mut b = Broker {
            child: None,
            port,
            bootstrap: format!("127.0.0.1:{port}"),
            log: dir.join("broker.log"),
            advertised: None,
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
        let mut b = Broker {
            child: None,
            port,
            bootstrap: format!("127.0.0.1:{port}"),
            log: dir.join("broker.log"),
            advertised: None,
        };
        b.spawn();
        Some(b)
    }

    /// Starts tansu on a free port but tells clients to connect to loopback `advertised`
    /// (where a proxy the test controls forwards to `port`); the bootstrap is `advertised`
    /// too. `None` against an external cluster.
    pub fn start_advertised(dir: &Path, port: u16, advertised: u16) -> Option<Broker> {
        if std::env::var(BOOTSTRAP_ENV).is_ok() {
            return None;
        }
        let mut b = Broker {
            child: None,
            port,
            bootstrap: format!("127.0.0.1:{advertised}"),
            log: dir.join("broker.log"),
            advertised: Some(advertised),
        };
        b.spawn();
        Some(b)
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

    /// Creates `topic` with `partitions` partitions and waits until its metadata shows them.
    pub fn create_topic(&self, topic: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> = self.config().create().unwrap();
        let rt = runtime();
        let t = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
        let r = rt
            .block_on(admin.create_topics(&[t], &AdminOptions::new()))
            .expect("create_topics");
        for x in r {
            x.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
        }
        let probe: BaseConsumer = self.config().create().unwrap();
        let end = Instant::now() + WAIT;
        loop {
            if let Ok(md) = probe.fetch_metadata(Some(topic), Duration::from_secs(2)) {
                if md.topics().iter().any(|t| {
                    t.name() == topic
                        && t.error().is_none()
                        && t.partitions().len() as i32 == partitions
                }) {
                    return;
                }
            }
            assert!(Instant::now() < end, "topic {topic} never appeared");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Produces `values` to `topic` with acks=all and waits for every acknowledgement.
    pub fn produce(&self, topic: &str, values: &[Vec<u8>]) {
        self.produce_with(topic, values, &[]);
    }

    /// Produces `values` to `topic` with acks=all, each record in a record batch of its own
    /// (so every offset a consumer commits is a batch boundary: tansu 0.6 cannot fetch from
    /// inside a batch, docs/kafka.md).
    pub fn produce_unbatched(&self, topic: &str, values: &[Vec<u8>]) {
        self.produce_with(topic, values, &[("batch.num.messages", "1")]);
    }

    /// Produces `values` to `topic` with acks=all and the producer properties `extra`.
    pub fn produce_with(&self, topic: &str, values: &[Vec<u8>], extra: &[(&str, &str)]) {
        let mut c = self.config();
        c.set("acks", "all");
        for (k, v) in extra {
            c.set(*k, *v);
        }
        let p: FutureProducer = c.create().unwrap();
        let rt = runtime();
        rt.block_on(async {
            let mut fs = Vec::new();
            for v in values {
                let r: FutureRecord<'_, (), [u8]> = FutureRecord::to(topic).payload(v);
                fs.push(p.send_result(r).map_err(|(e, _)| e).unwrap());
            }
            for f in fs {
                f.await.unwrap().map_err(|(e, _)| e).unwrap();
            }
        });
    }

    /// Reads every record of `topic` from the beginning until `want` records were seen or
    /// nothing new came for `quiet`; returns (value, headers) pairs.
    pub fn consume_all(
        &self,
        topic: &str,
        want: usize,
        quiet: Duration,
    ) -> Vec<(Vec<u8>, BTreeMap<String, String>)> {
        let c: BaseConsumer = self
            .config()
            .set("group.id", unique("reader"))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        c.subscribe(&[topic]).unwrap();
        let mut out = Vec::new();
        let end = Instant::now() + WAIT;
        // The quiet time counts from the last record, not from the subscription: joining the
        // group can take seconds on a loaded machine.
        let mut last: Option<Instant> = None;
        while out.len() < want && Instant::now() < end && last.is_none_or(|t| t.elapsed() < quiet) {
            match c.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => {
                    let mut h = BTreeMap::new();
                    if let Some(hs) = m.headers() {
                        for i in 0..hs.count() {
                            let x = hs.get(i);
                            h.insert(
                                x.key.to_owned(),
                                String::from_utf8_lossy(x.value.unwrap_or(&[])).into_owned(),
                            );
                        }
                    }
                    out.push((m.payload().unwrap_or(&[]).to_vec(), h));
                    last = Some(Instant::now());
                }
                Some(Err(e)) => eprintln!("consume: {e}"),
                None => {}
            }
        }
        out
    }
}

impl Broker {
    /// Every record of `topic` as (partition, offset, value), read from the beginning of each
    /// partition by a plain consumer that is not Sluice's (librdkafka's own, no group
    /// offsets), until nothing new came for `quiet` (at most [`WAIT`]).
    pub fn read_topic(&self, topic: &str, quiet: Duration) -> Vec<(i32, i64, Vec<u8>)> {
        let c: BaseConsumer = self
            .config()
            .set("group.id", unique("audit"))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        c.subscribe(&[topic]).unwrap();
        let mut out = Vec::new();
        let end = Instant::now() + WAIT;
        let mut last = Instant::now();
        while Instant::now() < end && last.elapsed() < quiet {
            match c.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => {
                    out.push((
                        m.partition(),
                        m.offset(),
                        m.payload().unwrap_or(&[]).to_vec(),
                    ));
                    last = Instant::now();
                }
                Some(Err(e)) => eprintln!("audit consume: {e}"),
                None => {}
            }
        }
        out
    }
}

impl Broker {
    /// Whether the broker serves any record of `topic`/`partition` to a plain consumer that
    /// starts at `offset` (assigned, no group), within `wait`.
    pub fn serves_from(&self, topic: &str, partition: i32, offset: i64, wait: Duration) -> bool {
        let c: BaseConsumer = self
            .config()
            .set("group.id", unique("probe"))
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, rdkafka::Offset::Offset(offset))
            .unwrap();
        c.assign(&tpl).unwrap();
        let end = Instant::now() + wait;
        while Instant::now() < end {
            if let Some(Ok(_)) = c.poll(Duration::from_millis(200)) {
                return true;
            }
        }
        false
    }

    /// Commits offset `offset` of partition `partition` of `topic` for group `group` (a
    /// client outside the group, as an operator's offset tool).
    pub fn commit_offset(&self, topic: &str, group: &str, partition: i32, offset: i64) {
        let c: BaseConsumer = self
            .config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, rdkafka::Offset::Offset(offset))
            .unwrap();
        c.commit(&tpl, rdkafka::consumer::CommitMode::Sync).unwrap();
        assert_eq!(
            self.committed(topic, group, partition + 1).get(&partition),
            Some(&offset)
        );
    }

    /// The offsets group `group` committed for partitions `0..partitions` of `topic` (absent:
    /// none committed), read with OffsetFetch by a client that does not join the group.
    pub fn committed(&self, topic: &str, group: &str, partitions: i32) -> BTreeMap<i32, i64> {
        let c: BaseConsumer = self
            .config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut tpl = rdkafka::TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition(topic, p);
        }
        let got = c.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
        got.elements()
            .iter()
            .filter_map(|e| match e.offset() {
                rdkafka::Offset::Offset(o) => Some((e.partition(), o)),
                _ => None,
            })
            .collect()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
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
