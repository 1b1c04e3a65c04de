//! A small async Avro RPC client for Flume's `AvroSourceProtocol`: connect (TCP, the
//! transport's TLS/deflate layers, and a handshake ping, all within `connect_timeout`), then `append`/`appendBatch` calls, each
//! within `request_timeout`. A `NONE` handshake is answered by resending the call with our
//! protocol text, as Avro's `Requestor` does. One call at a time per connection.
//!
//! Any error leaves the connection in an unknown state: drop the client and connect again.
//! Cancel safety: none. A call cancelled midway (e.g. by `select!` on a stop signal) may have
//! been delivered or not; drop the client, and treat the batch as not acknowledged.

use std::io::IoSlice;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::agent::rpc::clients::{dial, timed};
pub use crate::agent::rpc::error::RpcError;
use crate::agent::rpc::transport::{ClientTransport, Conn, LinkError};
use crate::wire::avro::client::{ClientConn, IdsPolicy, Reply};
use crate::wire::avro::{
    encode_frame, encode_frame_head_len, AvroError, FrameLimits, FrameReader, Message, Outcome,
    Status,
};
use crate::wire::splice::Spliced;
use sluice_core::Event;

/// Flume's `connect-timeout` default (20 s).
pub(crate) const CONNECT_TIMEOUT_DEFAULT: Duration = Duration::from_secs(20);
/// Flume's `request-timeout` default (20 s).
pub(crate) const REQUEST_TIMEOUT_DEFAULT: Duration = Duration::from_secs(20);
/// Bytes asked of the socket per read.
const READ_CHUNK_BYTES: usize = 64 << 10;
/// On a connection without vectored writes (deflate), a call's parameters from this
/// size on are written from where they are rather than copied behind the frame header (one
/// more write call, one copy less). Plain TCP writes the header, the parameters and the
/// spliced bodies in one `writev` ([`Spliced`]).
const DIRECT_SEND_BYTES_MIN: usize = 64 << 10;

/// The most request buffer a client keeps for its next call (a larger one, after an
/// unusually large batch, is freed): reused, a batch is encoded into memory already mapped,
/// instead of ≈ 1 MiB taken from the allocator, faulted in and cleared per call at 1,000 × 1 KiB.
const KEPT_REQUEST_BYTES_MAX: usize = 8 << 20;

/// Client settings.
#[derive(Debug, Clone, Copy)]
pub struct AvroClientConfig {
    /// Bounds the TCP connect and the handshake.
    pub connect_timeout: Duration,
    /// Bounds each call, from the first byte written to the last byte of the answer.
    pub request_timeout: Duration,
    /// Limits on the server's answers.
    pub frame_limits: FrameLimits,
}

impl Default for AvroClientConfig {
    fn default() -> Self {
        AvroClientConfig {
            connect_timeout: CONNECT_TIMEOUT_DEFAULT,
            request_timeout: REQUEST_TIMEOUT_DEFAULT,
            frame_limits: FrameLimits {
                frame_bytes_max: 1 << 20,
                buffers_max: 64,
            },
        }
    }
}

/// One connection to an Avro source.
#[derive(Debug)]
pub struct AvroClient {
    addr: String,
    stream: Conn,
    conn: ClientConn,
    reader: FrameReader,
    out: Vec<u8>,
    /// A call's head and parameters, kept from call to call (up to
    /// [`KEPT_REQUEST_BYTES_MAX`]).
    head: Vec<u8>,
    params: Spliced,
    serial: i32,
    cfg: AvroClientConfig,
    /// Where each call's latency is recorded, if anywhere.
    latency: Option<std::sync::Arc<crate::agent::histogram::Histogram>>,
}

impl AvroClient {
    /// Connects to `host:port` over plain TCP and completes the handshake, within
    /// `connect_timeout`.
    pub async fn connect(addr: &str, cfg: AvroClientConfig) -> Result<Self, RpcError> {
        Self::connect_with(addr, &ClientTransport::default(), cfg).await
    }

    /// Connects to `host:port` through `transport` (TLS, deflate) and completes the Avro
    /// handshake, all within `connect_timeout`.
    pub async fn connect_with(
        addr: &str,
        transport: &ClientTransport,
        cfg: AvroClientConfig,
    ) -> Result<Self, RpcError> {
        Self::connect_ids(addr, transport, cfg, IdsPolicy::default()).await
    }

    /// [`AvroClient::connect_with`], sending the events' ids as `ids` says (by default only
    /// to a server that said in the handshake it takes them: a Sluice avro source).
    pub async fn connect_ids(
        addr: &str,
        transport: &ClientTransport,
        cfg: AvroClientConfig,
        ids: IdsPolicy,
    ) -> Result<Self, RpcError> {
        let (stream, deadline, ms) = dial(transport, addr, cfg.connect_timeout).await?;
        let mut conn = ClientConn::new();
        conn.set_ids_policy(ids);
        let mut client = AvroClient {
            addr: addr.to_owned(),
            stream,
            conn,
            reader: FrameReader::new(cfg.frame_limits),
            out: Vec::new(),
            head: Vec::new(),
            params: Spliced::default(),
            serial: 0,
            cfg,
            latency: None,
        };
        let deflate = client.stream.layers().contains("deflate");
        match client.handshake(deadline, ms).await {
            Ok(()) => Ok(client),
            Err(e) if deflate && e.is_link_loss() => Err(RpcError::NotDeflate { inner: e.into() }),
            Err(e) => Err(e),
        }
    }

    /// The Avro handshake: two rounds at most, NONE and then the resend with our protocol
    /// text.
    async fn handshake(&mut self, deadline: Instant, ms: u64) -> Result<(), RpcError> {
        for _ in 0..2 {
            let ping = self.conn.ping();
            match self
                .round(Send::Ping(&ping), deadline, "handshake", ms)
                .await?
            {
                Reply::Resend => continue,
                Reply::Pong | Reply::Done(_) => return Ok(()),
            }
        }
        Err(self.protocol("server keeps answering NONE"))
    }

    /// The connection and its state, for [`super::avro_pipe::AvroPipe`].
    pub(crate) fn into_parts(self) -> ClientParts {
        ClientParts {
            addr: self.addr,
            stream: self.stream,
            conn: self.conn,
            reader: self.reader,
            serial: self.serial,
            latency: self.latency,
        }
    }

    /// Records the latency of every later call (answered or failed) in `h`.
    pub(crate) fn record_latency(&mut self, h: std::sync::Arc<crate::agent::histogram::Histogram>) {
        self.latency = Some(h);
    }

    /// Whether calls carry the events' ids (the server said it takes them, or `eventIds`).
    pub(crate) fn sends_ids(&self) -> bool {
        self.conn.sends_ids()
    }

    /// Sets the metadata sent with every later call (Flume's server ignores it).
    pub(crate) fn set_call_meta(&mut self, meta: crate::wire::avro::handshake::Meta) {
        self.conn.set_call_meta(meta);
    }

    /// Whether the idle connection is known to be broken: the server closed it, or sent
    /// bytes nobody asked for. Never blocks (reads what the socket already has, at most one
    /// byte); `false` means "not known to be broken", not "alive".
    pub(crate) fn idle_broken(&mut self) -> bool {
        self.stream.idle_broken()
    }

    /// Sends `events` in one `appendBatch`; `Ok` only when the server answered `OK`.
    pub async fn append_batch(&mut self, events: &[Event]) -> Result<(), RpcError> {
        self.call(Message::AppendBatch, events).await
    }

    /// Sends one event with `append`; `Ok` only when the server answered `OK`.
    pub async fn append(&mut self, event: &Event) -> Result<(), RpcError> {
        self.call(Message::Append, std::slice::from_ref(event))
            .await
    }

    async fn call(&mut self, message: Message, events: &[Event]) -> Result<(), RpcError> {
        let latency = self.latency.clone();
        timed(latency, self.call_once(message, events)).await
    }

    async fn call_once(&mut self, message: Message, events: &[Event]) -> Result<(), RpcError> {
        let deadline = Instant::now() + self.cfg.request_timeout;
        let ms = self.cfg.request_timeout.as_millis() as u64;
        let what = match message {
            Message::Append => "append",
            Message::AppendBatch => "appendBatch",
        };
        let splice_min = self.stream.splice_min();
        for _ in 0..2 {
            let mut head = std::mem::take(&mut self.head);
            let mut params = std::mem::take(&mut self.params);
            self.conn
                .request_spliced(message, events, (&mut head, &mut params), splice_min);
            let reply = self
                .round(Send::Call(&head, &params), deadline, what, ms)
                .await;
            // The bodies are the events' (and their frames'): not held past the call.
            params.clear();
            if head.capacity() + params.capacity() <= KEPT_REQUEST_BYTES_MAX {
                (self.head, self.params) = (head, params);
            }
            match reply? {
                Reply::Resend => continue,
                Reply::Pong => return Err(self.protocol("a call was answered like a ping")),
                Reply::Done(Outcome::Status(Status::Ok)) => return Ok(()),
                Reply::Done(Outcome::Status(status)) => {
                    return Err(RpcError::Status {
                        addr: self.addr.clone(),
                        status,
                    })
                }
                Reply::Done(Outcome::Error(message)) => {
                    return Err(RpcError::Remote {
                        addr: self.addr.clone(),
                        message: crate::agent::log_text::escape(&message).into_owned(),
                    })
                }
            }
        }
        Err(self.protocol("server keeps answering NONE"))
    }

    fn protocol(&self, reason: &str) -> RpcError {
        RpcError::Protocol {
            addr: self.addr.clone(),
            source: AvroError::UnexpectedResponse {
                reason: reason.to_owned(),
            },
        }
    }

    /// Writes one frame and reads its answer, all before `deadline`.
    async fn round(
        &mut self,
        send: Send<'_>,
        deadline: Instant,
        what: &'static str,
        ms: u64,
    ) -> Result<Reply, RpcError> {
        self.serial = self.serial.wrapping_add(1);
        let serial = self.serial;
        self.out.clear();
        let mut slices = Vec::new();
        match send {
            Send::Ping(ping) => encode_frame(serial, &[ping], &mut self.out),
            Send::Call(head, params) => {
                encode_frame_head_len(serial, &[head], Some(params.len()), &mut self.out);
                let vectored = self.stream.is_write_vectored();
                if !vectored && params.len() < DIRECT_SEND_BYTES_MIN {
                    params.copy_into(&mut self.out);
                } else {
                    params.slices(&mut slices);
                }
            }
        }
        slices.insert(0, IoSlice::new(&self.out));
        // The write and the read share one deadline.
        let write = async {
            self.stream.write_all_slices(&mut slices).await?;
            // TLS and deflate hold bytes until flushed.
            self.stream.flush().await
        };
        match tokio::time::timeout_at(deadline, write).await {
            Ok(r) => r.map_err(|source| LinkError::io(&self.addr, source))?,
            Err(_) => return Err(timed_out(&self.addr, what, ms)),
        }
        drop(slices);
        match tokio::time::timeout_at(deadline, self.read_reply(serial)).await {
            Ok(r) => r,
            Err(_) => Err(timed_out(&self.addr, what, ms)),
        }
    }

    /// Reads frames until the answer to `serial` (another serial is a protocol error).
    async fn read_reply(&mut self, serial: i32) -> Result<Reply, RpcError> {
        loop {
            let frame = self
                .reader
                .next_frame()
                .map_err(|source| RpcError::Protocol {
                    addr: self.addr.clone(),
                    source,
                })?;
            if let Some(f) = frame {
                if f.serial != serial {
                    return Err(RpcError::Protocol {
                        addr: self.addr.clone(),
                        source: AvroError::UnexpectedResponse {
                            reason: format!(
                                "answer to serial {} while waiting for {serial}",
                                f.serial
                            ),
                        },
                    });
                }
                return self
                    .conn
                    .on_response(&f.payload)
                    .map_err(|source| RpcError::Protocol {
                        addr: self.addr.clone(),
                        source,
                    });
            }
            let buf = self.reader.read_buffer(READ_CHUNK_BYTES);
            let n = self
                .stream
                .read_buf(buf)
                .await
                .map_err(|source| LinkError::io(&self.addr, source))?;
            if n == 0 {
                return Err(RpcError::Closed {
                    addr: self.addr.clone(),
                });
            }
        }
    }
}

/// An [`AvroClient`] taken apart ([`AvroClient::into_parts`]).
pub(crate) struct ClientParts {
    pub(crate) addr: String,
    pub(crate) stream: Conn,
    pub(crate) conn: ClientConn,
    pub(crate) reader: FrameReader,
    pub(crate) serial: i32,
    pub(crate) latency: Option<std::sync::Arc<crate::agent::histogram::Histogram>>,
}

/// A round that missed its deadline: `what` (the call) after `ms`.
fn timed_out(addr: &str, what: &'static str, ms: u64) -> RpcError {
    LinkError::Timeout {
        addr: addr.to_owned(),
        what,
        ms,
    }
    .into()
}

/// What one round sends.
#[derive(Clone, Copy)]
enum Send<'a> {
    /// A handshake-only ping.
    Ping(&'a [u8]),
    /// A call: its head (handshake, metadata, name) and its parameters.
    Call(&'a [u8], &'a Spliced),
}

#[cfg(test)]
#[path = "avro_client_tests.rs"]
mod tests;
