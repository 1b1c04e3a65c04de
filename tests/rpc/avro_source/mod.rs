//! The `avro` source in an in-process agent on loopback: a plain Avro IPC client written here
//! from the protocol (not Sluice's codec), Sluice's own client, pipelined calls, FAILED from a
//! full channel, and bad input (random bytes, a frame announcing 2 GiB, an unknown protocol,
//! a client that stops mid-frame, 1,000 idle connections) while a well-behaved client is
//! still served.
//!
//! This file holds the test bed and the clients; `batching.rs` calls gathered into one
//! transaction and mid-sized calls; `hostile.rs` bad input and too many connections.

mod batching;
mod hostile;

use crate::support::avro_plain as plain;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::ports;
use ports::free_port;
use sluice::agent::metrics::Registry;
use sluice::agent::rpc::avro_client::{AvroClient, AvroClientConfig, RpcError};
use sluice::agent::runtime::Agent;
use sluice::agent::topology as config;
use sluice::wire::avro::Status;
use sluice_core::Event;

const WAIT: Duration = Duration::from_secs(20);

struct Bed {
    agent: Option<Agent>,
    registry: Arc<Registry>,
    port: u16,
    out: std::path::PathBuf,
    _tmp: tempfile::TempDir,
}

/// avro source -> memory channel -> file_roll (one event per line), plus `extra` source keys.
async fn start(extra: &str, channel: &str) -> Bed {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let port = free_port();
    let text = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = avro\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {port}\n\
         a1.sources.r1.channels = c1\n{extra}\
         a1.channels.c1.type = memory\n{channel}\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {}\na1.sinks.k1.sink.rollInterval = 0\n",
        out.display()
    );
    let loaded = config::load(&text, "a1", &[]);
    let cfg = loaded
        .config
        .unwrap_or_else(|| panic!("{:?}", loaded.problems));
    let registry = Arc::new(Registry::default());
    let agent = Agent::start(cfg, registry.clone()).await.unwrap();
    let end = Instant::now() + WAIT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < end, "source never listened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Bed {
        agent: Some(agent),
        registry,
        port,
        out,
        _tmp: tmp,
    }
}

impl Bed {
    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A counter of the source, 0 while it is not in the snapshot yet (some appear with
    /// their first count).
    fn counter(&self, name: &str) -> u64 {
        let g = self.registry.get("SOURCE.r1").unwrap();
        g.snapshot().get(name).map_or(0, |v| v.parse().unwrap())
    }

    async fn wait_lines(&self, n: usize) -> Vec<String> {
        let end = Instant::now() + WAIT;
        loop {
            let lines = read_lines(&self.out);
            if lines.len() >= n {
                return lines;
            }
            assert!(
                Instant::now() < end,
                "only {} of {n} lines arrived",
                lines.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(mut self) {
        if let Some(a) = self.agent.take() {
            a.shutdown().await;
        }
    }
}

fn read_lines(dir: &Path) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_avro_ipc_client_gets_ok_for_pipelined_calls_answered_by_serial() {
    let bed = start("", "").await;
    let port = bed.port;
    tokio::task::spawn_blocking(move || {
        let mut s = connect(port);
        let events: [(&str, &str, &[u8]); 2] = [("host", "h1", b"one"), ("host", "h1", b"two")];
        let mut bytes = plain::frame(41, &plain::request(true, "appendBatch", &events));
        bytes.extend(plain::frame(
            42,
            &plain::request(false, "append", &[("k", "v", b"three")]),
        ));
        bytes.extend(plain::frame(43, &plain::request(false, "appendBatch", &[])));
        s.write_all(&bytes).unwrap();
        assert_eq!(
            plain::read_frame(&mut s).unwrap(),
            (41, vec![0, 0, 0, 0, 0, 0, 0])
        );
        assert_eq!(plain::read_frame(&mut s).unwrap(), (42, vec![0, 0, 0]));
        assert_eq!(plain::read_frame(&mut s).unwrap(), (43, vec![0, 0, 0]));
    })
    .await
    .unwrap();
    let lines = bed.wait_lines(3).await;
    assert_eq!(lines, vec!["one", "two", "three"]);
    assert_eq!(bed.counter("AppendBatchReceivedCount"), 2);
    assert_eq!(bed.counter("AppendBatchAcceptedCount"), 2);
    assert_eq!(bed.counter("AppendReceivedCount"), 1);
    assert_eq!(bed.counter("AppendAcceptedCount"), 1);
    assert_eq!(bed.counter("EventAcceptedCount"), 3);
    assert_eq!(bed.counter("UpstreamPeerCount"), 1);
    bed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sluices_client_delivers_batches_and_a_full_channel_answers_failed() {
    let bed = start(
        "",
        "a1.channels.c1.capacity = 100\na1.channels.c1.transactionCapacity = 100\n",
    )
    .await;
    let mut c = AvroClient::connect(&bed.addr(), AvroClientConfig::default())
        .await
        .unwrap();
    let batch: Vec<Event> = (0..50).map(|i| Event::new(format!("e{i}"))).collect();
    c.append_batch(&batch).await.unwrap();
    let too_big: Vec<Event> = (0..150).map(|i| Event::new(format!("x{i}"))).collect();
    let e = c.append_batch(&too_big).await.unwrap_err();
    assert!(
        matches!(
            e,
            RpcError::Status {
                status: Status::Failed,
                ..
            }
        ),
        "{e}"
    );
    // The connection is still good after FAILED.
    c.append(&Event::new("last")).await.unwrap();
    let lines = bed.wait_lines(51).await;
    assert_eq!(lines.len(), 51);
    assert_eq!(lines[0], "e0");
    assert_eq!(lines[50], "last");
    assert_eq!(bed.counter("ChannelWriteFail"), 1);
    assert_eq!(bed.counter("EventReceivedCount"), 201);
    assert_eq!(bed.counter("EventAcceptedCount"), 51);
    bed.stop().await;
}
