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

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::contract::BoxError;
use super::reconnect::Reconnect;
use super::rpc_keys::{RpcSinkSettings, RpcSinkTimings};
use super::{Acks, SinkError, SinkErrorKind};
use crate::agent::backoff::Backoff;
use crate::agent::metrics::CounterGroup;
use crate::agent::metrics::SinkCounter;
use crate::agent::rpc::error::RpcError;
use crate::agent::rpc::transport::{ClientTransport, TransportError};
use crate::agent::stop::Stop;
use sluice_core::Event;

mod client;
mod failure;
mod send;

pub(crate) use client::log_event_ids;
pub use client::{Answer, RpcClient};
pub use failure::sink_kind;
use failure::ConnectFailed;

/// How long a call in flight may still run after the stop signal.
pub const STOP_GRACE: Duration = Duration::from_secs(2);
/// While the connection stays down, a warning is repeated this often (attempts in between
/// log at debug level).
pub const DOWN_WARN_EVERY: Duration = Duration::from_secs(60);
/// The first reconnect backoff (Flume's RPC sinks: 250 ms, doubling).
pub const RECONNECT_BACKOFF_INITIAL: Duration = Duration::from_millis(250);

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
