//! The `avro` sink's settings: Flume's `AvroSink` keys and defaults (`hostname`, `port`,
//! `batch-size` 100, `connect-timeout` 20000 ms, `request-timeout` 20000 ms,
//! `reset-connection-interval` none, `compression-type` none, `maxIoWorkers`) plus Sluice's
//! `max-reconnect-backoff` (5000 ms). TLS (`ssl`, `truststore*`, `trust-all-certs`,
//! `verify-hostname`) and deflate (`compression-type`, `compression-level`) are read by the
//! shared RPC key parser ([`crate::agent::rpc::transport::config`]).

use std::time::Duration;

use crate::agent::config::ctx::Ctx;
use crate::agent::config::limits::BATCH_SIZE_MAX;
use crate::agent::config::limits::DURATION_S_MAX;
use crate::agent::rpc::transport::ClientSecurity;

/// Flume's `batch-size` default.
pub const BATCH_SIZE_DEFAULT: u64 = 100;
/// Flume's `connect-timeout` default, in ms.
pub const CONNECT_TIMEOUT_MS_DEFAULT: u64 = 20_000;
/// Flume's `request-timeout` default, in ms.
pub const REQUEST_TIMEOUT_MS_DEFAULT: u64 = 20_000;
/// Longest pause between reconnect attempts by default, in ms.
pub const RECONNECT_BACKOFF_MAX_MS_DEFAULT: u64 = 5_000;
pub use crate::agent::sink::rpc_sink::RECONNECT_BACKOFF_INITIAL;
/// Longest timeout accepted for connect and requests (one hour): a limit, not a target.
pub const TIMEOUT_MS_MAX: u64 = 3_600_000;

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
    /// `connect-timeout`: TCP connect plus handshake (default 20 s).
    pub connect_timeout: Duration,
    /// `request-timeout`: one `appendBatch`, first byte out to last byte in (default 20 s).
    pub request_timeout: Duration,
    /// `reset-connection-interval` (seconds): reconnect this often, e.g. to rebalance behind
    /// a load balancer (default none).
    pub reset_connection_interval: Option<Duration>,
    /// `max-reconnect-backoff` (ms): longest pause between reconnect attempts (default 5 s).
    pub reconnect_backoff_max: Duration,
    /// `ssl`, `truststore*`, `compression-type`, ... ([`crate::agent::rpc::transport`]).
    pub security: ClientSecurity,
}

impl AvroSinkConfig {
    /// A configuration with Flume's defaults for `host:port` (tests and tools).
    pub fn new(agent: &str, hostname: &str, port: u16) -> Self {
        AvroSinkConfig {
            agent: agent.to_owned(),
            hostname: hostname.to_owned(),
            port,
            batch_size: BATCH_SIZE_DEFAULT as usize,
            connect_timeout: Duration::from_millis(CONNECT_TIMEOUT_MS_DEFAULT),
            request_timeout: Duration::from_millis(REQUEST_TIMEOUT_MS_DEFAULT),
            reset_connection_interval: None,
            reconnect_backoff_max: Duration::from_millis(RECONNECT_BACKOFF_MAX_MS_DEFAULT),
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

/// Reads an `avro` sink's keys; `None` after an error (reported through `cx`).
pub fn parse(cx: &mut Ctx<'_>) -> Option<AvroSinkConfig> {
    let agent = cx
        .comp()
        .key_prefix
        .split('.')
        .next()
        .unwrap_or_default()
        .to_owned();
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
    let batch_size = cx.u64("batch-size", BATCH_SIZE_DEFAULT, 1, BATCH_SIZE_MAX);
    let connect_timeout = millis(cx, "connect-timeout", CONNECT_TIMEOUT_MS_DEFAULT);
    let request_timeout = millis(cx, "request-timeout", REQUEST_TIMEOUT_MS_DEFAULT);
    let reset_secs = match cx.get("reset-connection-interval") {
        None => 0,
        Some(v) if v.trim().eq_ignore_ascii_case("none") => 0,
        Some(_) => cx.u64("reset-connection-interval", 0, 0, DURATION_S_MAX),
    };
    let reconnect_backoff_max = millis(
        cx,
        "max-reconnect-backoff",
        RECONNECT_BACKOFF_MAX_MS_DEFAULT,
    );
    let security = crate::agent::rpc::transport::config::client_keys(cx);
    // Flume's Netty worker threads; Sluice's I/O runs on the agent's tokio runtime.
    cx.u64("maxIoWorkers", 1, 1, 1024);
    Some(AvroSinkConfig {
        agent,
        hostname: hostname?.trim().to_owned(),
        port: port?,
        batch_size: batch_size as usize,
        connect_timeout,
        request_timeout,
        reset_connection_interval: (reset_secs > 0).then(|| Duration::from_secs(reset_secs)),
        reconnect_backoff_max,
        security,
    })
}

fn millis(cx: &mut Ctx<'_>, key: &str, default: u64) -> Duration {
    Duration::from_millis(cx.u64(key, default, 1, TIMEOUT_MS_MAX))
}
