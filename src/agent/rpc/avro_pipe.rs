//! Several `appendBatch` calls in flight on one Avro connection (the avro sink's
//! `max-calls-in-flight`): [`AvroPipe::send`] writes a call and returns at once with an
//! [`Answer`] to wait on; a reader task of the connection's own matches each answer frame to
//! its call by the frame's serial. Made from an [`AvroClient`] whose handshake is done, so no
//! call carries a handshake and any answer can be read without state.
//!
//! A server answers one connection's calls in order (Avro's `NettyServer`, Flume's and
//! Sluice's avro sources); matching by serial does not rely on it. Any failure (an answer
//! that is not `OK`, a bad frame, the connection closed or timed out) breaks the pipe: every
//! call still waiting fails, and the owner must drop the pipe and connect again
//! ([`AvroPipe::broken`]). Dropping the pipe with calls waiting (`reset-connection-interval`
//! between two batches while earlier ones are in flight) keeps its reader task until their
//! answers are read or `request-timeout` passed, so those calls still commit rather than time
//! out and go again (duplicates at a downstream without event ids); otherwise dropping it
//! stops the task.

use std::collections::HashMap;
use std::io::IoSlice;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::agent::histogram::Histogram;
use crate::agent::rpc::avro_client::AvroClient;
use crate::agent::rpc::error::RpcError;
use crate::agent::rpc::transport::{Conn, LinkError};
use crate::wire::avro::call::decode_response;
use crate::wire::avro::client::ClientConn;
use crate::wire::avro::{encode_frame_head_len, AvroError, FrameReader, Message, Outcome, Status};
use crate::wire::splice::{Spliced, SPLICE_BODY_MIN};
use sluice_core::Event;

/// Bytes asked of the socket per read.
const READ_CHUNK_BYTES: usize = 64 << 10;

/// What an [`Answer`] gives: `Ok` on the server's `OK`, else why not.
pub type Answered = Result<(), RpcError>;

/// The calls waiting for their answers, and whether the pipe broke (then why, and whether
/// a call failed with it or the peer only closed the idle connection).
#[derive(Debug, Default)]
struct Waiting {
    calls: HashMap<i32, oneshot::Sender<Answered>>,
    broken: Option<Arc<RpcError>>,
    failed: bool,
    /// The pipe was dropped with calls waiting: the reader ends after their last answer.
    retired: bool,
}

impl Waiting {
    /// Breaks the pipe: every call still waiting fails with `why`. `failed`: a call failed
    /// (else the pipe only failed if calls were waiting).
    fn break_with(&mut self, why: RpcError, failed: bool) -> Arc<RpcError> {
        self.failed |= failed || !self.calls.is_empty();
        let why = self.broken.get_or_insert(Arc::new(why)).clone();
        for (_, tx) in self.calls.drain() {
            let _ = tx.send(Err(RpcError::Broken(why.clone())));
        }
        why
    }
}

/// One connection to an Avro source with several calls in flight.
pub struct AvroPipe {
    addr: String,
    writer: WriteHalf<Conn>,
    vectored: bool,
    conn: ClientConn,
    out: Vec<u8>,
    head: Vec<u8>,
    params: Spliced,
    serial: i32,
    request_timeout: Duration,
    waiting: Arc<Mutex<Waiting>>,
    /// The reader task (taken at drop).
    reader: Option<JoinHandle<()>>,
    latency: Option<Arc<Histogram>>,
}

impl std::fmt::Debug for AvroPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AvroPipe({}, {} waiting)", self.addr, self.waiting())
    }
}

impl Drop for AvroPipe {
    /// Stops the reader task, unless calls the server may have taken still wait: then it
    /// reads their answers (so their takes commit) and ends after the last, or is stopped
    /// `request-timeout` from now, when every one of them has timed out anyway.
    fn drop(&mut self) {
        let Some(reader) = self.reader.take() else {
            return;
        };
        {
            let mut w = self.waiting.lock();
            if w.calls.is_empty() || w.broken.is_some() {
                reader.abort();
                return;
            }
            w.retired = true;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                let (abort, after) = (reader.abort_handle(), self.request_timeout);
                rt.spawn(async move {
                    tokio::time::sleep(after).await;
                    abort.abort();
                });
            }
            Err(_) => reader.abort(),
        }
    }
}

/// The answer to one call of an [`AvroPipe`], to wait on apart from the pipe.
#[derive(Debug)]
pub struct Answer {
    rx: oneshot::Receiver<Answered>,
    deadline: Instant,
    started: Instant,
    addr: String,
    timeout_ms: u64,
    waiting: Arc<Mutex<Waiting>>,
    latency: Option<Arc<Histogram>>,
}

impl Answer {
    /// Waits for the server's answer until `request-timeout` after the call was sent; a
    /// timeout breaks the pipe (later answers cannot be trusted to come).
    pub async fn wait(self) -> Answered {
        let r = match tokio::time::timeout_at(self.deadline, self.rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(RpcError::Closed { addr: self.addr }),
            Err(_) => {
                let why = LinkError::Timeout {
                    addr: self.addr,
                    what: "appendBatch (no answer within request-timeout)",
                    ms: self.timeout_ms,
                };
                Err(RpcError::Broken(
                    self.waiting.lock().break_with(why.into(), true),
                ))
            }
        };
        if let Some(h) = &self.latency {
            h.observe_duration(self.started.elapsed());
        }
        r
    }
}

impl AvroPipe {
    /// The pipe over `client`'s connection (its handshake done), each call answered within
    /// `request_timeout` of its sending.
    pub fn new(client: AvroClient, request_timeout: Duration) -> Result<Self, RpcError> {
        let parts = client.into_parts();
        if !parts.conn.handshaken() {
            return Err(RpcError::NotHandshaken { addr: parts.addr });
        }
        let vectored = parts.stream.is_write_vectored();
        let (rd, writer) = tokio::io::split(parts.stream);
        let waiting = Arc::new(Mutex::new(Waiting::default()));
        let reader = tokio::spawn(read_answers(
            rd,
            parts.reader,
            parts.addr.clone(),
            waiting.clone(),
        ));
        Ok(AvroPipe {
            addr: parts.addr,
            writer,
            vectored,
            conn: parts.conn,
            out: Vec::new(),
            head: Vec::new(),
            params: Spliced::default(),
            serial: parts.serial,
            request_timeout,
            waiting,
            reader: Some(reader),
            latency: parts.latency,
        })
    }

    /// The `host:port` this pipe talks to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Calls waiting for their answers.
    pub fn waiting(&self) -> usize {
        self.waiting.lock().calls.len()
    }

    /// Why the pipe broke with a call failing, if it did: it must be dropped (its
    /// connection's state is unknown).
    pub fn broken(&self) -> Option<RpcError> {
        let w = self.waiting.lock();
        w.broken.clone().filter(|_| w.failed).map(RpcError::Broken)
    }

    /// Whether the peer closed the connection while no call was waiting (reconnect, nothing
    /// failed).
    pub fn closed_idle(&self) -> bool {
        let w = self.waiting.lock();
        w.broken.is_some() && !w.failed
    }

    /// Records each call's latency (sent to answered) in `h`.
    pub fn record_latency(&mut self, h: Arc<Histogram>) {
        self.latency = Some(h);
    }

    /// Writes one `appendBatch` of `events` (within `request-timeout`) and returns its
    /// [`Answer`] to wait on. An error breaks the pipe.
    pub async fn send(&mut self, events: &[Event]) -> Result<Answer, RpcError> {
        if let Some(why) = self.waiting.lock().broken.clone() {
            return Err(RpcError::Broken(why));
        }
        let started = Instant::now();
        let deadline = started + self.request_timeout;
        self.serial = self.serial.wrapping_add(1);
        let serial = self.serial;
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().calls.insert(serial, tx);
        let splice_min = if self.vectored {
            SPLICE_BODY_MIN
        } else {
            usize::MAX
        };
        let (mut head, mut params) = (
            std::mem::take(&mut self.head),
            std::mem::take(&mut self.params),
        );
        self.conn.request_spliced(
            Message::AppendBatch,
            events,
            (&mut head, &mut params),
            splice_min,
        );
        self.out.clear();
        encode_frame_head_len(serial, &[&head], Some(params.len()), &mut self.out);
        let mut slices = vec![IoSlice::new(&self.out)];
        params.slices(&mut slices);
        let write = write_all(&mut self.writer, &mut slices, self.vectored);
        let written = tokio::time::timeout_at(deadline, write).await;
        drop(slices);
        params.clear();
        (self.head, self.params) = (head, params);
        let failed = match written {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(LinkError::io(&self.addr, e)),
            Err(_) => Some(LinkError::Timeout {
                addr: self.addr.clone(),
                what: "writing appendBatch (the call not taken within request-timeout)",
                ms: self.request_timeout.as_millis() as u64,
            }),
        };
        if let Some(why) = failed {
            let why = self.waiting.lock().break_with(why.into(), true);
            return Err(RpcError::Broken(why));
        }
        Ok(Answer {
            rx,
            deadline,
            started,
            addr: self.addr.clone(),
            timeout_ms: self.request_timeout.as_millis() as u64,
            waiting: self.waiting.clone(),
            latency: self.latency.clone(),
        })
    }
}

/// Writes every slice and flushes (TLS and deflate hold bytes until flushed).
async fn write_all(
    w: &mut WriteHalf<Conn>,
    mut slices: &mut [IoSlice<'_>],
    vectored: bool,
) -> std::io::Result<()> {
    if vectored {
        IoSlice::advance_slices(&mut slices, 0);
        while !slices.is_empty() {
            let n = w.write_vectored(slices).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut slices, n);
        }
    } else {
        for s in slices.iter() {
            w.write_all(s).await?;
        }
    }
    w.flush().await
}

/// The pipe's reader task: each answer frame goes to its call; the first failure breaks the
/// pipe and ends the task.
async fn read_answers(
    mut rd: ReadHalf<Conn>,
    mut reader: FrameReader,
    addr: String,
    waiting: Arc<Mutex<Waiting>>,
) {
    let bad = |source: AvroError| RpcError::Protocol {
        addr: addr.clone(),
        source,
    };
    let why = loop {
        let frame = match reader.next_frame() {
            Ok(f) => f,
            Err(e) => break bad(e),
        };
        let Some(frame) = frame else {
            match rd.read_buf(reader.read_buffer(READ_CHUNK_BYTES)).await {
                Ok(0) => break RpcError::Closed { addr: addr.clone() },
                Ok(_) => continue,
                Err(e) => break LinkError::io(&addr, e).into(),
            }
        };
        let answered = match decode_response(&frame.payload, false) {
            Ok(resp) => match resp.outcome {
                Some(Outcome::Status(Status::Ok)) => Ok(()),
                Some(Outcome::Status(status)) => Err(RpcError::Status {
                    addr: addr.clone(),
                    status,
                }),
                Some(Outcome::Error(m)) => Err(RpcError::Remote {
                    addr: addr.clone(),
                    message: crate::agent::log_text::escape(&m).into_owned(),
                }),
                None => Err(bad(AvroError::UnexpectedResponse {
                    reason: "a call answered like a ping".into(),
                })),
            },
            Err(e) => Err(bad(e)),
        };
        let mut w = waiting.lock();
        let Some(tx) = w.calls.remove(&frame.serial) else {
            break bad(AvroError::UnexpectedResponse {
                reason: format!("serial {} answers no call", frame.serial),
            });
        };
        match answered {
            Ok(()) => {
                let _ = tx.send(Ok(()));
                if w.retired && w.calls.is_empty() {
                    // The pipe was dropped and this was the last call waiting.
                    return;
                }
            }
            Err(why) => {
                let why = w.break_with(why, true);
                let _ = tx.send(Err(RpcError::Broken(why)));
                return;
            }
        }
    };
    waiting.lock().break_with(why, false);
}
