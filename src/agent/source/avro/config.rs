//! The `avro` source's keys (Flume's `AvroSource`): `bind`, `port`, `threads`,
//! `compression-type` (none), `ssl` and `ipFilter` (refused until they are built), plus
//! Sluice's limits (`max-frame-size`, `max-events-per-call`, `max-connections`,
//! `idle-timeout`, `request-timeout`) and the upstream-gone alarm's `clientGoneAfter` and
//! `clientForgetAfter`.

use std::time::Duration;

use crate::agent::alarm::upstreams::{FORGET_AFTER_DEFAULT, GONE_AFTER_DEFAULT};
use crate::agent::config::limits::{
    BATCH_SIZE_MAX, CONNECTIONS_MAX, DURATION_MS_MAX, DURATION_S_MAX, THREADS_MAX,
};
use crate::agent::config::Ctx;
use crate::wire::avro::call::EVENTS_PER_CALL_MAX_DEFAULT;
use crate::wire::avro::frame::FRAME_BYTES_MAX_DEFAULT;

/// Most connections an `avro` source may be configured to hold.
pub const AVRO_CONNECTIONS_MAX: u64 = CONNECTIONS_MAX;
/// Default `max-inflight-bytes` of the avro source (256 MiB).
pub const AVRO_INFLIGHT_BYTES_DEFAULT: u64 = 256 << 20;
/// Least `max-inflight-bytes`.
pub const AVRO_INFLIGHT_BYTES_MIN: u64 = 1 << 20;
/// Bytes a connection may have read past the frame it reserved for (its look-ahead reads),
/// with room to spare; part of the least `max-inflight-bytes`.
const AVRO_READ_SLACK_BYTES: u64 = 64 << 10;
/// Largest `max-inflight-bytes` (what a semaphore wait can ask for at once, 4 GiB - 1).
pub const AVRO_INFLIGHT_BYTES_LIMIT: u64 = u32::MAX as u64;

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
}

/// Reads an `avro` source's keys.
pub fn parse(cx: &mut Ctx<'_>) -> Option<AvroSourceConfig> {
    let bind = cx.required("bind");
    let port = cx.port("port");
    let threads = cx
        .get("threads")
        .map(|_| cx.usize("threads", 1, 1, THREADS_MAX));
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
        BATCH_SIZE_MAX,
    );
    let max_connections = cx.u64("max-connections", 4096, 1, AVRO_CONNECTIONS_MAX);
    let idle = cx.u64("idle-timeout", 600, 0, DURATION_S_MAX);
    let request_timeout = cx.millis("request-timeout", 20_000, 1, DURATION_MS_MAX);
    let max_inflight_bytes = inflight_bytes(cx, max_frame_bytes);
    if let Some(c) = cx.get("compression-type") {
        if !c.eq_ignore_ascii_case("none") {
            cx.error(
                "compression-type",
                format!("{c:?} is not supported yet (only none)"),
            );
        }
    }
    for key in ["ssl", "ipFilter"] {
        if cx.bool(key, false) {
            cx.error(key, "not supported yet");
        }
    }
    let (client_gone_after, client_forget_after) = upstream_keys(cx);
    Some(AvroSourceConfig {
        bind: bind?,
        port: port?,
        threads,
        max_frame_bytes: max_frame_bytes.min(i32::MAX as u64) as usize,
        max_events_per_call: max_events_per_call.min(BATCH_SIZE_MAX) as usize,
        max_connections: max_connections.min(AVRO_CONNECTIONS_MAX) as usize,
        idle_timeout: (idle > 0).then(|| Duration::from_secs(idle)),
        request_timeout,
        max_inflight_bytes,
        client_gone_after,
        client_forget_after,
    })
}

/// `max-inflight-bytes` of an avro source: half of it must hold one largest frame.
fn inflight_bytes(cx: &mut Ctx<'_>, max_frame_bytes: u64) -> u64 {
    use crate::wire::avro::frame::FRAME_OVERHEAD_BYTES_MAX;
    // One whole frame, its headers, and the look-ahead reads past it.
    let floor = 2
        * (max_frame_bytes.min(i32::MAX as u64)
            + FRAME_OVERHEAD_BYTES_MAX as u64
            + AVRO_READ_SLACK_BYTES);
    match cx.get("max-inflight-bytes") {
        None => AVRO_INFLIGHT_BYTES_DEFAULT.max(floor),
        Some(_) => {
            let n = cx.u64(
                "max-inflight-bytes",
                AVRO_INFLIGHT_BYTES_DEFAULT,
                AVRO_INFLIGHT_BYTES_MIN,
                AVRO_INFLIGHT_BYTES_LIMIT,
            );
            if n < floor {
                cx.error(
                    "max-inflight-bytes",
                    format!(
                        "{n} is less than twice max-frame-size and its headers ({floor}): \
                         half of the budget must hold one whole frame"
                    ),
                );
            }
            n
        }
    }
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
