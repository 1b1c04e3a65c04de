//! The `thrift` source's keys (Flume's `ThriftSource`): `bind`, `port`, `threads`,
//! `protocol` (`compact`, the default, or `binary`), and, through the RPC key parser
//! ([`crate::agent::rpc::transport::config`]), `ssl`, `keystore*`, `compression-type` and
//! `ipFilter*`; `kerberos` is refused. Plus Sluice's limits, named as the avro source's:
//! `max-frame-size`, `max-events-per-call`, `max-connections`, `idle-timeout`,
//! `request-timeout`, `max-inflight-bytes`.

use std::time::Duration;

use crate::agent::config::ctx::Ctx;
use crate::agent::config::limits::{CONNECTIONS_MAX, DURATION_MS_MAX, DURATION_S_MAX};
use crate::agent::rpc::transport::ServerSecurity;
use crate::wire::thrift::frame::{FRAME_BYTES_MAX_DEFAULT, FRAME_HEADER_BYTES};
use crate::wire::thrift::service::EVENTS_PER_CALL_MAX_DEFAULT;
use crate::wire::thrift::Protocol;

/// Largest `max-events-per-call`.
pub const EVENTS_PER_CALL_LIMIT: u64 = 1_000_000;
/// Largest `threads`.
pub const THREADS_LIMIT: u64 = 4096;
/// Default `max-connections`.
pub const CONNECTIONS_DEFAULT: u64 = 4096;
/// Default `idle-timeout`, in seconds.
pub const IDLE_TIMEOUT_S_DEFAULT: u64 = 600;
/// Default `request-timeout`, in ms.
pub const REQUEST_TIMEOUT_MS_DEFAULT: u64 = 20_000;
/// Default `max-inflight-bytes` (256 MiB).
pub const INFLIGHT_BYTES_DEFAULT: u64 = 256 << 20;
/// Least `max-inflight-bytes`.
pub const INFLIGHT_BYTES_MIN: u64 = 1 << 20;
/// Largest `max-inflight-bytes` (what one semaphore wait can ask for, 4 GiB - 1).
pub const INFLIGHT_BYTES_LIMIT: u64 = u32::MAX as u64;
/// Bytes a connection may read past the frame it reserved for (its look-ahead), with room
/// to spare; part of the least `max-inflight-bytes`.
const READ_SLACK_BYTES: u64 = 64 << 10;

/// `thrift` source settings (Flume's keys plus Sluice's limits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThriftSourceConfig {
    /// `bind`.
    pub bind: String,
    /// `port`.
    pub port: u16,
    /// `threads`: most calls being decoded and put at once (default: no limit).
    pub threads: Option<usize>,
    /// `protocol`: `compact` (default) or `binary`; the clients must use the same.
    pub protocol: Protocol,
    /// `max-frame-size` in bytes (default 64 MiB): a larger frame closes its connection.
    pub max_frame_bytes: usize,
    /// `max-events-per-call` (default 100,000): a larger batch closes its connection.
    pub max_events_per_call: usize,
    /// `max-connections` (default 4096): connections beyond it are closed at once.
    pub max_connections: usize,
    /// `idle-timeout` in seconds (default 600; 0 = never): an idle connection is closed.
    pub idle_timeout: Option<Duration>,
    /// `request-timeout` in ms (default 20000): bounds a whole frame from its first byte
    /// (reading it, waiting for its share of the in-flight budget) and writing its answer.
    pub request_timeout: Duration,
    /// `max-inflight-bytes` (default 256 MiB, or twice `max-frame-size` if more): frames
    /// being received may hold half of it, the decoded events of calls the other half.
    pub max_inflight_bytes: u64,
    /// `ssl`, `keystore*`, `compression-type`, `ipFilter*`, ... ([`crate::agent::rpc::transport`]).
    pub security: ServerSecurity,
}

impl ThriftSourceConfig {
    /// A configuration with the defaults, listening on `bind:port` (tests and tools).
    pub fn new(bind: &str, port: u16) -> Self {
        ThriftSourceConfig {
            bind: bind.to_owned(),
            port,
            threads: None,
            protocol: Protocol::Compact,
            max_frame_bytes: FRAME_BYTES_MAX_DEFAULT,
            max_events_per_call: EVENTS_PER_CALL_MAX_DEFAULT,
            max_connections: CONNECTIONS_DEFAULT as usize,
            idle_timeout: Some(Duration::from_secs(IDLE_TIMEOUT_S_DEFAULT)),
            request_timeout: Duration::from_millis(REQUEST_TIMEOUT_MS_DEFAULT),
            max_inflight_bytes: INFLIGHT_BYTES_DEFAULT
                .max(inflight_floor(FRAME_BYTES_MAX_DEFAULT as u64)),
            security: ServerSecurity::default(),
        }
    }
}

/// Reads a `thrift` source's keys; `None` after an error (reported through `cx`).
pub fn parse(cx: &mut Ctx<'_>) -> Option<ThriftSourceConfig> {
    let bind = cx.required("bind");
    let port = cx
        .required("port")
        .and_then(|p| match p.trim().parse::<u16>() {
            Ok(n) => Some(n),
            Err(_) => {
                cx.error("port", format!("expected a port number 0-65535, got {p:?}"));
                None
            }
        });
    // Flume: `threads` unset or 0 = no limit.
    let threads = match cx.u64("threads", 0, 0, THREADS_LIMIT) {
        0 => None,
        n => Some(n as usize),
    };
    let protocol = crate::agent::rpc::thrift_protocol::protocol(cx);
    let max_frame_bytes = cx.u64(
        "max-frame-size",
        FRAME_BYTES_MAX_DEFAULT as u64,
        1024,
        i32::MAX as u64,
    );
    let max_events_per_call = cx.u64(
        "max-events-per-call",
        EVENTS_PER_CALL_MAX_DEFAULT as u64,
        1,
        EVENTS_PER_CALL_LIMIT,
    );
    let max_connections = cx.u64("max-connections", CONNECTIONS_DEFAULT, 1, CONNECTIONS_MAX);
    let idle = cx.u64("idle-timeout", IDLE_TIMEOUT_S_DEFAULT, 0, DURATION_S_MAX);
    let request_ms = cx.u64(
        "request-timeout",
        REQUEST_TIMEOUT_MS_DEFAULT,
        1,
        DURATION_MS_MAX,
    );
    let max_inflight_bytes = inflight_bytes(cx, max_frame_bytes);
    let security = crate::agent::rpc::transport::config::server_keys(cx);
    refuse_kerberos(cx);
    Some(ThriftSourceConfig {
        bind: bind?.trim().to_owned(),
        port: port?,
        threads,
        protocol: protocol?,
        max_frame_bytes: max_frame_bytes as usize,
        max_events_per_call: max_events_per_call as usize,
        max_connections: max_connections as usize,
        idle_timeout: (idle > 0).then(|| Duration::from_secs(idle)),
        request_timeout: Duration::from_millis(request_ms),
        max_inflight_bytes,
        security,
    })
}

/// Flume's Kerberos keys: refused when turned on, read (not "unknown") otherwise.
fn refuse_kerberos(cx: &mut Ctx<'_>) {
    for k in ["agent-principal", "agent-keytab"] {
        cx.get(k);
    }
    if cx.bool("kerberos", false) {
        cx.error(
            "kerberos",
            "Kerberos (SASL) on the thrift source is not supported",
        );
    }
}

/// Least `max-inflight-bytes` for this largest frame: half of it must hold one whole frame,
/// its prefix and the look-ahead reads past it.
fn inflight_floor(max_frame_bytes: u64) -> u64 {
    2 * (max_frame_bytes + FRAME_HEADER_BYTES as u64 + READ_SLACK_BYTES)
}

fn inflight_bytes(cx: &mut Ctx<'_>, max_frame_bytes: u64) -> u64 {
    let floor = inflight_floor(max_frame_bytes);
    match cx.get("max-inflight-bytes") {
        None => INFLIGHT_BYTES_DEFAULT.max(floor),
        Some(_) => {
            let n = cx.u64(
                "max-inflight-bytes",
                INFLIGHT_BYTES_DEFAULT,
                INFLIGHT_BYTES_MIN,
                INFLIGHT_BYTES_LIMIT,
            );
            if n < floor {
                cx.error(
                    "max-inflight-bytes",
                    format!(
                        "{n} is less than twice max-frame-size and its prefix ({floor}): \
                         half of the budget must hold one whole frame"
                    ),
                );
            }
            n
        }
    }
}
