//! One connection machine for the RPC sources (`avro`, `thrift`), generic over the protocol
//! ([`RpcProtocol`]), as hyper's `Conn<I, B, T: Http1Transaction>` and vector's
//! `TcpSource` keep one connection loop with the protocol a type parameter:
//! - [`read`]: a whole frame within `request-timeout` of its first byte, its bytes reserved
//!   from the frame budget before they are read, the stop watched while waiting;
//! - [`decode`]: a call decoded off the async workers when large, its events counted against
//!   the decoded budget (a guess first, then the exact count), put on the blocking thread
//!   that decoded it when nothing else of its connection is under way;
//! - [`listen`]: the source's gauges; each accepted connection admitted
//!   ([`crate::agent::source::rpc::admit`]: `ipFilter`, TLS, deflate) and served in its own
//!   task;
//! - [`conn`]: up to [`conn::CALLS_AT_ONCE_MAX`] calls read ahead of their answers, the calls
//!   that wait behind a put put together in one transaction in the order sent (up to the
//!   channels' `transactionCapacity`; `CallsJoinedCount`), answers in the calls' order,
//!   each written within `request-timeout`.
//!
//! A protocol says how a frame begins a call (a handshake, an unknown method), how its
//! events are decoded and counted, and how each outcome is answered (or not: a oneway call);
//! garbage closes the connection with one log line and `EventReadFail`
//! ([`RpcProtocol::bad_input`]).

pub(crate) mod admit;
pub(crate) mod answer;
pub(crate) mod conn;
pub(crate) mod decode;
pub(crate) mod keys;
pub(crate) mod listen;
mod order;
pub(crate) mod put;
pub(crate) mod read;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Semaphore;

use super::budget::{Budget, Held};
use super::decoders::Decoders;
use super::frame_pool::FramePool;
use super::peer_origins::OriginQuotas;
use super::refusals::RefusalLog;
use super::SourceCtx;
use crate::agent::metrics::SourceCounter;
use crate::agent::rpc::transport::ServerTransport;
use sluice_core::{Bytes, Event};

pub(crate) use read::FrameRead;

/// What the connections of one RPC source share, whatever the protocol.
#[derive(Debug)]
pub(crate) struct RpcBase {
    /// `threads`: bounds the calls being decoded and put at once.
    pub(crate) threads: Option<Semaphore>,
    /// Bytes of frames being received: half of `max-inflight-bytes`.
    pub(crate) frames: Budget,
    /// Bytes the decoded events of calls are counted for: the other half.
    pub(crate) decoded: Budget,
    /// Decodes running off the workers.
    pub(crate) decoders: Decoders,
    /// Frame buffers given back by decoded calls, for the next large frames.
    pub(crate) frame_pool: Arc<FramePool>,
    /// Calls put in the transaction of an earlier call of their connection
    /// (`CallsJoinedCount`).
    pub(crate) joined: AtomicU64,
    /// `request-timeout`: a whole frame from its first byte; an answer's write.
    pub(crate) request_timeout: Duration,
    /// `idle-timeout`: the wait for a frame's first byte (`None`: forever).
    pub(crate) idle_timeout: Option<Duration>,
    /// Connections open (`OpenConnectionCount`).
    pub(crate) open: AtomicUsize,
    /// ipFilter, TLS and deflate ([`crate::agent::rpc::transport`]).
    pub(crate) transport: ServerTransport,
    /// The rate-limited warning about peers refused by `ipFilter`.
    pub(crate) filtered: Mutex<RefusalLog>,
    /// The rate-limited warning about connections closed for bad input.
    pub(crate) bad_input: Mutex<RefusalLog>,
    /// The event-id origins each peer address may bring (`peer_origins.rs`).
    pub(crate) origins: Arc<OriginQuotas>,
}

impl RpcBase {
    /// The shared state of a source with these settings.
    pub(crate) fn new(
        transport: ServerTransport,
        threads: Option<usize>,
        inflight_bytes: u64,
        request_timeout: Duration,
        idle_timeout: Option<Duration>,
    ) -> Self {
        RpcBase {
            threads: threads.map(Semaphore::new),
            frames: Budget::new(inflight_bytes / 2),
            decoded: Budget::new(inflight_bytes / 2),
            decoders: Decoders::default(),
            frame_pool: Arc::default(),
            joined: AtomicU64::new(0),
            request_timeout,
            idle_timeout,
            open: AtomicUsize::new(0),
            transport,
            filtered: Mutex::new(RefusalLog::default()),
            bad_input: Mutex::new(RefusalLog::bad_input()),
            origins: Arc::default(),
        }
    }
}

impl RpcBase {
    /// Counts a connection closed for bad input (`EventReadFail`); with the connections
    /// closed since the last warning when this one is to be warned about (rate-limited:
    /// [`RefusalLog::bad_input`], a few per interval, then a count), else `None` (said here
    /// at debug).
    pub(crate) fn closed_for(
        &self,
        at: At<'_>,
        protocol: &str,
        what: &str,
        kind: &str,
    ) -> Option<u64> {
        at.ctx.counters.add(SourceCounter::EventReadFail, 1);
        let closed = self.bad_input.lock().refused(std::time::Instant::now());
        if closed.is_none() {
            let (source, peer) = (&at.ctx.name, at.peer);
            tracing::debug!(source = %source, %peer, kind, "{protocol} connection closed: {what}");
        }
        closed
    }
}

/// What the head of a request asks for.
pub(crate) enum Begun<P: RpcProtocol> {
    /// No events: answered as it is (a handshake, an unknown method).
    Other(P::Other),
    /// A call with events still in the payload.
    Call(P::Call),
}

/// A request decoded.
pub(crate) enum Decoded<P: RpcProtocol> {
    /// No events ([`Begun::Other`]).
    Other(P::Other),
    /// Decoded and put: `committed` when every required channel took its events.
    Committed { call: P::Call, committed: bool },
    /// Decoded, not put (asked not to): put `events` (their decoded budget `held` until the
    /// put returns), then answer.
    Events {
        call: P::Call,
        events: Vec<Event>,
        held: Held,
    },
    /// The decoded budget did not free up within the frame's deadline: answer `FAILED`
    /// (the client resends later).
    Busy { call: P::Call, cost: u64 },
}

/// Why a request could not be decoded.
pub(crate) enum Failed<P: RpcProtocol> {
    /// Garbage or over a limit (`call`: its head, when that much was read).
    Bad(Bad<P>),
    /// The source is stopping.
    Stopped,
}

/// A request that is garbage or over a limit.
pub(crate) struct Bad<P: RpcProtocol> {
    /// The call's head, when it was read before the error.
    pub(crate) call: Option<P::Call>,
    pub(crate) error: P::Error,
}

/// What a connection does after an outcome was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Then {
    /// Write the answer, go on.
    Send,
    /// Write the answer, then close.
    SendAndClose,
    /// Nothing to write (a oneway call), go on.
    Nothing,
    /// Close now (logged).
    End,
}

/// How an outcome is answered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Answer {
    /// Whether it was a valid call (the connection's "upstream connected" line).
    pub(crate) valid: bool,
    pub(crate) then: Then,
}

/// One connection's place in the log lines: its source and peer.
#[derive(Clone, Copy)]
pub(crate) struct At<'a> {
    pub(crate) ctx: &'a SourceCtx,
    pub(crate) peer: SocketAddr,
}

/// An RPC protocol served by [`conn::serve`]; implemented by the source's shared state.
pub(crate) trait RpcProtocol: Send + Sync + Sized + 'static {
    /// `avro` or `thrift`, for log lines.
    const NAME: &'static str;
    /// The framing.
    type Reader: FrameRead;
    /// What a call is begun with, per connection (avro: the handshake's state).
    type Conn: Clone + Send + 'static;
    /// A call's head: what its events are decoded with and its answer written from.
    type Call: Send + 'static;
    /// A request without events.
    type Other: Send + 'static;
    /// The codec's error.
    type Error: Send + 'static;
    /// What answering needs of one connection (avro: the upstream it identified).
    type Link: Send;

    /// What every RPC source has.
    fn base(&self) -> &RpcBase;
    /// A new connection's per-connection state.
    fn link(shared: &Arc<Self>, ctx: &SourceCtx) -> Self::Link;
    /// A new connection's frame reader.
    fn reader(&self, link: &Self::Link) -> Self::Reader;
    /// A new connection's call state.
    fn conn(&self) -> Self::Conn;
    /// The protocol's own gauges, besides the machine's and the transport's.
    fn gauges(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// A connection from `peer` opened or closed (avro: `UpstreamPeerCount`).
    fn seen(&self, _peer: SocketAddr) {}
    /// Whether calls may be read ahead of the answers (avro: once the handshake is done).
    fn reads_ahead(_conn: &Self::Conn) -> bool {
        true
    }
    /// The head of a request.
    fn begin(&self, conn: &mut Self::Conn, payload: &Bytes) -> Result<Begun<Self>, Self::Error>;
    /// A call's events, unless counted for more than `cost_max` ([`RpcProtocol::over_budget`]);
    /// with what they are counted for. Their bodies are slices of `payload`.
    fn decode(
        &self,
        call: &Self::Call,
        payload: &Bytes,
        cost_max: u64,
    ) -> Result<(Vec<Event>, u64), Self::Error>;
    /// What a call's events would be counted for, without making them.
    fn cost(&self, call: &Self::Call, payload: &Bytes) -> Result<u64, Self::Error>;
    /// Whether `e` is [`RpcProtocol::decode`] stopping at its `cost_max`.
    fn over_budget(e: &Self::Error) -> bool;
    /// The error of a call counted for more than the whole decoded budget.
    fn too_long(call: &Self::Call, cost: u64, total: u64) -> Self::Error;
    /// Whether a call is an `appendBatch` (its counters).
    fn batch(call: &Self::Call) -> bool;
    /// Counts and logs (rate-limited) a connection closed for bad input; `first`: its first
    /// bytes, when the reader keeps them.
    fn bad_input(&self, at: At<'_>, first: &[u8], what: &str, kind: &str);
    /// The bad-input kind of a failed read, or `None` when it is only logged at debug (a
    /// reset socket). By default a broken transport layer (TLS, deflate) is bad input.
    fn read_failed_kind(e: &std::io::Error) -> Option<&'static str> {
        read::transport_kind(e)
    }
    /// Writes the answer to an outcome (into `out`, framed) and says what follows.
    fn answer(
        &self,
        link: &mut Self::Link,
        at: At<'_>,
        id: <Self::Reader as FrameRead>::Id,
        done: Result<Decoded<Self>, Bad<Self>>,
        out: &mut Vec<u8>,
    ) -> Answer;
}
