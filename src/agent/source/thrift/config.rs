//! The `thrift` source's keys (Flume's `ThriftSource`): `bind`, `port`, `threads`,
//! `protocol` (`compact`, the default, or `binary`), and, through the RPC key parser
//! ([`crate::agent::rpc::transport::config`]), `ssl`, `keystore*`, `compression-type` and
//! `ipFilter*`; `kerberos` is refused. Plus Sluice's limits, named as the avro source's:
//! `max-frame-size`, `max-events-per-call`, `max-connections`, `idle-timeout`,
//! `request-timeout`, `max-inflight-bytes`.

use std::time::Duration;

use crate::agent::config::ctx::Ctx;
use crate::agent::config::limits::BATCH_SIZE_MAX;
use crate::agent::rpc::transport::ServerSecurity;
use crate::agent::source::rpc::keys::{self, Codec};
use crate::wire::thrift::frame::{FRAME_BYTES_MAX_DEFAULT, FRAME_HEADER_BYTES};
use crate::wire::thrift::service::EVENTS_PER_CALL_MAX_DEFAULT;
use crate::wire::thrift::Protocol;

pub use crate::agent::source::rpc::keys::{
    CONNECTIONS_DEFAULT, IDLE_TIMEOUT_S_DEFAULT, INFLIGHT_BYTES_DEFAULT, INFLIGHT_BYTES_LIMIT,
    INFLIGHT_BYTES_MIN, REQUEST_TIMEOUT_MS_DEFAULT,
};

/// Largest `max-events-per-call`.
pub const EVENTS_PER_CALL_LIMIT: u64 = BATCH_SIZE_MAX;
/// Largest `threads`.
pub const THREADS_LIMIT: u64 = 4096;

/// What thrift's codec says of the shared RPC keys ([`keys`]): its frames' length prefix.
const THRIFT: Codec = Codec {
    frame_bytes_default: FRAME_BYTES_MAX_DEFAULT,
    events_default: EVENTS_PER_CALL_MAX_DEFAULT,
    framing_bytes: FRAME_HEADER_BYTES as u64,
    framing_name: "prefix",
};

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
                .max(keys::inflight_floor(FRAME_BYTES_MAX_DEFAULT as u64, THRIFT)),
            security: ServerSecurity::default(),
        }
    }
}

/// Reads a `thrift` source's keys; `None` after an error (reported through `cx`).
pub fn parse(cx: &mut Ctx<'_>) -> Option<ThriftSourceConfig> {
    let bind = cx.required("bind");
    let port = cx.port("port");
    // Flume: `threads` unset or 0 = no limit.
    let threads = match cx.u64("threads", 0, 0, THREADS_LIMIT) {
        0 => None,
        n => Some(n as usize),
    };
    let protocol = crate::agent::rpc::thrift_protocol::protocol(cx);
    let limits = keys::limits(cx, THRIFT);
    let security = crate::agent::rpc::transport::config::server_keys(cx);
    refuse_kerberos(cx);
    Some(ThriftSourceConfig {
        bind: bind?.trim().to_owned(),
        port: port?,
        threads,
        protocol: protocol?,
        max_frame_bytes: limits.max_frame_bytes,
        max_events_per_call: limits.max_events_per_call,
        max_connections: limits.max_connections,
        idle_timeout: limits.idle_timeout,
        request_timeout: limits.request_timeout,
        max_inflight_bytes: limits.max_inflight_bytes,
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
