//! The `avro` sink's settings: Flume's `AvroSink` keys and defaults (`hostname`, `port`,
//! `batch-size` 100, `connect-timeout` 20000 ms, `request-timeout` 20000 ms,
//! `reset-connection-interval` none, `compression-type` none, `maxIoWorkers`) plus Sluice's
//! `max-reconnect-backoff` (5000 ms) and `max-calls-in-flight` (16: calls sent before the
//! first is answered; 1 is Flume's one call at a time). TLS (`ssl`, `truststore*`, `trust-all-certs`,
//! `verify-hostname`) and deflate (`compression-type`, `compression-level`) are read by the
//! shared RPC key parser ([`crate::agent::rpc::transport::config`]).

use crate::agent::config::ctx::Ctx;
use crate::agent::rpc::transport::ClientSecurity;
use crate::agent::sink::rpc_keys::{
    self, default_timings, host_port, RpcSinkSettings, RpcSinkTimings,
};
pub use crate::agent::sink::rpc_keys::{
    BATCH_SIZE_DEFAULT, CONNECT_TIMEOUT_MS_DEFAULT, RECONNECT_BACKOFF_MAX_MS_DEFAULT,
    REQUEST_TIMEOUT_MS_DEFAULT, TIMEOUT_MS_MAX,
};
pub use crate::agent::sink::rpc_sink::RECONNECT_BACKOFF_INITIAL;
use crate::wire::avro::client::IdsPolicy;

/// `avro` sink settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvroSinkConfig {
    /// The agent's name, sent as `sluice.agent` in every call's metadata.
    pub agent: String,
    /// `hostname` of the downstream avro source.
    pub hostname: String,
    /// `port`.
    pub port: u16,
    /// `batch-size`: events per take transaction and per `appendBatch` (default 100).
    pub batch_size: usize,
    /// `connect-timeout` (default 20 s), `request-timeout` (one `appendBatch`, first byte out
    /// to last byte in; default 20 s), the reset interval (reconnect this often, e.g. to
    /// rebalance behind a load balancer; default none) and `max-reconnect-backoff` (default 5 s).
    pub timings: RpcSinkTimings,
    /// `ssl`, `truststore*`, `compression-type`, ... ([`crate::agent::rpc::transport`]).
    pub security: ClientSecurity,
    /// `max-calls-in-flight`: `appendBatch` calls sent on the connection before the first
    /// is answered (default [`CALLS_IN_FLIGHT_DEFAULT`]; 1: one at a time, as Flume's sink).
    pub calls_in_flight: usize,
    /// `eventIds`: unset, calls carry the events' ids (`sluiceId`) only to a downstream that
    /// said in the handshake it takes them (a Sluice avro source); `true` always, `false`
    /// never (docs/exactly-once.md, "A staged migration").
    pub event_ids: IdsPolicy,
}

/// `max-calls-in-flight` by default: enough for the downstream's group commit to take
/// several calls in one fsync, and for the runner to commit up to 16 takes as one group (W2 by
/// hand, 2026-11-26: 4 → 8 carried 155–181k → 231–237k events/s at 6.6–7.9 → 5.3–5.6 µs per
/// event, both agents; 2026-11-28, with the collector reading 16 calls ahead and its file_roll
/// grouping 16 batches: 8 → 16 part of 343-369k → 452-497k; docs/performance-findings.md).
pub const CALLS_IN_FLIGHT_DEFAULT: u64 = 16;
/// Most `max-calls-in-flight`.
pub const CALLS_IN_FLIGHT_MAX: u64 = 64;

impl AvroSinkConfig {
    /// A configuration with Flume's defaults for `host:port` (tests and tools).
    pub fn new(agent: &str, hostname: &str, port: u16) -> Self {
        AvroSinkConfig {
            agent: agent.to_owned(),
            hostname: hostname.to_owned(),
            port,
            batch_size: BATCH_SIZE_DEFAULT as usize,
            timings: default_timings(),
            security: ClientSecurity::default(),
            calls_in_flight: CALLS_IN_FLIGHT_DEFAULT as usize,
            event_ids: IdsPolicy::IfPeerTakes,
        }
    }

    /// `host:port`.
    pub fn addr(&self) -> String {
        host_port(&self.hostname, self.port)
    }
}

impl RpcSinkSettings for AvroSinkConfig {
    fn addr(&self) -> String {
        AvroSinkConfig::addr(self)
    }

    fn timings(&self) -> RpcSinkTimings {
        self.timings
    }

    fn security(&self) -> &ClientSecurity {
        &self.security
    }

    fn calls_in_flight(&self) -> usize {
        self.calls_in_flight
    }
}

/// Reads an `avro` sink's keys; `None` after an error (reported through `cx`).
pub fn parse(cx: &mut Ctx<'_>) -> Option<AvroSinkConfig> {
    let agent = cx
        .comp()
        .key_prefix
        .split('.')
        .next()
        .unwrap_or_default()
        .to_owned();
    let keys = rpc_keys::read(cx, &["reset-connection-interval"]);
    // Flume's Netty worker threads; Sluice's I/O runs on the agent's tokio runtime.
    cx.u64("maxIoWorkers", 1, 1, 1024);
    let calls_in_flight = cx.u64(
        "max-calls-in-flight",
        CALLS_IN_FLIGHT_DEFAULT,
        1,
        CALLS_IN_FLIGHT_MAX,
    ) as usize;
    let k = keys?;
    Some(AvroSinkConfig {
        agent,
        hostname: k.hostname,
        port: k.port,
        batch_size: k.batch_size,
        timings: k.timings,
        security: k.security,
        calls_in_flight,
        event_ids: match k.event_ids {
            None => IdsPolicy::IfPeerTakes,
            Some(true) => IdsPolicy::Always,
            Some(false) => IdsPolicy::Never,
        },
    })
}
