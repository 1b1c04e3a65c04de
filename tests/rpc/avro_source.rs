//! The `avro` source in an in-process agent on loopback: a plain Avro IPC client written here
//! from the protocol (not Sluice's codec), Sluice's own client, pipelined calls, FAILED from a
//! full channel, and bad input (random bytes, a frame announcing 2 GiB, an unknown protocol,
//! a client that stops mid-frame, 1,000 idle connections) while a well-behaved client is
//! still served.

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
use sluice::agent::rpc::transport::LinkError;
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

/// Calls written together to an idle connection are one transaction: the first waits for the
/// calls whose bytes came with it instead of being put alone (before, it was put at once and
/// at most the three behind it joined each other: `CallsJoinedCount` grew by 2 a burst at most).
/// A burst whose calls are split by a scheduling delay over `GATHER_MAX` joins fewer, so the
/// test tries up to 20 bursts for one that joined all four.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_written_together_to_an_idle_connection_are_put_in_one_transaction() {
    let bed = start("", "").await;
    let (port, registry) = (bed.port, bed.registry.clone());
    let joined = move || {
        let g = registry.get("SOURCE.r1").unwrap();
        g.snapshot()
            .get("CallsJoinedCount")
            .map_or(0, |v| v.parse::<u64>().unwrap())
    };
    let (whole, bursts, sent) = tokio::task::spawn_blocking(move || {
        let mut s = connect(port);
        let first = plain::request(true, "append", &[("k", "v", b"hello")]);
        s.write_all(&plain::frame(1, &first)).unwrap();
        assert_eq!(plain::read_frame(&mut s).unwrap().0, 1);
        let (mut whole, mut bursts, mut sent) = (false, 0, 1);
        while !whole && bursts < 20 {
            let before = joined();
            let mut bytes = Vec::new();
            for c in 0..4 {
                let body = format!("b{bursts}-c{c}");
                let events: [(&str, &str, &[u8]); 1] = [("k", "v", body.as_bytes())];
                let call = plain::request(false, "appendBatch", &events);
                bytes.extend(plain::frame(10 + c, &call));
            }
            s.write_all(&bytes).unwrap();
            for c in 0..4 {
                assert_eq!(plain::read_frame(&mut s).unwrap(), (10 + c, vec![0, 0, 0]));
            }
            bursts += 1;
            sent += 4;
            whole = joined() - before == 3;
        }
        (whole, bursts, sent)
    })
    .await
    .unwrap();
    assert!(
        whole,
        "no burst of four calls was one transaction in {bursts}"
    );
    let lines = bed.wait_lines(sent).await;
    assert_eq!(lines.len(), sent);
    assert_eq!(lines[1], "b0-c0");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_closes_only_its_connection_and_a_good_client_is_still_served() {
    let bed = start(
        "a1.sources.r1.request-timeout = 300\na1.sources.r1.max-events-per-call = 10\n",
        "",
    )
    .await;
    let port = bed.port;
    let mut good = AvroClient::connect(&bed.addr(), AvroClientConfig::default())
        .await
        .unwrap();
    let bad = tokio::task::spawn_blocking(move || {
        let mut closed = 0;
        // Random bytes (a negative buffer count).
        let mut s = connect(port);
        s.write_all(&[0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0xfa, 0xce, 1, 2, 3])
            .unwrap();
        closed += plain::closed_by_server(&mut s) as usize;
        // A frame announcing 2 GiB: refused from its header, nothing of it is awaited.
        let mut s = connect(port);
        let mut f = vec![0, 0, 0, 1, 0, 0, 0, 1];
        f.extend_from_slice(&i32::MAX.to_be_bytes());
        s.write_all(&f).unwrap();
        closed += plain::closed_by_server(&mut s) as usize;
        // A handshake with an unknown protocol gets NONE + an error, then the close.
        let mut s = connect(port);
        let mut p = vec![7u8; 16];
        p.push(2);
        plain::string(&mut p, br#"{"protocol":"Mail","messages":{}}"#);
        p.extend_from_slice(&plain::FLUME_MD5);
        p.push(0);
        p.push(0);
        plain::string(&mut p, b"append");
        s.write_all(&plain::frame(1, &p)).unwrap();
        let (serial, answer) = plain::read_frame(&mut s).unwrap();
        assert_eq!(serial, 1);
        assert_eq!(answer[0], 4, "NONE");
        assert!(String::from_utf8_lossy(&answer).contains("Mail"));
        closed += plain::closed_by_server(&mut s) as usize;
        // A client that stops in the middle of a frame.
        let mut s = connect(port);
        s.write_all(&[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 100, 1, 2, 3])
            .unwrap();
        closed += plain::closed_by_server(&mut s) as usize;
        // More events than max-events-per-call.
        let mut s = connect(port);
        let many: Vec<(&str, &str, &[u8])> = (0..11).map(|_| ("k", "v", &b"x"[..])).collect();
        s.write_all(&plain::frame(
            1,
            &plain::request(true, "appendBatch", &many),
        ))
        .unwrap();
        closed += plain::closed_by_server(&mut s) as usize;
        closed
    });
    // Meanwhile the good client keeps going.
    for i in 0..20 {
        good.append_batch(&[Event::new(format!("good{i}"))])
            .await
            .unwrap();
    }
    assert_eq!(
        bad.await.unwrap(),
        5,
        "every bad connection was closed by the source"
    );
    good.append_batch(&[Event::new("after")]).await.unwrap();
    let lines = bed.wait_lines(21).await;
    assert_eq!(lines.last().map(String::as_str), Some("after"));
    assert_eq!(bed.counter("EventReadFail"), 5);
    assert_eq!(bed.counter("EventAcceptedCount"), 21);
    bed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_do_not_stop_a_good_client() {
    let bed = start("", "").await;
    let port = bed.port;
    let idle = tokio::task::spawn_blocking(move || {
        (0..1000)
            .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let end = Instant::now() + WAIT;
    while bed.counter("OpenConnectionCount") < 1000 {
        assert!(Instant::now() < end, "connections not accepted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut c = AvroClient::connect(&bed.addr(), AvroClientConfig::default())
        .await
        .unwrap();
    for i in 0..10 {
        c.append_batch(&[Event::new(format!("g{i}"))])
            .await
            .unwrap();
    }
    assert_eq!(bed.wait_lines(10).await.len(), 10);
    assert_eq!(bed.counter("OpenConnectionCount"), 1001);
    drop(idle);
    drop(c);
    let end = Instant::now() + WAIT;
    while bed.counter("OpenConnectionCount") > 0 {
        assert!(Instant::now() < end, "closed connections still counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_max_connections_are_closed_at_once() {
    let bed = start("a1.sources.r1.max-connections = 2\n", "").await;
    // The start's probe connection must be gone, or it holds one of the two places. Its
    // connect returned from the kernel's backlog, so it may not even be accepted yet: wait
    // until the source has seen its peer (UpstreamPeerCount) and counts it closed.
    let end = Instant::now() + WAIT;
    while bed.counter("OpenConnectionCount") > 0 || bed.counter("UpstreamPeerCount") < 1 {
        assert!(
            Instant::now() < end,
            "the probe connection not accepted and closed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _a = AvroClient::connect(&bed.addr(), AvroClientConfig::default())
        .await
        .unwrap();
    let _b = AvroClient::connect(&bed.addr(), AvroClientConfig::default())
        .await
        .unwrap();
    let cfg = AvroClientConfig {
        connect_timeout: Duration::from_secs(5),
        ..AvroClientConfig::default()
    };
    let e = AvroClient::connect(&bed.addr(), cfg).await.unwrap_err();
    assert!(
        matches!(
            e,
            RpcError::Closed { .. } | RpcError::Link(LinkError::Io { .. })
        ),
        "{e}"
    );
    // Counted as the line sources count theirs (the shared listener).
    let end = Instant::now() + WAIT;
    while bed.counter("ConnectionRefusedCount") < 1 {
        assert!(Instant::now() < end, "the refusal was not counted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bed.stop().await;
}

/// Calls between 8 and 64 KiB: alone, each is decoded and put on one blocking thread; read
/// behind others (written together), one of few events (a batch of longer lines) is decoded
/// on the connection's task and one of thousands of tiny events (over the inline cost cap)
/// off the workers. Every kind arrives whole and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mid_sized_calls_of_few_or_of_thousands_of_events_arrive_whole_and_in_order() {
    let bed = start(
        "",
        "a1.channels.c1.capacity = 100000\na1.channels.c1.transactionCapacity = 20000\n",
    )
    .await;
    let port = bed.port;
    let want = tokio::task::spawn_blocking(move || {
        // 100 lines of 250 bytes (~27 KiB: inline), 5,000 of 1-4 bytes (~40 KiB: over the cap).
        let few: Vec<String> = (0..100).map(|i| format!("{i:0>250}")).collect();
        let many: Vec<String> = (0..5000).map(|i| format!("{i}")).collect();
        let call = |lines: &[String]| {
            let events: Vec<(&str, &str, &[u8])> =
                lines.iter().map(|l| ("k", "v", l.as_bytes())).collect();
            plain::request(false, "appendBatch", &events)
        };
        let mut s = connect(port);
        let first = plain::request(true, "append", &[("k", "v", b"hello")]);
        s.write_all(&plain::frame(1, &first)).unwrap();
        assert_eq!(plain::read_frame(&mut s).unwrap().0, 1);
        let (a, b) = (call(&few), call(&many));
        assert!(a.len() > 8 << 10 && a.len() < 64 << 10, "{}", a.len());
        assert!(b.len() > 8 << 10 && b.len() < 64 << 10, "{}", b.len());
        let mut want = vec!["hello".to_owned()];
        // One at a time, then the four written together (read ahead, put as a group).
        for (serial, p) in [(2, &a), (3, &b)] {
            s.write_all(&plain::frame(serial, p)).unwrap();
            assert_eq!(plain::read_frame(&mut s).unwrap(), (serial, vec![0, 0, 0]));
        }
        let mut burst = Vec::new();
        for (serial, p) in [(4, &b), (5, &a), (6, &a), (7, &b)] {
            burst.extend(plain::frame(serial, p));
        }
        s.write_all(&burst).unwrap();
        for serial in 4..8 {
            assert_eq!(plain::read_frame(&mut s).unwrap(), (serial, vec![0, 0, 0]));
        }
        for lines in [&few, &many, &many, &few, &few, &many] {
            want.extend(lines.iter().cloned());
        }
        want
    })
    .await
    .unwrap();
    let lines = bed.wait_lines(want.len()).await;
    assert_eq!(lines.len(), want.len());
    assert!(lines == want, "the lines differ from what was sent");
    bed.stop().await;
}
