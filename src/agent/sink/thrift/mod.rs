//! The `thrift` sink (Flume's `ThriftSink`): forwards batches to a downstream thrift source
//! with one `appendBatch` each, in the compact (default) or binary protocol, over one
//! connection it keeps open and re-opens by itself, exactly as the avro sink does.
//!
//! The runner calls [`ThriftSink::prepare`] before it opens a take transaction (as Flume's
//! `verifyConnection`): it connects (within `connect-timeout`) unless a connection is open,
//! or fails at once while the reconnect backoff runs. Then [`ThriftSink::deliver`] sends the batch and returns `Ok` only on `Status OK` within
//! `request-timeout`; any other outcome (timeout, `FAILED`, a broken connection, a bad answer)
//! drops the connection, starts the backoff (250 ms doubling to `max-reconnect-backoff`) and
//! returns an error, so the runner rolls the take back. Nothing is acknowledged upstream of
//! the channel by this sink, so a failure can only cause a resend (at-least-once).
//!
//! Every await watches the stop signal: a connect is abandoned at once, a call in flight gets
//! [`STOP_GRACE`] to finish (its batch is rolled back if it does not; the downstream may then
//! hold it too, a duplicate, never a loss).

pub mod config;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

pub use config::ThriftSinkConfig;

use super::SinkError;
use crate::agent::metrics::CounterGroup;
use crate::agent::metrics::SinkCounter;
use crate::agent::rpc::thrift_client::{ThriftClient, ThriftClientConfig};
use crate::agent::rpc::transport::ClientTransport;
use crate::agent::stop::Stop;
use sluice_core::Event;

/// How long a call in flight may still run after the stop signal.
pub const STOP_GRACE: Duration = Duration::from_secs(2);
/// While the connection stays down, a warning is repeated this often (attempts in between
/// log at debug level).
pub const DOWN_WARN_EVERY: Duration = Duration::from_secs(60);

/// One `thrift` sink.
#[derive(Debug)]
pub struct ThriftSink {
    name: String,
    cfg: ThriftSinkConfig,
    addr: String,
    /// TLS and deflate, built once (or why they cannot be).
    transport: Result<ClientTransport, String>,
    client: Option<ThriftClient>,
    connected_at: Option<Instant>,
    /// No connect attempt before this instant (the reconnect backoff).
    next_attempt: Option<Instant>,
    backoff: Duration,
    failed_attempts: u64,
    last_warn: Option<Instant>,
    /// Wall-clock ms since the connection is down; 0 while up (or never tried).
    down_since_ms: Arc<AtomicU64>,
    counters: Arc<CounterGroup>,
    stop: Option<Stop>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(1)
        .max(1)
}

impl ThriftSink {
    /// A sink that connects on its first [`prepare`](Self::prepare).
    pub fn new(name: &str, cfg: ThriftSinkConfig) -> Self {
        let addr = cfg.addr();
        let transport = ClientTransport::new(&cfg.security).map_err(|e| e.to_string());
        ThriftSink {
            name: name.to_owned(),
            cfg,
            addr,
            transport,
            client: None,
            connected_at: None,
            next_attempt: None,
            backoff: Duration::ZERO,
            failed_attempts: 0,
            last_warn: None,
            down_since_ms: Arc::new(AtomicU64::new(0)),
            counters: CounterGroup::sink(),
            stop: None,
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

    fn err(&self, message: String) -> SinkError {
        SinkError {
            sink: self.name.clone(),
            message,
        }
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
        self.backoff = if self.backoff.is_zero() {
            config::RECONNECT_BACKOFF_INITIAL
        } else {
            self.backoff * 2
        }
        .min(self.cfg.reconnect_backoff_max);
        self.next_attempt = Some(Instant::now() + self.backoff);
    }

    /// Makes sure a connection is open before a batch is taken: reuses the open one (unless
    /// `reset-connection-interval` has passed or the peer closed it while idle), otherwise
    /// connects, unless the reconnect backoff still runs. Cancel safe.
    pub async fn prepare(&mut self) -> Result<(), SinkError> {
        if let (Some(c), Some(at)) = (self.client.as_mut(), self.connected_at) {
            if self
                .cfg
                .reset_connection_interval
                .is_some_and(|every| at.elapsed() >= every)
            {
                self.close("reset-connection-interval");
            } else if c.idle_broken() {
                tracing::info!(sink = %self.name, addr = %self.addr, "the downstream closed the idle connection; reconnecting");
                self.close("closed by the peer while idle");
            } else {
                return Ok(());
            }
        }
        let now = Instant::now();
        if let Some(at) = self.next_attempt.filter(|at| *at > now) {
            return Err(self.err(format!(
                "connection to {} is down (for {} ms); next attempt in {} ms",
                self.addr,
                self.down_for().as_millis(),
                (at - now).as_millis()
            )));
        }
        let cfg = ThriftClientConfig {
            connect_timeout: self.cfg.connect_timeout,
            request_timeout: self.cfg.request_timeout,
            protocol: self.cfg.protocol,
        };
        let transport = match &self.transport {
            Ok(t) => t.clone(),
            Err(e) => return Err(self.err(e.clone())),
        };
        let connect = ThriftClient::connect_with(&self.addr, &transport, cfg);
        let result = match self.stop.clone() {
            Some(mut stop) => tokio::select! {
                r = connect => r.map_err(|e| e.to_string()),
                _ = stop.wait() => Err("stopping".to_owned()),
            },
            None => connect.await.map_err(|e| e.to_string()),
        };
        match result {
            Ok(mut client) => {
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
                self.backoff = Duration::ZERO;
                self.next_attempt = None;
                self.failed_attempts = 0;
                self.last_warn = None;
                Ok(())
            }
            Err(_) if self.stop.as_ref().is_some_and(|s| s.is_set()) => {
                Err(self.err(format!("stopping; connect to {} abandoned", self.addr)))
            }
            Err(e) => {
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
                Err(self.err(format!("cannot connect to {}: {e}", self.addr)))
            }
        }
    }

    /// Sends `events` in one `appendBatch`; `Ok` only when the downstream answered `OK`.
    /// Not cancel safe (the batch may or may not have been delivered): on any error the
    /// connection is dropped and the caller must roll the take back.
    pub async fn deliver(&mut self, events: &[Event]) -> Result<(), SinkError> {
        let Some(client) = self.client.as_mut() else {
            return Err(self.err(format!("not connected to {}", self.addr)));
        };
        let result = {
            let call = client.append_batch(events);
            tokio::pin!(call);
            match self.stop.clone() {
                Some(mut stop) => tokio::select! {
                    r = &mut call => r.map_err(|e| e.to_string()),
                    _ = stop.wait() => match tokio::time::timeout(STOP_GRACE, &mut call).await {
                        Ok(r) => r.map_err(|e| e.to_string()),
                        Err(_) => Err(format!("stopping: no answer within {} ms", STOP_GRACE.as_millis())),
                    },
                },
                None => call.await.map_err(|e| e.to_string()),
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) => {
                self.failed("call failed");
                Err(self.err(format!(
                    "appendBatch of {} events to {}: {e}",
                    events.len(),
                    self.addr
                )))
            }
        }
    }

    /// Closes the connection.
    pub fn stop(&mut self) {
        self.close("sink stopped");
    }
}

impl crate::agent::sink::Sink for ThriftSink {
    fn attach(&mut self, counters: Arc<CounterGroup>, stop: Stop) {
        ThriftSink::attach(self, counters, stop);
    }

    fn prepare(&mut self) -> crate::agent::channel::BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(ThriftSink::prepare(self))
    }

    fn deliver(
        &mut self,
        events: Vec<Event>,
    ) -> crate::agent::channel::BoxFuture<'_, Result<crate::agent::sink::Delivery, SinkError>> {
        Box::pin(async move {
            ThriftSink::deliver(self, &events)
                .await
                .map(|()| crate::agent::sink::Delivery::Done)
        })
    }

    fn stop(&mut self) -> crate::agent::channel::BoxFuture<'_, ()> {
        ThriftSink::stop(self);
        Box::pin(std::future::ready(()))
    }
}

impl crate::agent::sink::BuildSink for ThriftSinkConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn batch_key(&self) -> &'static str {
        "batch-size"
    }

    fn build(&self, name: &str) -> Box<dyn crate::agent::sink::Sink> {
        Box::new(ThriftSink::new(name, self.clone()))
    }
}
