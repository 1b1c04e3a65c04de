//! The `avro` source's keys (Flume's `AvroSource`): `bind`, `port`, `threads`,
//! and, through the RPC key parser ([`crate::agent::rpc::transport::config`]), `ssl`,
//! `keystore*`, `compression-type` and `ipFilter*`; plus
//! Sluice's limits (`max-frame-size`, `max-events-per-call`, `max-connections`,
//! `idle-timeout`, `request-timeout`) and the upstream-gone alarm's `clientGoneAfter` and
//! `clientForgetAfter`.

use std::time::Duration;

use crate::agent::alarm::upstreams::{FORGET_AFTER_DEFAULT, GONE_AFTER_DEFAULT};
use crate::agent::config::limits::{CONNECTIONS_MAX, THREADS_MAX};
use crate::agent::config::Ctx;
use crate::agent::source::rpc::keys::{self, Codec};
use crate::wire::avro::call::EVENTS_PER_CALL_MAX_DEFAULT;
use crate::wire::avro::frame::{FRAME_BYTES_MAX_DEFAULT, FRAME_OVERHEAD_BYTES_MAX};

pub use crate::agent::source::rpc::keys::{
    INFLIGHT_BYTES_DEFAULT as AVRO_INFLIGHT_BYTES_DEFAULT,
    INFLIGHT_BYTES_LIMIT as AVRO_INFLIGHT_BYTES_LIMIT,
    INFLIGHT_BYTES_MIN as AVRO_INFLIGHT_BYTES_MIN,
};

/// Most connections an `avro` source may be configured to hold.
pub const AVRO_CONNECTIONS_MAX: u64 = CONNECTIONS_MAX;

/// What avro's codec says of the shared RPC keys ([`keys`]): its frames' buffer headers.
const AVRO: Codec = Codec {
    frame_bytes_default: FRAME_BYTES_MAX_DEFAULT,
    events_default: EVENTS_PER_CALL_MAX_DEFAULT,
    framing_bytes: FRAME_OVERHEAD_BYTES_MAX as u64,
    framing_name: "headers",
};

/// `avro` source settings (Flume's keys plus Sluice's limits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvroSourceConfig {
    /// `bind`.
    pub bind: String,
    /// `port`.
    pub port: u16,
    /// `threads`: most calls being put into the channels at once (default: no limit).
    pub threads: Option<usize>,
    /// `max-frame-size` in bytes (default 64 MiB): a larger frame closes its connection.
    pub max_frame_bytes: usize,
    /// `max-events-per-call` (default 100,000): a larger batch closes its connection.
    pub max_events_per_call: usize,
    /// `max-connections` (default 4096): connections beyond it are closed at once.
    pub max_connections: usize,
    /// `idle-timeout` in seconds (default 600; 0 = never): an idle connection is closed.
    pub idle_timeout: Option<Duration>,
    /// `request-timeout` in ms (default 20000): bounds a whole frame from its first byte
    /// (its reading, and the wait for its share of the in-flight budget) and writing an
    /// answer.
    pub request_timeout: Duration,
    /// `max-inflight-bytes` (Sluice; default 256 MiB, or twice `max-frame-size` and its
    /// headers if more): frames being received may hold half of it, the decoded events of
    /// calls the other half.
    pub max_inflight_bytes: u64,
    /// `clientGoneAfter` (Sluice; default 3m, 0 = off): a remembered upstream with no open
    /// connection for this long raises `<source>.upstreamGone`.
    pub client_gone_after: Duration,
    /// `clientForgetAfter` (Sluice; default 7d): an upstream gone this long is forgotten.
    pub client_forget_after: Duration,
    /// `ssl`, `keystore*`, `compression-type`, `ipFilter*`, ... ([`crate::agent::rpc::transport`]).
    pub security: crate::agent::rpc::transport::ServerSecurity,
}

/// Reads an `avro` source's keys.
pub fn parse(cx: &mut Ctx<'_>) -> Option<AvroSourceConfig> {
    let bind = cx.required("bind");
    let port = cx.port("port");
    let threads = cx
        .get("threads")
        .map(|_| cx.usize("threads", 1, 1, THREADS_MAX));
    let limits = keys::limits(cx, AVRO);
    let security = crate::agent::rpc::transport::config::server_keys(cx);
    let (client_gone_after, client_forget_after) = upstream_keys(cx);
    Some(AvroSourceConfig {
        bind: bind?,
        port: port?,
        threads,
        max_frame_bytes: limits.max_frame_bytes,
        max_events_per_call: limits.max_events_per_call,
        max_connections: limits.max_connections,
        idle_timeout: limits.idle_timeout,
        request_timeout: limits.request_timeout,
        max_inflight_bytes: limits.max_inflight_bytes,
        client_gone_after,
        client_forget_after,
        security,
    })
}

/// `clientGoneAfter` and `clientForgetAfter` of an RPC source (the upstream-gone alarm).
fn upstream_keys(cx: &mut Ctx<'_>) -> (Duration, Duration) {
    let gone = cx.duration("clientGoneAfter", GONE_AFTER_DEFAULT);
    let forget = cx.duration("clientForgetAfter", FORGET_AFTER_DEFAULT);
    if !gone.is_zero() && forget <= gone {
        cx.error(
            "clientForgetAfter",
            "must be longer than clientGoneAfter (an upstream is forgotten after it is reported gone)",
        );
    }
    (gone, forget)
}
