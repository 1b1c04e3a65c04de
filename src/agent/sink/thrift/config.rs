//! The `thrift` sink's settings: Flume's `ThriftSink` keys and defaults (`hostname`, `port`,
//! `batch-size` 100, `connect-timeout` 20000 ms, `request-timeout` 20000 ms,
//! `connection-reset-interval` none (seconds; Flume's code also reads
//! `reset-connection-interval`, taken as the same), `protocol` compact) plus Sluice's
//! `max-reconnect-backoff` (5000 ms), and, through the shared RPC key parser
//! ([`crate::agent::rpc::transport::config`]), `ssl`, `truststore*`, `trust-all-certs`,
//! `compression-type`. Kerberos is refused with a clear error.

use std::time::Duration;

use crate::agent::config::ctx::Ctx;
use crate::agent::config::limits::DURATION_S_MAX;
use crate::agent::rpc::transport::ClientSecurity;
use crate::wire::thrift::Protocol;

/// Flume's `batch-size` default.
pub const BATCH_SIZE_DEFAULT: u64 = 100;
/// Largest `batch-size` (also the most events a Sluice thrift source takes in one call by
/// default is 100,000: keep them matched).
pub const BATCH_SIZE_LIMIT: u64 = 1_000_000;
/// Flume's `connect-timeout` default, in ms.
pub const CONNECT_TIMEOUT_MS_DEFAULT: u64 = 20_000;
/// Flume's `request-timeout` default, in ms.
pub const REQUEST_TIMEOUT_MS_DEFAULT: u64 = 20_000;
/// Longest pause between reconnect attempts by default, in ms.
pub const RECONNECT_BACKOFF_MAX_MS_DEFAULT: u64 = 5_000;
pub use crate::agent::sink::rpc_sink::RECONNECT_BACKOFF_INITIAL;
/// Longest timeout accepted for connect and requests (one hour): a limit, not a target.
pub const TIMEOUT_MS_MAX: u64 = 3_600_000;

/// `thrift` sink settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThriftSinkConfig {
    /// `hostname` of the downstream thrift source.
    pub hostname: String,
    /// `port`.
    pub port: u16,
    /// `batch-size`: events per take transaction and per `appendBatch` (default 100).
    pub batch_size: usize,
    /// `connect-timeout` (default 20 s).
    pub connect_timeout: Duration,
    /// `request-timeout`: one `appendBatch`, first byte out to last byte in (default 20 s).
    pub request_timeout: Duration,
    /// `connection-reset-interval` (seconds): reconnect this often, e.g. to rebalance behind
    /// a load balancer (default none).
    pub reset_connection_interval: Option<Duration>,
    /// `max-reconnect-backoff` (ms): longest pause between reconnect attempts (default 5 s).
    pub reconnect_backoff_max: Duration,
    /// `protocol`: `compact` (default) or `binary`, as the downstream source.
    pub protocol: Protocol,
    /// `ssl`, `truststore*`, `compression-type`, ... ([`crate::agent::rpc::transport`]).
    pub security: ClientSecurity,
}

impl ThriftSinkConfig {
    /// A configuration with Flume's defaults for `host:port` (tests and tools).
    pub fn new(hostname: &str, port: u16) -> Self {
        ThriftSinkConfig {
            hostname: hostname.to_owned(),
            port,
            batch_size: BATCH_SIZE_DEFAULT as usize,
            connect_timeout: Duration::from_millis(CONNECT_TIMEOUT_MS_DEFAULT),
            request_timeout: Duration::from_millis(REQUEST_TIMEOUT_MS_DEFAULT),
            reset_connection_interval: None,
            reconnect_backoff_max: Duration::from_millis(RECONNECT_BACKOFF_MAX_MS_DEFAULT),
            protocol: Protocol::Compact,
            security: ClientSecurity::default(),
        }
    }

    /// `host:port`.
    pub fn addr(&self) -> String {
        if self.hostname.contains(':') && !self.hostname.starts_with('[') {
            format!("[{}]:{}", self.hostname, self.port)
        } else {
            format!("{}:{}", self.hostname, self.port)
        }
    }
}

/// Reads a `thrift` sink's keys; `None` after an error (reported through `cx`).
pub fn parse(cx: &mut Ctx<'_>) -> Option<ThriftSinkConfig> {
    let hostname = cx.required("hostname");
    let port = cx
        .required("port")
        .and_then(|p| match p.trim().parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                cx.error("port", format!("expected a port number 1-65535, got {p:?}"));
                None
            }
        });
    let batch_size = cx.u64("batch-size", BATCH_SIZE_DEFAULT, 1, BATCH_SIZE_LIMIT);
    let connect_timeout = millis(cx, "connect-timeout", CONNECT_TIMEOUT_MS_DEFAULT);
    let request_timeout = millis(cx, "request-timeout", REQUEST_TIMEOUT_MS_DEFAULT);
    let mut reset_secs = 0;
    for key in ["connection-reset-interval", "reset-connection-interval"] {
        match cx.get(key) {
            None => {}
            Some(v) if v.trim().eq_ignore_ascii_case("none") => {}
            Some(_) => reset_secs = cx.u64(key, 0, 0, DURATION_S_MAX),
        }
    }
    let reconnect_backoff_max = millis(
        cx,
        "max-reconnect-backoff",
        RECONNECT_BACKOFF_MAX_MS_DEFAULT,
    );
    let protocol = crate::agent::source::thrift::config::protocol(cx);
    let security = crate::agent::rpc::transport::config::client_keys(cx);
    if cx.bool("kerberos", false) {
        cx.error(
            "kerberos",
            "Kerberos (SASL) on the thrift sink is not supported",
        );
    }
    for k in ["client-principal", "client-keytab", "server-principal"] {
        cx.get(k);
    }
    Some(ThriftSinkConfig {
        hostname: hostname?.trim().to_owned(),
        port: port?,
        batch_size: batch_size as usize,
        connect_timeout,
        request_timeout,
        reset_connection_interval: (reset_secs > 0).then(|| Duration::from_secs(reset_secs)),
        reconnect_backoff_max,
        protocol: protocol?,
        security,
    })
}

fn millis(cx: &mut Ctx<'_>, key: &str, default: u64) -> Duration {
    Duration::from_millis(cx.u64(key, default, 1, TIMEOUT_MS_MAX))
}
