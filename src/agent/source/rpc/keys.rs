//! The keys the RPC sources (`avro`, `thrift`) read alike, with the same defaults and ranges:
//! `max-frame-size`, `max-events-per-call`, `max-connections`, `idle-timeout`,
//! `request-timeout` and `max-inflight-bytes`, whose half must hold one largest frame with
//! its framing (avro's buffer headers, thrift's length prefix: [`Codec`]) and the
//! look-ahead reads past it.

use std::time::Duration;

use crate::agent::config::limits::{
    BATCH_SIZE_MAX, CONNECTIONS_MAX, DURATION_MS_MAX, DURATION_S_MAX,
};
use crate::agent::config::Ctx;

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
/// Largest `max-inflight-bytes` (what one semaphore wait can ask for at once, 4 GiB - 1).
pub const INFLIGHT_BYTES_LIMIT: u64 = u32::MAX as u64;
/// Bytes a connection may have read past the frame it reserved for (its look-ahead reads),
/// with room to spare; part of the least `max-inflight-bytes`.
const READ_SLACK_BYTES: u64 = 64 << 10;

/// What a protocol's codec says the keys default to, and what its frames hold beyond a
/// payload of at most `max-frame-size` bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Codec {
    /// Default `max-frame-size`.
    pub(crate) frame_bytes_default: usize,
    /// Default `max-events-per-call`.
    pub(crate) events_default: usize,
    /// The most bytes of framing one frame has.
    pub(crate) framing_bytes: u64,
    /// What the framing is called in an error (`headers`, `prefix`).
    pub(crate) framing_name: &'static str,
}

/// The limits every RPC source reads alike.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// `max-frame-size`.
    pub(crate) max_frame_bytes: usize,
    /// `max-events-per-call`.
    pub(crate) max_events_per_call: usize,
    /// `max-connections`.
    pub(crate) max_connections: usize,
    /// `idle-timeout` (`None`: 0, never).
    pub(crate) idle_timeout: Option<Duration>,
    /// `request-timeout`.
    pub(crate) request_timeout: Duration,
    /// `max-inflight-bytes`.
    pub(crate) max_inflight_bytes: u64,
}

/// Reads the limits' keys, in this order; an error is reported through `cx` and the key's
/// default taken.
pub(crate) fn limits(cx: &mut Ctx<'_>, codec: Codec) -> Limits {
    let max_frame_bytes = cx.bytes(
        "max-frame-size",
        codec.frame_bytes_default as u64,
        1024,
        i32::MAX as u64,
    );
    let max_events_per_call = cx.usize(
        "max-events-per-call",
        codec.events_default as u64,
        1,
        BATCH_SIZE_MAX,
    );
    let max_connections = cx.usize("max-connections", CONNECTIONS_DEFAULT, 1, CONNECTIONS_MAX);
    let idle = cx.u64("idle-timeout", IDLE_TIMEOUT_S_DEFAULT, 0, DURATION_S_MAX);
    let request_timeout = cx.millis(
        "request-timeout",
        REQUEST_TIMEOUT_MS_DEFAULT,
        1,
        DURATION_MS_MAX,
    );
    let max_inflight_bytes = inflight_bytes(cx, max_frame_bytes, codec);
    Limits {
        max_frame_bytes: max_frame_bytes as usize,
        max_events_per_call,
        max_connections,
        idle_timeout: (idle > 0).then(|| Duration::from_secs(idle)),
        request_timeout,
        max_inflight_bytes,
    }
}

/// Least `max-inflight-bytes` for this largest frame: half of it must hold one whole frame,
/// its framing and the look-ahead reads past it.
pub(crate) fn inflight_floor(max_frame_bytes: u64, codec: Codec) -> u64 {
    2 * (max_frame_bytes.min(i32::MAX as u64) + codec.framing_bytes + READ_SLACK_BYTES)
}

/// `max-inflight-bytes`: the default, or at least twice the floor when more.
fn inflight_bytes(cx: &mut Ctx<'_>, max_frame_bytes: u64, codec: Codec) -> u64 {
    let floor = inflight_floor(max_frame_bytes, codec);
    match cx.get("max-inflight-bytes") {
        None => INFLIGHT_BYTES_DEFAULT.max(floor),
        Some(_) => {
            let n = cx.bytes(
                "max-inflight-bytes",
                INFLIGHT_BYTES_DEFAULT,
                INFLIGHT_BYTES_MIN,
                INFLIGHT_BYTES_LIMIT,
            );
            if n < floor {
                cx.error(
                    "max-inflight-bytes",
                    format!(
                        "{n} is less than twice max-frame-size and its {} ({floor}): \
                         half of the budget must hold one whole frame",
                        codec.framing_name
                    ),
                );
            }
            n
        }
    }
}
