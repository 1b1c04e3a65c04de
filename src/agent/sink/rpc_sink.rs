//! The connection-keeping core of the RPC sinks (`avro`, `thrift`): one connection kept open
//! and re-opened by itself, each batch forwarded with one `appendBatch`. The protocol is an
//! [`RpcClient`]; everything else is here, once.
//!
//! The runner calls [`RpcSink::prepare`] before it opens a take transaction (as Flume's
//! `verifyConnection`): it connects (TCP, TLS and any handshake within `connect-timeout`)
//! unless a connection is open, or fails at once while the reconnect backoff runs. Then
//! [`RpcSink::deliver`] sends the batch and returns `Ok` only on `Status OK` within
//! `request-timeout`; any other outcome (timeout, `FAILED`, a broken connection, a bad answer)
//! drops the connection, starts the backoff (250 ms doubling to `max-reconnect-backoff`) and
//! returns an error, so the runner rolls the take back. Nothing is acknowledged upstream of
//! the channel by this sink, so a failure can only cause a resend (at-least-once).
//!
//! A protocol that keeps several calls in flight ([`RpcClient::pipelined`], the avro sink's
//! `max-calls-in-flight`) has [`RpcSink::send`] write the call and hand its answer to the
//! runner as the batch's acknowledgements ([`Acks`]): the runner takes and sends the next
//! batch meanwhile, and commits each take after its own `OK`, in order. A failed answer
//! breaks the connection; the next [`RpcSink::prepare`] drops it and backs off.
//!
//! Every await watches the stop signal: a connect is abandoned at once, a call in flight gets
//! [`STOP_GRACE`] to finish (its batch is rolled back if it does not; the downstream may then
//! hold it too, a duplicate, never a loss).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::contract::BoxError;
use super::reconnect::Reconnect;
use super::rpc_keys::{RpcSinkSettings, RpcSinkTimings};
use super::{Acks, SinkError, SinkErrorKind};
use crate::agent::backoff::Backoff;
use crate::agent::histogram::Histogram;
use crate::agent::metrics::CounterGroup;
use crate::agent::metrics::SinkCounter;
use crate::agent::rpc::error::{RpcError, RpcErrorKind};
use crate::agent::rpc::transport::{ClientTransport, TransportError};
use crate::agent::stop::Stop;
use sluice_core::Event;

/// How long a call in flight may still run after the stop signal.
pub const STOP_GRACE: Duration = Duration::from_secs(2);
/// While the connection stays down, a warning is repeated this often (attempts in between
/// log at debug level).
pub const DOWN_WARN_EVERY: Duration = Duration::from_secs(60);
/// The first reconnect backoff (Flume's RPC sinks: 250 ms, doubling).
pub const RECONNECT_BACKOFF_INITIAL: Duration = Duration::from_millis(250);

/// One RPC protocol's client, as [`RpcSink`] drives it.
pub trait RpcClient: std::fmt::Debug + Send + Sized + 'static {
    /// The sink's settings this protocol reads when it connects.
    type Config: RpcSinkSettings + Send + Sync + std::fmt::Debug + 'static;

    /// Connects to `addr` over `transport` within `timings.connect_timeout`, for sink `sink`.
    fn open_for_sink<'a>(
        addr: &'a str,
        transport: &'a ClientTransport,
        cfg: &'a Self::Config,
        timings: &'a RpcSinkTimings,
        sink: &'a str,
    ) -> impl Future<Output = Result<Self, RpcError>> + Send + 'a;

    /// Whether the peer closed the connection while it was idle.
    fn idle_broken(&mut self) -> bool;

    /// Records each call's round trip into `h`.
    fn record_latency(&mut self, h: Arc<Histogram>);

    /// One `appendBatch`: `Ok` only on the peer's `OK`.
    fn append_batch<'a>(
        &'a mut self,
        events: &'a [Event],
    ) -> impl Future<Output = Result<(), RpcError>> + Send + 'a;

    /// Whether this connection keeps several calls in flight ([`RpcClient::send_batch`]).
    fn pipelined(&self) -> bool {
        false
    }

    /// Writes one `appendBatch` and returns its answer to wait for apart from the client
    /// (`Ok` only on the peer's `OK`); only called when [`RpcClient::pipelined`] (else
    /// it sends the batch and waits for its answer).
    fn send_batch<'a>(
        &'a mut self,
        events: &'a [Event],
    ) -> impl Future<Output = Result<Answer, RpcError>> + Send + 'a {
        async move {
            let r = self.append_batch(events).await;
            Ok(Box::pin(std::future::ready(r)) as Answer)
        }
    }

    /// Why the connection broke while calls were in flight, if it did: it is then dropped.
    fn broken(&self) -> Option<RpcError> {
        None
    }
}

/// The answer to a call sent with [`RpcClient::send_batch`]: `Ok` only on the peer's `OK`.
pub type Answer = crate::agent::channel::BoxFuture<'static, Result<(), RpcError>>;

/// The sink's kind of an RPC failure: a failed handshake or a peer speaking another protocol
/// is the configuration's ([`SinkErrorKind::Config`]: a reconnect cannot fix it), a closed
/// connection or a `FAILED` the peer's.
pub fn sink_kind(kind: RpcErrorKind) -> SinkErrorKind {
    match kind {
        RpcErrorKind::Connect => SinkErrorKind::Connect,
        RpcErrorKind::Timeout => SinkErrorKind::Timeout,
        RpcErrorKind::Handshake | RpcErrorKind::Codec => SinkErrorKind::Config,
        _ => SinkErrorKind::Peer,
    }
}

/// Why a call got no `OK`: the client's failure, or the stop signal's grace ran out.
#[derive(Debug, thiserror::Error)]
enum CallFailed {
    /// The client's failure.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// Stopping, and no answer within [`STOP_GRACE`].
    #[error("stopping: no answer within {ms} ms")]
    Stopping { ms: u64 },
}

/// A failed call, with what it was (`appendBatch of N events to ADDR`).
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
struct Call {
    what: String,
    #[source]
    source: CallFailed,
}

impl Call {
    fn into_sink_error(self, sink: impl Into<String>) -> SinkError {
        let kind = match &self.source {
            CallFailed::Rpc(e) => sink_kind(e.kind()),
            CallFailed::Stopping { .. } => SinkErrorKind::Stopped,
        };
        SinkError::new(sink, kind, self)
    }
}

/// A connect attempt failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to {addr}: {source}")]
struct ConnectFailed {
    addr: String,
    #[source]
    source: RpcError,
}

/// What to say when the stop signal's grace ran out.
fn stopping() -> CallFailed {
    CallFailed::Stopping {
        ms: STOP_GRACE.as_millis() as u64,
    }
}

/// One RPC sink over protocol `C`.
#[derive(Debug)]
pub struct RpcSink<C: RpcClient> {
    name: String,
    cfg: C::Config,
    timings: RpcSinkTimings,
    addr: String,
    /// TLS and deflate, built once (or why they cannot be).
    transport: Result<ClientTransport, Arc<TransportError>>,
    client: Option<C>,
    connected_at: Option<Instant>,
    /// When the next connect attempt may start (250 ms doubling to `max-reconnect-backoff`).
    reconnect: Reconnect,
    failed_attempts: u64,
    last_warn: Option<Instant>,
    /// Wall-clock ms since the connection is down; 0 while up (or never tried).
    down_since_ms: Arc<AtomicU64>,
    counters: Arc<CounterGroup>,
    stop: Option<Stop>,
    /// The answer still to come for the batch the last `deliver` sent (several calls in
    /// flight), for the runner ([`crate::agent::sink::Sink::take_acks`]).
    acks: Option<Acks>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(1)
        .max(1)
}

impl<C: RpcClient> RpcSink<C> {
    /// A sink to `cfg`'s downstream that connects on its first [`prepare`](Self::prepare);
    /// `cfg` also carries the protocol's own settings for [`RpcClient::open_for_sink`].
    pub fn new(name: &str, cfg: C::Config) -> Self {
        let (addr, timings) = (cfg.addr(), cfg.timings());
        let transport = ClientTransport::new(cfg.security()).map_err(Arc::new);
        let backoff = Backoff::doubling(RECONNECT_BACKOFF_INITIAL, timings.reconnect_backoff_max);
        RpcSink {
            name: name.to_owned(),
            cfg,
            timings,
            addr,
            transport,
            client: None,
            connected_at: None,
            reconnect: Reconnect::new(backoff),
            failed_attempts: 0,
            last_warn: None,
            down_since_ms: Arc::new(AtomicU64::new(0)),
            counters: CounterGroup::sink(),
            stop: None,
            acks: None,
        }
    }

    /// Counts into `counters` (adding the `ConnectionDownMillis` gauge) and watches `stop`.
    pub fn attach(&mut self, counters: Arc<CounterGroup>, stop: Stop) {
        let down = self.down_since_ms.clone();
        counters.set_gauges(Box::new(move || {
            let since = down.load(Ordering::Relaxed);
            let ms = if since == 0 {
                0
            } else {
                now_ms().saturating_sub(since)
            };
            vec![("ConnectionDownMillis", ms.to_string())]
        }));
        self.counters = counters;
        self.stop = Some(stop);
    }

    /// Whether a connection is open.
    pub fn connected(&self) -> bool {
        self.client.is_some()
    }

    /// How long the connection has been down (zero while up or before the first attempt).
    pub fn down_for(&self) -> Duration {
        match self.down_since_ms.load(Ordering::Relaxed) {
            0 => Duration::ZERO,
            since => Duration::from_millis(now_ms().saturating_sub(since)),
        }
    }

    fn err(&self, kind: SinkErrorKind, e: impl Into<BoxError>) -> SinkError {
        SinkError::new(self.name.clone(), kind, e)
    }

    fn close(&mut self, why: &str) {
        if self.client.take().is_some() {
            self.counters.add(SinkCounter::ConnectionClosed, 1);
            tracing::debug!(sink = %self.name, addr = %self.addr, why, "connection closed");
        }
        self.connected_at = None;
    }

    /// Drops the connection after a failure and starts (or lengthens) the backoff.
    fn failed(&mut self, why: &str) {
        self.close(why);
        let _ =
            self.down_since_ms
                .compare_exchange(0, now_ms(), Ordering::Relaxed, Ordering::Relaxed);
        self.reconnect.failed(Instant::now());
    }

    /// Makes sure a connection is open before a batch is taken: reuses the open one (unless
    /// `reset-connection-interval` has passed or the peer closed it while idle), otherwise
    /// connects, unless the reconnect backoff still runs. Cancel safe.
    pub async fn prepare(&mut self) -> Result<(), SinkError> {
        if self.reusable() {
            return Ok(());
        }
        let now = Instant::now();
        if let Some(left) = self.reconnect.wait_left(now) {
            return Err(self.err(
                SinkErrorKind::Connect,
                format!(
                    "connection to {} is down (for {} ms); next attempt in {} ms",
                    self.addr,
                    self.down_for().as_millis(),
                    left.as_millis()
                ),
            ));
        }
        let transport = match &self.transport {
            Ok(t) => t.clone(),
            Err(e) => return Err(self.err(SinkErrorKind::Config, e.clone())),
        };
        let connect =
            C::open_for_sink(&self.addr, &transport, &self.cfg, &self.timings, &self.name);
        let result = match self.stop.clone() {
            Some(mut stop) => tokio::select! {
                r = connect => Some(r),
                _ = stop.wait() => None,
            },
            None => Some(connect.await),
        };
        match result {
            Some(Ok(client)) => {
                self.keep(client);
                Ok(())
            }
            Some(Err(e)) if !self.stop.as_ref().is_some_and(|s| s.is_set()) => {
                Err(self.connect_failed(e))
            }
            _ => Err(self.err(
                SinkErrorKind::Stopped,
                format!("stopping; connect to {} abandoned", self.addr),
            )),
        }
    }

    /// Whether the open connection can take the next batch; drops it (a failed call in
    /// flight, `reset-connection-interval` passed, closed by the peer while idle) if not.
    fn reusable(&mut self) -> bool {
        if let Some(why) = self.client.as_ref().and_then(RpcClient::broken) {
            self.failed(&why.to_string());
        }
        let (Some(c), Some(at)) = (self.client.as_mut(), self.connected_at) else {
            return false;
        };
        if self
            .timings
            .reset_connection_interval
            .is_some_and(|every| at.elapsed() >= every)
        {
            self.close("reset-connection-interval");
            false
        } else if c.idle_broken() {
            tracing::info!(sink = %self.name, addr = %self.addr, "the downstream closed the idle connection; reconnecting");
            self.close("closed by the peer while idle");
            false
        } else {
            true
        }
    }

    /// Keeps a new connection: counted, logged ("reconnected" after a failure), the backoff
    /// reset.
    fn keep(&mut self, mut client: C) {
        client.record_latency(self.counters.histogram(&crate::agent::histogram::RPC_CALL));
        self.counters.add(SinkCounter::ConnectionCreated, 1);
        let down = self.down_for();
        if self.failed_attempts > 0 || !down.is_zero() {
            tracing::info!(sink = %self.name, addr = %self.addr, down_ms = down.as_millis() as u64, failed_attempts = self.failed_attempts, "reconnected");
        } else {
            tracing::info!(sink = %self.name, addr = %self.addr, "connected");
        }
        self.client = Some(client);
        self.connected_at = Some(Instant::now());
        self.down_since_ms.store(0, Ordering::Relaxed);
        self.reconnect.connected();
        self.failed_attempts = 0;
        self.last_warn = None;
    }

    /// A connect attempt failed with `e`: counted, the backoff lengthened, warned at most
    /// every [`DOWN_WARN_EVERY`] (debug in between).
    fn connect_failed(&mut self, e: RpcError) -> SinkError {
        self.counters.add(SinkCounter::ConnectionFailed, 1);
        self.failed_attempts += 1;
        self.failed("connect failed");
        let warn = self
            .last_warn
            .is_none_or(|t| t.elapsed() >= DOWN_WARN_EVERY);
        if warn {
            self.last_warn = Some(Instant::now());
            tracing::warn!(sink = %self.name, addr = %self.addr, error = %e, down_ms = self.down_for().as_millis() as u64, attempts = self.failed_attempts, "cannot connect; retrying with backoff");
        } else {
            tracing::debug!(sink = %self.name, addr = %self.addr, error = %e, "cannot connect");
        }
        let kind = sink_kind(e.kind());
        let addr = self.addr.clone();
        self.err(kind, ConnectFailed { addr, source: e })
    }

    /// Sends `events` in one `appendBatch`; `Ok` only when the downstream answered `OK`.
    /// Not cancel safe (the batch may or may not have been delivered): on any error the
    /// connection is dropped and the caller must roll the take back.
    pub async fn deliver(&mut self, events: &[Event]) -> Result<(), SinkError> {
        let Some(client) = self.client.as_mut() else {
            let why = format!("not connected to {}", self.addr);
            return Err(self.err(SinkErrorKind::Connect, why));
        };
        let result: Result<(), CallFailed> = {
            let call = client.append_batch(events);
            tokio::pin!(call);
            match self.stop.clone() {
                Some(mut stop) => tokio::select! {
                    r = &mut call => r.map_err(CallFailed::from),
                    _ = stop.wait() => match tokio::time::timeout(STOP_GRACE, &mut call).await {
                        Ok(r) => r.map_err(CallFailed::from),
                        Err(_) => Err(stopping()),
                    },
                },
                None => call.await.map_err(CallFailed::from),
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err(source) => {
                self.failed("call failed");
                let what = format!("appendBatch of {} events to {}", events.len(), self.addr);
                Err(Call { what, source }.into_sink_error(self.name.clone()))
            }
        }
    }

    /// Sends `events` in one `appendBatch`, its answer left to come when the connection
    /// keeps several calls in flight (it is then in [`Self::take_acks`]); as
    /// [`Self::deliver`] otherwise.
    pub async fn send(&mut self, events: &[Event]) -> Result<(), SinkError> {
        let Some(client) = self.client.as_mut().filter(|c| c.pipelined()) else {
            return self.deliver(events).await;
        };
        let what = format!("appendBatch of {} events to {}", events.len(), self.addr);
        match client.send_batch(events).await {
            Ok(answer) => {
                let (sink, stop) = (self.name.clone(), self.stop.clone());
                self.acks = Some(Acks(Box::pin(async move {
                    answered(answer, stop)
                        .await
                        .map_err(|source| Call { what, source }.into_sink_error(sink))
                })));
                Ok(())
            }
            Err(e) => {
                self.failed("call failed");
                let source = CallFailed::Rpc(e);
                Err(Call { what, source }.into_sink_error(self.name.clone()))
            }
        }
    }

    /// The answer still to come for the batch the last [`Self::send`] sent, if any.
    pub fn take_acks(&mut self) -> Option<Acks> {
        self.acks.take()
    }

    /// Most take transactions the runner keeps open: one per call in flight and one being
    /// taken, or the runner's usual depth when one call is in flight.
    fn depth(&self) -> usize {
        match self.cfg.calls_in_flight() {
            0 | 1 => crate::agent::sink::PIPELINE_DEPTH,
            n => n + 1,
        }
    }

    /// Closes the connection.
    pub fn stop(&mut self) {
        self.close("sink stopped");
    }
}

/// Waits for `answer`; after the stop signal, [`STOP_GRACE`] more.
async fn answered(mut answer: Answer, stop: Option<Stop>) -> Result<(), CallFailed> {
    let Some(mut stop) = stop else {
        return Ok(answer.await?);
    };
    tokio::select! {
        r = &mut answer => Ok(r?),
        _ = stop.wait() => match tokio::time::timeout(STOP_GRACE, &mut answer).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(stopping()),
        },
    }
}

impl<C: RpcClient> crate::agent::sink::Sink for RpcSink<C> {
    fn attach(&mut self, counters: Arc<CounterGroup>, stop: Stop) {
        RpcSink::attach(self, counters, stop);
    }

    fn prepare(&mut self) -> crate::agent::channel::BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(RpcSink::prepare(self))
    }

    fn deliver(
        &mut self,
        events: Vec<Event>,
    ) -> crate::agent::channel::BoxFuture<'_, Result<crate::agent::sink::Delivery, SinkError>> {
        Box::pin(async move {
            RpcSink::send(self, &events)
                .await
                .map(|()| crate::agent::sink::Delivery::Done)
        })
    }

    fn take_acks(&mut self) -> Option<Acks> {
        RpcSink::take_acks(self)
    }

    fn pipeline_depth(&self) -> usize {
        self.depth()
    }

    fn stop(&mut self) -> crate::agent::channel::BoxFuture<'_, ()> {
        RpcSink::stop(self);
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rpc_failure_keeps_its_retryability_as_a_sink_error() {
        for kind in [
            RpcErrorKind::Connect,
            RpcErrorKind::Handshake,
            RpcErrorKind::Timeout,
            RpcErrorKind::Peer,
            RpcErrorKind::Codec,
            RpcErrorKind::Closed,
        ] {
            assert_eq!(sink_kind(kind).retryable(), kind.retryable(), "{kind:?}");
        }
        assert_eq!(sink_kind(RpcErrorKind::Connect), SinkErrorKind::Connect);
        assert_eq!(sink_kind(RpcErrorKind::Handshake), SinkErrorKind::Config);
    }

    #[test]
    fn a_call_cut_by_the_stop_is_a_stop_not_a_failure() {
        let call = Call {
            what: "appendBatch of 3 events to h:1".into(),
            source: stopping(),
        };
        let e = call.into_sink_error("k1");
        assert_eq!(e.kind(), SinkErrorKind::Stopped);
        assert_eq!(
            e.to_string(),
            "sink k1: appendBatch of 3 events to h:1: stopping: no answer within 2000 ms"
        );
    }
}
