//! The avro sink against a scripted fake avro source (the pure server state machine on a
//! loopback socket): each failure mode rolls the take back, and nothing is lost.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::agent::channel::memory::MemoryChannel;
use crate::agent::channel::memory::MemoryConfig;
use crate::agent::channel::AgentChannel;
use crate::agent::metrics::CounterGroup;
use crate::agent::processor::SinkPolicy;
use crate::agent::sink::runner::{self, SinkUnit};
use crate::wire::avro::call::CallLimits;
use crate::wire::avro::server::{Action, ServerConn};
use crate::wire::avro::{encode_frame, FrameLimits, FrameReader, KnownClients, Status};

/// What the fake source does with the n-th call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    Ok,
    Failed,
    /// Never answers (and keeps the connection open).
    Silent,
    /// Writes half of an `OK` answer, then closes.
    CloseMidResponse,
}

#[derive(Clone, Default)]
struct Fake {
    /// Events of calls answered `OK`, in order.
    accepted: Arc<Mutex<Vec<Event>>>,
    calls: Arc<AtomicUsize>,
}

impl Fake {
    /// Serves `listener` with `script` for the first calls, `OK` after it.
    fn serve(&self, listener: TcpListener, script: Vec<Answer>) -> tokio::task::JoinHandle<()> {
        let fake = self.clone();
        let script = Arc::new(script);
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let fake = fake.clone();
                let script = script.clone();
                tokio::spawn(async move {
                    let mut conn = ServerConn::new(CallLimits::default());
                    let mut known = KnownClients::default();
                    let mut reader = FrameReader::new(FrameLimits::default());
                    loop {
                        while let Ok(Some(f)) = reader.next_frame() {
                            let mut out = Vec::new();
                            match conn.on_request(&f.payload, &mut known) {
                                Ok(Action::Reply(b)) => encode_frame(f.serial, &b, &mut out),
                                Ok(Action::Put {
                                    events, handshake, ..
                                }) => {
                                    let n = fake.calls.fetch_add(1, Ordering::SeqCst);
                                    let answer = script.get(n).copied().unwrap_or(Answer::Ok);
                                    let status = match answer {
                                        Answer::Ok => {
                                            fake.accepted.lock().extend(events);
                                            Status::Ok
                                        }
                                        Answer::Failed => Status::Failed,
                                        Answer::Silent => {
                                            let mut sink = [0u8; 1024];
                                            while matches!(s.read(&mut sink).await, Ok(n) if n > 0)
                                            {
                                            }
                                            return;
                                        }
                                        Answer::CloseMidResponse => Status::Ok,
                                    };
                                    encode_frame(
                                        f.serial,
                                        &ServerConn::status_reply(handshake, status),
                                        &mut out,
                                    );
                                    if answer == Answer::CloseMidResponse {
                                        out.truncate(out.len() / 2);
                                        let _ = s.write_all(&out).await;
                                        return;
                                    }
                                }
                                _ => return,
                            }
                            if s.write_all(&out).await.is_err() {
                                return;
                            }
                        }
                        match s.read_buf(reader.read_buffer(4096)).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                    }
                });
            }
        })
    }
}

fn events(n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| Event::new(format!("line {i}")).header("i", i.to_string()))
        .collect()
}

async fn memory_channel(events: Vec<Event>) -> Arc<MemoryChannel> {
    let ch = Arc::new(MemoryChannel::new(
        "c1",
        MemoryConfig::sized(1000, 100, Duration::from_secs(1)),
    ));
    let mut tx = ch.begin();
    tx.put_all(events).await.unwrap();
    tx.commit().await.unwrap();
    ch
}

fn sink_config(port: u16) -> AvroSinkConfig {
    let mut cfg = AvroSinkConfig::new("edge", "127.0.0.1", port);
    cfg.batch_size = 4;
    cfg.timings.connect_timeout = Duration::from_secs(2);
    cfg.timings.request_timeout = Duration::from_secs(2);
    cfg.timings.reconnect_backoff_max = Duration::from_millis(20);
    cfg
}

async fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failed_call_rolls_the_take_back_and_nothing_is_lost() {
    let (l, port) = listener().await;
    let fake = Fake::default();
    let script = vec![
        Answer::Failed,
        Answer::Silent,
        Answer::CloseMidResponse,
        Answer::Failed,
    ];
    fake.serve(l, script);
    let sent = events(10);
    let ch = memory_channel(sent.clone()).await;
    let counters = CounterGroup::sink();
    let (_stop_handle, stop) = crate::agent::stop::channel();
    let mut sink = AvroSink::new("k1", sink_config(port));
    sink.attach(counters.clone(), stop);
    let mut failures = 0;
    for _ in 0..200 {
        if sink.prepare().await.is_err() {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        let before = ch.len();
        let mut tx = ch.begin();
        let batch = tx.take_up_to(4).await.unwrap();
        if batch.is_empty() {
            break;
        }
        match sink.deliver(&batch).await {
            Ok(()) => tx.commit().await.unwrap(),
            Err(e) => {
                failures += 1;
                assert!(!sink.connected(), "a failed call drops the connection: {e}");
                tx.rollback().await;
                assert_eq!(ch.len(), before, "the take went back to the channel");
            }
        }
    }
    assert_eq!(failures, 4);
    assert!(ch.is_empty());
    assert_eq!(*fake.accepted.lock(), sent, "every event once, in order");
    assert_eq!(counters.get("ConnectionCreatedCount"), 5);
    assert_eq!(counters.get("ConnectionClosedCount"), 4);
    assert_eq!(counters.get("ConnectionFailedCount"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sink_reconnects_by_itself_when_the_downstream_comes_back() {
    let (l, port) = listener().await;
    drop(l);
    let counters = CounterGroup::sink();
    let (_h, stop) = crate::agent::stop::channel();
    let mut cfg = sink_config(port);
    cfg.timings.reconnect_backoff_max = Duration::from_millis(400);
    let mut sink = AvroSink::new("k1", cfg);
    sink.attach(counters.clone(), stop);
    let e = sink.prepare().await.unwrap_err();
    assert!(e.to_string().contains("cannot connect"), "{e}");
    assert_eq!(e.kind(), crate::agent::sink::SinkErrorKind::Connect);
    assert!(e.retryable());
    assert_eq!(counters.get("ConnectionFailedCount"), 1);
    // Within the backoff no attempt is made, and the error says so.
    let e = sink.prepare().await.unwrap_err();
    assert!(e.to_string().contains("next attempt in"), "{e}");
    assert_eq!(e.kind(), crate::agent::sink::SinkErrorKind::Connect);
    assert_eq!(counters.get("ConnectionFailedCount"), 1);
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(!sink.down_for().is_zero());
    let snap = counters.snapshot();
    assert!(snap.contains_key("ConnectionDownMillis"), "{snap:?}");
    // The downstream comes back on the same port.
    let l = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let fake = Fake::default();
    fake.serve(l, Vec::new());
    let mut ok = false;
    for _ in 0..100 {
        if sink.prepare().await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "the sink reconnected");
    assert_eq!(sink.down_for(), Duration::ZERO);
    assert_eq!(counters.snapshot()["ConnectionDownMillis"], "0");
    sink.deliver(&events(3)).await.unwrap();
    assert_eq!(*fake.accepted.lock(), events(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_closed_by_the_downstream_is_replaced_before_the_take() {
    let (l, port) = listener().await;
    let (_h, stop) = crate::agent::stop::channel();
    let counters = CounterGroup::sink();
    let mut sink = AvroSink::new("k1", sink_config(port));
    sink.attach(counters.clone(), stop);
    // A server that accepts, answers the handshake ping, then closes.
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut conn = ServerConn::new(CallLimits::default());
        let mut known = KnownClients::default();
        let mut reader = FrameReader::new(FrameLimits::default());
        loop {
            if let Ok(Some(f)) = reader.next_frame() {
                if let Ok(Action::Reply(b)) = conn.on_request(&f.payload, &mut known) {
                    let mut out = Vec::new();
                    encode_frame(f.serial, &b, &mut out);
                    s.write_all(&out).await.unwrap();
                }
                break;
            }
            s.read_buf(reader.read_buffer(4096)).await.unwrap();
        }
        drop(s);
        l
    });
    sink.prepare().await.unwrap();
    let l = server.await.unwrap();
    let fake = Fake::default();
    fake.serve(l, Vec::new());
    let mut delivered = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        sink.prepare().await.unwrap();
        if counters.get("ConnectionCreatedCount") == 2 {
            sink.deliver(&events(2)).await.unwrap();
            delivered = true;
            break;
        }
    }
    assert!(delivered, "the closed connection was noticed and replaced");
    assert_eq!(counters.get("ConnectionClosedCount"), 1);
    assert_eq!(*fake.accepted.lock(), events(2));
}

/// Runs the sink over `ch` until `drained` events were committed as delivered and the
/// channel is empty, or `within`; then stops it.
async fn run_until_drained(
    ch: Arc<MemoryChannel>,
    cfg: AvroSinkConfig,
    counters: Arc<CounterGroup>,
    drained: u64,
    within: Duration,
) {
    let mut units = std::collections::BTreeMap::new();
    units.insert(
        "k1".to_owned(),
        SinkUnit {
            sink: Box::new(AvroSink::new("k1", cfg)),
            channel: ch.clone(),
            batch_size: 4,
            counters: counters.clone(),
            poison: crate::agent::sink::poison::PoisonHandler::new("k1", None),
        },
    );
    let (h, stop) = crate::agent::stop::channel();
    let task = tokio::spawn(runner::run(
        "k1".into(),
        units,
        SinkPolicy::Default("k1".into()),
        stop,
    ));
    let until = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < until {
        if ch.is_empty() && counters.get("EventDrainSuccessCount") >= drained {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    h.stop();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_retries_a_refused_batch_until_the_downstream_accepts_it() {
    let (l, port) = listener().await;
    let fake = Fake::default();
    fake.serve(l, vec![Answer::Failed]);
    let sent = events(6);
    let ch = memory_channel(sent.clone()).await;
    let counters = CounterGroup::sink();
    // One call at a time (Flume's sink): nothing after the refused batch was sent.
    let cfg = AvroSinkConfig {
        calls_in_flight: 1,
        ..sink_config(port)
    };
    run_until_drained(
        ch.clone(),
        cfg,
        counters.clone(),
        6,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(*fake.accepted.lock(), sent);
    assert!(ch.is_empty());
    assert_eq!(counters.get("EventWriteFail"), 1);
    assert_eq!(counters.get("EventDrainSuccessCount"), 6);
    assert_eq!(counters.get("EventDrainAttemptCount"), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_abandons_a_call_the_downstream_never_answers_and_keeps_the_batch() {
    let (l, port) = listener().await;
    let fake = Fake::default();
    fake.serve(l, vec![Answer::Silent]);
    let ch = memory_channel(events(3)).await;
    let mut cfg = sink_config(port);
    cfg.timings.request_timeout = Duration::from_secs(600);
    let mut units = std::collections::BTreeMap::new();
    units.insert(
        "k1".to_owned(),
        SinkUnit {
            sink: Box::new(AvroSink::new("k1", cfg)),
            channel: ch.clone(),
            batch_size: 4,
            counters: CounterGroup::sink(),
            poison: crate::agent::sink::poison::PoisonHandler::new("k1", None),
        },
    );
    let (h, stop) = crate::agent::stop::channel();
    let task = tokio::spawn(runner::run(
        "k1".into(),
        units,
        SinkPolicy::Default("k1".into()),
        stop,
    ));
    for _ in 0..500 {
        if fake.calls.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
    h.stop();
    tokio::time::timeout(STOP_GRACE + Duration::from_secs(5), task)
        .await
        .expect("stop is bounded by the grace period")
        .unwrap();
    assert_eq!(ch.len(), 3, "the unanswered batch went back to the channel");
    assert!(fake.accepted.lock().is_empty());
}

#[test]
fn call_metadata_names_the_agent_and_the_sink() {
    use crate::wire::avro::binary::Reader;
    use crate::wire::avro::call::read_call;
    use crate::wire::avro::client::ClientConn;
    use crate::wire::avro::{HandshakeRequest, Message};
    let mut c = ClientConn::new();
    c.set_call_meta(vec![
        (META_AGENT.into(), b"edge".to_vec()),
        (META_SINK.into(), b"k1".to_vec()),
    ]);
    let bufs = c.request(Message::AppendBatch, &events(2));
    let payload = bufs.concat();
    let mut r = Reader::new(&payload);
    HandshakeRequest::decode(&mut r).unwrap();
    let call = read_call(&mut r, &CallLimits::default()).unwrap();
    assert_eq!(
        call.meta,
        vec![
            ("sluice.agent".to_owned(), b"edge".to_vec()),
            ("sluice.sink".to_owned(), b"k1".to_vec()),
        ]
    );
}

#[test]
fn avro_sink_keys_have_flumes_defaults_and_deflate_is_read() {
    use crate::agent::registry::SinkKind;
    use crate::agent::topology::load;
    let base = "a1.channels = c1\na1.channels.c1.type = memory\na1.sinks = k1\n\
                a1.sinks.k1.channel = c1\na1.sinks.k1.type = avro\n";
    let text = format!("{base}a1.sinks.k1.hostname = collector\na1.sinks.k1.port = 4141\n");
    let loaded = load(&text, "a1", &[]);
    let cfg = loaded.config.expect("valid");
    let SinkKind::Avro(c) = &cfg.sinks["k1"].kind else {
        panic!("not an avro sink")
    };
    assert_eq!(c, &AvroSinkConfig::new("a1", "collector", 4141));
    assert_eq!(c.batch_size, 100);
    assert_eq!(c.timings.connect_timeout, Duration::from_secs(20));
    assert_eq!(c.timings.request_timeout, Duration::from_secs(20));
    assert_eq!(c.timings.reset_connection_interval, None);
    assert!(c.timings.reconnect_backoff_max <= Duration::from_secs(5));
    let text = format!(
        "{base}a1.sinks.k1.type = org.apache.flume.sink.AvroSink\na1.sinks.k1.hostname = h\n\
         a1.sinks.k1.port = 1\na1.sinks.k1.compression-type = deflate\n"
    );
    let loaded = load(&text, "a1", &[]);
    let cfg = loaded.config.expect("deflate is Flume's and accepted");
    let SinkKind::Avro(c) = &cfg.sinks["k1"].kind else {
        panic!("not an avro sink")
    };
    assert_eq!(
        c.security.compression,
        crate::agent::rpc::transport::Compression::Deflate { level: 6 }
    );
    let text = text.replace("deflate", "gzip");
    let loaded = load(&text, "a1", &[]);
    assert!(loaded.config.is_none());
    let p = loaded
        .problems
        .iter()
        .find(|p| p.key == "a1.sinks.k1.compression-type")
        .expect("gzip refused");
    assert!(
        p.message.contains("supported: none, deflate"),
        "{}",
        p.message
    );
    let text = format!("{base}a1.sinks.k1.port = 99999\na1.sinks.k1.batch-size = 500\n");
    let loaded = load(&text, "a1", &[]);
    let keys: Vec<&str> = loaded.problems.iter().map(|p| p.key.as_str()).collect();
    assert!(keys.contains(&"a1.sinks.k1.hostname"), "{keys:?}");
    assert!(keys.contains(&"a1.sinks.k1.port"), "{keys:?}");
}

#[path = "pipe_tests.rs"]
mod pipe;
