//! The avro sink against a scripted fake avro source (the pure server state machine on a
//! loopback socket): each failure mode rolls the take back, and nothing is lost.
//! Here: the fake source and the helpers; the tests, by behaviour, in `conn_tests.rs`,
//! `retry_tests.rs`, `keys_tests.rs` and `pipe_tests.rs`.

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
    /// `OK` after [`SLOW_ANSWER`].
    Slow,
}

/// How long an [`Answer::Slow`] call waits for its answer.
const SLOW_ANSWER: Duration = Duration::from_millis(15);

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
                                        Answer::Slow => {
                                            tokio::time::sleep(SLOW_ANSWER).await;
                                            fake.accepted.lock().extend(events);
                                            Status::Ok
                                        }
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
        SinkUnit::new(
            Box::new(AvroSink::new("k1", cfg)),
            ch.clone(),
            4,
            counters.clone(),
            crate::agent::sink::poison::PoisonHandler::new("k1", None),
        ),
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

#[path = "conn_tests.rs"]
mod conn;

#[path = "retry_tests.rs"]
mod retry;

#[path = "keys_tests.rs"]
mod keys;

#[path = "pipe_tests.rs"]
mod pipe;
