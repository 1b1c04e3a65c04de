//! The keys the RPC sinks (`avro`, `thrift`) read alike, with Flume's defaults: `hostname`,
//! `port`, `batch-size` 100, `connect-timeout` and `request-timeout` 20000 ms, the reset
//! interval (seconds, `none` or absent: never), Sluice's `max-reconnect-backoff` 5000 ms, and
//! TLS/deflate through the shared RPC key parser ([`crate::agent::rpc::transport::config`]).
//! Each sink's `config.rs` adds its own keys.

use std::time::Duration;

use crate::agent::config::ctx::Ctx;
use crate::agent::config::limits::{BATCH_SIZE_MAX, DURATION_S_MAX};
use crate::agent::rpc::transport::ClientSecurity;

/// Flume's `batch-size` default.
pub const BATCH_SIZE_DEFAULT: u64 = 100;
/// Flume's `connect-timeout` default, in ms.
pub const CONNECT_TIMEOUT_MS_DEFAULT: u64 = 20_000;
/// Flume's `request-timeout` default, in ms.
pub const REQUEST_TIMEOUT_MS_DEFAULT: u64 = 20_000;
/// Longest pause between reconnect attempts by default, in ms.
pub const RECONNECT_BACKOFF_MAX_MS_DEFAULT: u64 = 5_000;
/// Longest timeout accepted for connect and requests (one hour): a limit, not a target.
pub const TIMEOUT_MS_MAX: u64 = 3_600_000;

/// The settings every RPC sink shares (Flume's keys of the same names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RpcSinkTimings {
    /// `connect-timeout`.
    pub connect_timeout: Duration,
    /// `request-timeout`.
    pub request_timeout: Duration,
    /// `reset-connection-interval`: reconnect this often even when healthy.
    pub reset_connection_interval: Option<Duration>,
    /// `max-reconnect-backoff`.
    pub reconnect_backoff_max: Duration,
}

/// What an RPC sink's settings give the shared sink ([`super::rpc_sink::RpcSink::new`]).
pub trait RpcSinkSettings {
    /// `host:port` of the downstream source.
    fn addr(&self) -> String;
    /// The timeouts and the backoff.
    fn timings(&self) -> RpcSinkTimings;
    /// TLS and deflate.
    fn security(&self) -> &ClientSecurity;
    /// Calls kept in flight on the connection (1: each answered before the next is sent).
    fn calls_in_flight(&self) -> usize {
        1
    }
}

/// The shared keys of one RPC sink, as read.
#[derive(Clone, Debug)]
pub(crate) struct RpcSinkKeys {
    /// `hostname`.
    pub hostname: String,
    /// `port`.
    pub port: u16,
    /// `batch-size`.
    pub batch_size: usize,
    /// The timeouts, the reset interval and the backoff.
    pub timings: RpcSinkTimings,
    /// `ssl`, `truststore*`, `compression-type`, ...
    pub security: ClientSecurity,
    /// `eventIds`: whether calls carry the events' ids (`sluiceId`); unset, only to a peer
    /// known to take them (docs/exactly-once.md, "A staged migration").
    pub event_ids: Option<bool>,
}

/// The key that says whether an RPC sink sends the events' ids.
pub(crate) const EVENT_IDS_KEY: &str = "eventIds";

/// Flume's timeouts and Sluice's backoff, unset keys.
pub(crate) fn default_timings() -> RpcSinkTimings {
    RpcSinkTimings {
        connect_timeout: Duration::from_millis(CONNECT_TIMEOUT_MS_DEFAULT),
        request_timeout: Duration::from_millis(REQUEST_TIMEOUT_MS_DEFAULT),
        reset_connection_interval: None,
        reconnect_backoff_max: Duration::from_millis(RECONNECT_BACKOFF_MAX_MS_DEFAULT),
    }
}

/// `host:port`, with an IPv6 literal in brackets.
pub(crate) fn host_port(hostname: &str, port: u16) -> String {
    if hostname.contains(':') && !hostname.starts_with('[') {
        format!("[{hostname}]:{port}")
    } else {
        format!("{hostname}:{port}")
    }
}

/// Reads the shared keys; the reset interval under any of `reset_keys` (the last one set
/// wins). `None` after an error (reported through `cx`); every key is read either way, so
/// all errors are reported at once.
pub(crate) fn read(cx: &mut Ctx<'_>, reset_keys: &[&str]) -> Option<RpcSinkKeys> {
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
    let mut reset_secs = 0;
    for &key in reset_keys {
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
    let security = crate::agent::rpc::transport::config::client_keys(cx);
    let event_ids = cx.get(EVENT_IDS_KEY).map(|_| cx.bool(EVENT_IDS_KEY, false));
    Some(RpcSinkKeys {
        hostname: hostname?.trim().to_owned(),
        port: port?,
        batch_size: batch_size as usize,
        timings: RpcSinkTimings {
            connect_timeout,
            request_timeout,
            reset_connection_interval: (reset_secs > 0).then(|| Duration::from_secs(reset_secs)),
            reconnect_backoff_max,
        },
        security,
        event_ids,
    })
}

fn millis(cx: &mut Ctx<'_>, key: &str, default: u64) -> Duration {
    Duration::from_millis(cx.u64(key, default, 1, TIMEOUT_MS_MAX))
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn an_ipv6_literal_gets_brackets_once() {
        assert_eq!(host_port("h", 41414), "h:41414");
        assert_eq!(host_port("::1", 41414), "[::1]:41414");
        assert_eq!(host_port("[::1]", 41414), "[::1]:41414");
    }
}
