//! A small async client of Flume's `ThriftSourceProtocol` (framed transport, compact or
//! binary protocol): connect within `connect_timeout` (TCP, then the transport's TLS and
//! deflate layers: [`crate::agent::rpc::transport`]), then `append`/`appendBatch` calls,
//! each within `request_timeout` (first byte out to the last byte of the reply). One call
//! at a time per connection; seqids count up from 1.
//!
//! Any error leaves the connection in an unknown state: drop the client and connect again.
//! Cancel safety: none. A call cancelled midway may have been delivered or not; drop the
//! client, and treat the batch as not acknowledged.

use std::time::Duration;

use bytes::BufMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};

use crate::agent::rpc::clients::{dial, timed};
use crate::agent::rpc::transport::{ClientTransport, Conn, LinkError};

use crate::wire::splice::Spliced;
use crate::wire::thrift::client::encode_call_spliced;
use crate::wire::thrift::probe::{decode_probe_reply, encode_probe, PROBE_METHOD};
use crate::wire::thrift::{decode_reply, FrameReader, Method, Protocol, Status, ThriftError};
use sluice_core::Event;

/// Flume's `connect-timeout` default (20 s).
pub(crate) const CONNECT_TIMEOUT_DEFAULT: Duration = Duration::from_secs(20);
/// Flume's `request-timeout` default (20 s).
pub(crate) const REQUEST_TIMEOUT_DEFAULT: Duration = Duration::from_secs(20);
/// Largest reply frame accepted (a reply is a few dozen bytes; an exception's message is cut
/// at 1 KiB by Sluice, not by every server).
pub(crate) const REPLY_FRAME_BYTES_MAX: usize = 1 << 20;
/// Bytes asked of the socket per read.
const READ_CHUNK_BYTES: usize = 4 << 10;

/// Client settings.
#[derive(Debug, Clone, Copy)]
pub struct ThriftClientConfig {
    /// Bounds the TCP connect.
    pub connect_timeout: Duration,
    /// Bounds each call, from the first byte written to the last byte of the reply.
    pub request_timeout: Duration,
    /// The protocol the server speaks.
    pub protocol: Protocol,
    /// Whether calls carry the events' ids (`sluiceId`; the thrift sink's `eventIds`):
    /// `None`, only when the server answers the probe ([`PROBE_METHOD`]) at connect.
    pub event_ids: Option<bool>,
}

impl Default for ThriftClientConfig {
    fn default() -> Self {
        ThriftClientConfig {
            connect_timeout: CONNECT_TIMEOUT_DEFAULT,
            request_timeout: REQUEST_TIMEOUT_DEFAULT,
            protocol: Protocol::Compact,
            event_ids: None,
        }
    }
}

/// Why a connection or a call failed. After any of these, drop the client.
#[derive(Debug, thiserror::Error)]
pub enum ThriftRpcError {
    /// The connection failed: connect, time-out, socket I/O or TLS handshake.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The server closed the connection before its reply.
    #[error("{addr} closed the connection without a reply (a server of the other protocol, or one refusing the call, does that)")]
    Closed {
        /// The target.
        addr: String,
    },
    /// The server's bytes are not a valid reply (or are its exception).
    #[error("bad reply from {addr}: {source}")]
    Protocol {
        /// The target.
        addr: String,
        /// What is wrong.
        #[source]
        source: ThriftError,
    },
    /// The server answered `FAILED`, `ERROR` or `UNKNOWN` (the events were not accepted).
    #[error("{addr} answered {status:?}")]
    Status {
        /// The target.
        addr: String,
        /// The answer.
        status: Status,
    },
}

/// One connection to a Thrift source.
#[derive(Debug)]
pub struct ThriftClient {
    addr: String,
    stream: Conn,
    reader: FrameReader,
    /// A call's bytes, bodies spliced in on plain TCP and TLS; the buffer kept from call to call.
    call: Spliced,
    seqid: i32,
    cfg: ThriftClientConfig,
    latency: Option<std::sync::Arc<crate::agent::histogram::Histogram>>,
    /// Whether calls carry the events' ids (`cfg.event_ids`, or the probe's answer).
    sends_ids: bool,
}

impl ThriftClient {
    /// Connects to `host:port` through `transport` (TLS, deflate), all within
    /// `connect_timeout`; unless `event_ids` is set, asks the server whether it takes event
    /// ids ([`PROBE_METHOD`]: a Sluice thrift source answers, Flume's answers
    /// `UNKNOWN_METHOD`), within the same time.
    pub async fn connect_with(
        addr: &str,
        transport: &ClientTransport,
        cfg: ThriftClientConfig,
    ) -> Result<Self, ThriftRpcError> {
        let (stream, deadline, ms) = dial(transport, addr, cfg.connect_timeout).await?;
        let mut client = ThriftClient {
            addr: addr.to_owned(),
            stream,
            reader: FrameReader::new(REPLY_FRAME_BYTES_MAX),
            call: Spliced::default(),
            seqid: 0,
            cfg,
            latency: None,
            sends_ids: cfg.event_ids.unwrap_or(false),
        };
        if cfg.event_ids.is_none() {
            match client.probe(deadline, ms).await {
                Ok(takes) => client.sends_ids = takes,
                Err(ThriftRpcError::Closed { .. }) => {
                    // A server that closes on a method it does not have is not Sluice: a
                    // fresh connection, not asked again.
                    let (stream, _, _) = dial(transport, addr, cfg.connect_timeout).await?;
                    client.stream = stream;
                    client.reader = FrameReader::new(REPLY_FRAME_BYTES_MAX);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(client)
    }

    /// Whether calls carry the events' ids.
    pub(crate) fn sends_ids(&self) -> bool {
        self.sends_ids
    }

    /// Asks whether the server takes event ids, before `deadline`.
    async fn probe(&mut self, deadline: Instant, ms: u64) -> Result<bool, ThriftRpcError> {
        self.seqid = self.seqid.wrapping_add(1);
        let seqid = self.seqid;
        let mut out = Vec::new();
        encode_probe(self.cfg.protocol, seqid, &mut out);
        let round = async {
            let addr = self.addr.clone();
            let io = |source| ThriftRpcError::from(LinkError::io(&addr, source));
            self.stream.write_all(&out).await.map_err(io)?;
            self.stream.flush().await.map_err(io)?;
            let payload = self.read_frame().await?;
            decode_probe_reply(&payload, self.cfg.protocol, seqid).map_err(|source| {
                ThriftRpcError::Protocol {
                    addr: self.addr.clone(),
                    source,
                }
            })
        };
        let answered = timeout_at(deadline, round).await;
        match answered {
            Ok(r) => r,
            Err(_) => Err(LinkError::Timeout {
                addr: self.addr.clone(),
                what: PROBE_METHOD,
                ms,
            }
            .into()),
        }
    }

    /// Records the latency of every later call (answered or failed) in `h`.
    pub(crate) fn record_latency(&mut self, h: std::sync::Arc<crate::agent::histogram::Histogram>) {
        self.latency = Some(h);
    }

    /// Whether the idle connection is known to be broken: the server closed it, or sent
    /// bytes nobody asked for. Never blocks; `false` means "not known to be broken".
    pub(crate) fn idle_broken(&mut self) -> bool {
        self.stream.idle_broken()
    }

    /// Sends `events` in one `appendBatch`; `Ok` only when the server answered `OK`.
    pub async fn append_batch(&mut self, events: &[Event]) -> Result<(), ThriftRpcError> {
        self.call(Method::AppendBatch, events).await
    }

    async fn call(&mut self, method: Method, events: &[Event]) -> Result<(), ThriftRpcError> {
        let latency = self.latency.clone();
        timed(latency, self.call_once(method, events)).await
    }

    async fn call_once(&mut self, method: Method, events: &[Event]) -> Result<(), ThriftRpcError> {
        let deadline = Instant::now() + self.cfg.request_timeout;
        let ms = self.cfg.request_timeout.as_millis() as u64;
        self.seqid = self.seqid.wrapping_add(1);
        let seqid = self.seqid;
        let splice_min = self.stream.splice_min();
        encode_call_spliced(
            self.cfg.protocol,
            (method, seqid),
            events,
            &mut self.call,
            (splice_min, self.sends_ids),
        );
        let addr = self.addr.clone();
        let io = |source| ThriftRpcError::from(LinkError::io(&addr, source));
        let round = async {
            let mut slices = Vec::new();
            self.call.slices(&mut slices);
            self.stream
                .write_all_slices(&mut slices)
                .await
                .map_err(io)?;
            // TLS and deflate hold bytes until flushed.
            self.stream.flush().await.map_err(io)?;
            self.read_reply(method, seqid).await
        };
        let answered = timeout_at(deadline, round).await;
        // The bodies are the events' (and their frames'): not held past the call.
        self.call.clear();
        match answered {
            Err(_) => Err(LinkError::Timeout {
                addr: self.addr.clone(),
                what: method.name(),
                ms,
            }
            .into()),
            Ok(Err(e)) => Err(e),
            Ok(Ok(Status::Ok)) => Ok(()),
            Ok(Ok(status)) => Err(ThriftRpcError::Status {
                addr: self.addr.clone(),
                status,
            }),
        }
    }

    /// Reads frames until the reply to call `seqid` of `method`, decoded.
    async fn read_reply(&mut self, method: Method, seqid: i32) -> Result<Status, ThriftRpcError> {
        let payload = self.read_frame().await?;
        decode_reply(&payload, self.cfg.protocol, method, seqid).map_err(|source| {
            ThriftRpcError::Protocol {
                addr: self.addr.clone(),
                source,
            }
        })
    }

    /// Reads until a whole frame is in: its payload.
    async fn read_frame(&mut self) -> Result<sluice_core::Bytes, ThriftRpcError> {
        let addr = &self.addr;
        let io = |source| ThriftRpcError::from(LinkError::io(addr, source));
        loop {
            let frame = self
                .reader
                .next_frame()
                .map_err(|source| ThriftRpcError::Protocol {
                    addr: addr.clone(),
                    source,
                })?;
            if let Some(payload) = frame {
                return Ok(payload);
            }
            let mut buf = self
                .reader
                .read_buffer_exact(READ_CHUNK_BYTES)
                .limit(READ_CHUNK_BYTES);
            if self.stream.read_buf(&mut buf).await.map_err(io)? == 0 {
                return Err(ThriftRpcError::Closed { addr: addr.clone() });
            }
        }
    }
}
