//! The `thrift` sink's settings: Flume's `ThriftSink` keys and defaults (`hostname`, `port`,
//! `batch-size` 100, `connect-timeout` 20000 ms, `request-timeout` 20000 ms,
//! `connection-reset-interval` none (seconds; Flume's code also reads
//! `reset-connection-interval`, taken as the same), `protocol` compact) plus Sluice's
//! `max-reconnect-backoff` (5000 ms), and, through the shared RPC key parser
//! ([`crate::agent::rpc::transport::config`]), `ssl`, `truststore*`, `trust-all-certs`,
//! `compression-type`. Kerberos is refused with a clear error.

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
use crate::wire::thrift::Protocol;

/// Largest `batch-size` (also the most events a Sluice thrift source takes in one call by
/// default is 100,000: keep them matched).
pub const BATCH_SIZE_LIMIT: u64 = crate::agent::config::limits::BATCH_SIZE_MAX;

/// `thrift` sink settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThriftSinkConfig {
    /// `hostname` of the downstream thrift source.
    pub hostname: String,
    /// `port`.
    pub port: u16,
    /// `batch-size`: events per take transaction and per `appendBatch` (default 100).
    pub batch_size: usize,
    /// `connect-timeout` (default 20 s), `request-timeout` (one `appendBatch`, first byte out
    /// to last byte in; default 20 s), the reset interval (reconnect this often, e.g. to
    /// rebalance behind a load balancer; default none) and `max-reconnect-backoff` (default 5 s).
    pub timings: RpcSinkTimings,
    /// `protocol`: `compact` (default) or `binary`, as the downstream source.
    pub protocol: Protocol,
    /// `ssl`, `truststore*`, `compression-type`, ... ([`crate::agent::rpc::transport`]).
    pub security: ClientSecurity,
    /// `eventIds`: unset, calls carry the events' ids (`sluiceId`) only to a source that
    /// answers Sluice's probe at connect (a Sluice thrift source; a Flume collector would
    /// write the ids out as headers); `true` always, `false` never (docs/exactly-once.md,
    /// "A staged migration").
    pub event_ids: Option<bool>,
}

impl ThriftSinkConfig {
    /// A configuration with Flume's defaults for `host:port` (tests and tools).
    pub fn new(hostname: &str, port: u16) -> Self {
        ThriftSinkConfig {
            hostname: hostname.to_owned(),
            port,
            batch_size: BATCH_SIZE_DEFAULT as usize,
            timings: default_timings(),
            protocol: Protocol::Compact,
            security: ClientSecurity::default(),
            event_ids: None,
        }
    }

    /// `host:port`.
    pub fn addr(&self) -> String {
        host_port(&self.hostname, self.port)
    }
}

impl RpcSinkSettings for ThriftSinkConfig {
    fn addr(&self) -> String {
        ThriftSinkConfig::addr(self)
    }

    fn timings(&self) -> RpcSinkTimings {
        self.timings
    }

    fn security(&self) -> &ClientSecurity {
        &self.security
    }
}

/// Reads a `thrift` sink's keys; `None` after an error (reported through `cx`).
pub fn parse(cx: &mut Ctx<'_>) -> Option<ThriftSinkConfig> {
    let keys = rpc_keys::read(
        cx,
        &["connection-reset-interval", "reset-connection-interval"],
    );
    let protocol = crate::agent::rpc::thrift_protocol::protocol(cx);
    if cx.bool("kerberos", false) {
        cx.error(
            "kerberos",
            "Kerberos (SASL) on the thrift sink is not supported",
        );
    }
    for k in ["client-principal", "client-keytab", "server-principal"] {
        cx.get(k);
    }
    let k = keys?;
    Some(ThriftSinkConfig {
        hostname: k.hostname,
        port: k.port,
        batch_size: k.batch_size,
        timings: k.timings,
        protocol: protocol?,
        security: k.security,
        event_ids: k.event_ids,
    })
}
