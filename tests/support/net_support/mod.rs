//! Shared helpers of the network source tests: a source run in-process from a properties
//! text into a memory channel, free loopback ports, and a minimal HTTP/1.1 client.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::ports;
pub use ports::free_port;
use sluice::agent::channel::memory::MemoryChannel;
use sluice::agent::channel::memory::MemoryConfig;
use sluice::agent::channel::AgentChannel;
use sluice::agent::metrics::CounterGroup;
use sluice::agent::router::ChannelProcessor;
use sluice::agent::source::{self, SourceCtx};
use sluice::agent::stop::{self, StopHandle};
use sluice::agent::topology::load;
use sluice_core::Event;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Bound of every wait in these tests.
pub const WAIT: Duration = Duration::from_secs(20);

/// A UDP port ([`free_port`] checks both protocols).
pub fn free_udp_port() -> u16 {
    free_port()
}

/// A source running in this process, writing into memory channel `c1`.
pub struct Running {
    pub channel: MemoryChannel,
    pub counters: Arc<CounterGroup>,
    stop: StopHandle,
    task: tokio::task::JoinHandle<Result<(), source::SourceError>>,
}

/// Starts source `r1` of agent `a1` described by `source_props` (lines without the
/// `a1.sources.r1.` prefix), with a memory channel of `capacity` events.
pub fn start(source_props: &str, capacity: u64, tx: u64) -> Running {
    let mut text = String::from("a1.sources = r1\na1.channels = c1\na1.sinks = k1\n");
    for line in source_props.lines().filter(|l| !l.trim().is_empty()) {
        text.push_str(&format!("a1.sources.r1.{}\n", line.trim()));
    }
    text.push_str(&format!(
        "a1.sources.r1.channels = c1\na1.channels.c1.type = memory\n\
         a1.channels.c1.capacity = {capacity}\na1.channels.c1.transactionCapacity = {tx}\n\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\na1.sinks.k1.batchSize = {tx}\n"
    ));
    let loaded = load(&text, "a1", &[]);
    let cfg = loaded
        .config
        .unwrap_or_else(|| panic!("config refused: {:?}", loaded.problems));
    let channel = MemoryChannel::new(
        "c1",
        MemoryConfig {
            capacity,
            transaction_capacity: tx,
            keep_alive: Duration::ZERO,
            byte_capacity: None,
            byte_capacity_buffer_percentage: 0,
            drain_timeout: Duration::ZERO,
        },
    );
    let mut chans: BTreeMap<String, Arc<dyn AgentChannel>> = BTreeMap::new();
    chans.insert("c1".into(), Arc::new(channel.clone()));
    let src = &cfg.sources["r1"];
    let router = Arc::new(ChannelProcessor::new(src, &chans).unwrap());
    let (stop, rx) = stop::channel();
    let counters = CounterGroup::source();
    let ctx = SourceCtx {
        name: "r1".into(),
        router,
        counters: counters.clone(),
        stop: rx,
        alarms: Default::default(),
        ready: Default::default(),
    };
    let task = tokio::spawn(src.kind.clone().run(ctx));
    Running {
        channel,
        counters,
        stop,
        task,
    }
}

impl Running {
    /// Takes everything in the channel now.
    pub async fn drain(&self) -> Vec<Event> {
        let mut tx = self.channel.begin();
        let got = tx.take_up_to(1_000_000).await.unwrap();
        tx.commit().await.unwrap();
        got
    }

    /// Takes events until `n` were taken (or fails after [`WAIT`]).
    pub async fn take_n(&self, n: usize) -> Vec<Event> {
        let end = Instant::now() + WAIT;
        let mut all = Vec::new();
        while all.len() < n {
            assert!(
                Instant::now() < end,
                "only {} of {n} events arrived",
                all.len()
            );
            all.extend(self.drain().await);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        all
    }

    /// Stops the source and waits for it to end.
    pub async fn stop(self) {
        self.stop.stop();
        let r = tokio::time::timeout(WAIT, self.task).await;
        assert!(
            matches!(r, Ok(Ok(Ok(())))),
            "source did not stop cleanly: {r:?}"
        );
    }
}

/// Connects to a loopback port, retrying while the source starts.
pub async fn connect(port: u16) -> TcpStream {
    let end = Instant::now() + WAIT;
    loop {
        match TcpStream::connect(("127.0.0.1", port)).await {
            Ok(s) => return s,
            Err(e) => {
                assert!(Instant::now() < end, "cannot connect to {port}: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// One HTTP/1.1 request on a kept-alive connection; returns status and body.
pub async fn request(
    conn: &mut BufReader<TcpStream>,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, String) {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    let s = conn.get_mut();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    read_response(conn).await
}

/// Reads one response (status, body by Content-Length).
pub async fn read_response<S: tokio::io::AsyncRead + Unpin>(
    conn: &mut BufReader<S>,
) -> (u16, String) {
    let fut = async {
        let mut line = String::new();
        conn.read_line(&mut line).await.unwrap();
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_else(|| panic!("bad status line {line:?}"))
            .parse()
            .unwrap();
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            conn.read_line(&mut h).await.unwrap();
            if h == "\r\n" || h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0u8; len];
        conn.read_exact(&mut body).await.unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    };
    tokio::time::timeout(WAIT, fut)
        .await
        .expect("response in time")
}

pub fn h<'a>(e: &'a Event, k: &str) -> Option<&'a str> {
    e.headers.get(k)
}

/// The test keystore (PEM: certificate for localhost/127.0.0.1 and its key).
pub fn keystore() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/net_support/tls/keystore.pem")
}

/// A TLS connection to a loopback port, trusting only the test CA.
pub async fn connect_tls(port: u16) -> tokio_rustls::client::TlsStream<TcpStream> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
    let ca = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/net_support/tls/ca.pem");
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(ca).unwrap())
        .unwrap();
    let cfg =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let tcp = connect(port).await;
    let name = ServerName::try_from("localhost").unwrap();
    tokio::time::timeout(
        WAIT,
        tokio_rustls::TlsConnector::from(Arc::new(cfg)).connect(name, tcp),
    )
    .await
    .expect("handshake in time")
    .expect("handshake")
}
