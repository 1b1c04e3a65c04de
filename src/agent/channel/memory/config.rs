//! The `memory` channel's keys (Flume's `MemoryChannel`): `capacity` (100),
//! `transactionCapacity` (100), `keep-alive` (3 s), `byteCapacity` (0: a share of physical
//! memory) and `byteCapacityBufferPercentage` (20), and Sluice's `drainTimeout` (30 s: how
//! long a stop lets the sinks take what the channel holds before it is lost and counted).

use std::time::Duration;

use crate::agent::config::limits::{BYTE_CAPACITY_MAX, CAPACITY_MAX, DURATION_S_MAX};
use crate::agent::config::Ctx;

/// `memory` channel settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryConfig {
    /// `capacity` (default 100).
    pub capacity: u64,
    /// `transactionCapacity` (default 100).
    pub transaction_capacity: u64,
    /// `keep-alive` (default 3 s).
    pub keep_alive: Duration,
    /// `byteCapacity` in bytes of body; `None` = no byte limit (Flume: 80% of the JVM heap).
    pub byte_capacity: Option<u64>,
    /// `byteCapacityBufferPercentage` (default 20).
    pub byte_capacity_buffer_percentage: u64,
    /// `drainTimeout` (default [`DRAIN_TIMEOUT_DEFAULT`]): how long a stop, or a reload that
    /// removes or changes the channel, lets its sinks take what it holds (its sources already
    /// stopped) before the rest is lost and counted (`EventsLostAtStopCount`).
    pub drain_timeout: Duration,
}

/// `drainTimeout`'s default (Vector drains its buffers for up to 60 s).
pub const DRAIN_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);
/// The longest `drainTimeout` (a typo of a unit cannot hold a stop for days).
pub const DRAIN_TIMEOUT_MAX: Duration = Duration::from_secs(3600);

impl MemoryConfig {
    /// `capacity`, `transactionCapacity` and `keep-alive`, with no byte limit and the default
    /// 20 % byte buffer (tests and the bench).
    pub fn sized(capacity: u64, transaction_capacity: u64, keep_alive: Duration) -> Self {
        MemoryConfig {
            capacity,
            transaction_capacity,
            keep_alive,
            byte_capacity: None,
            byte_capacity_buffer_percentage: 20,
            drain_timeout: DRAIN_TIMEOUT_DEFAULT,
        }
    }
}

/// Reads a `memory` channel's keys.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<MemoryConfig> {
    let capacity = cx.u64("capacity", 100, 1, CAPACITY_MAX);
    let transaction_capacity = cx.u64("transactionCapacity", 100, 1, CAPACITY_MAX);
    if transaction_capacity > capacity {
        cx.error(
            "transactionCapacity",
            format!("{transaction_capacity} exceeds capacity {capacity}"),
        );
    }
    let keep_alive = Duration::from_secs(cx.u64("keep-alive", 3, 0, DURATION_S_MAX));
    // 0 (or absent) means the default share of physical memory, as Flume's 0 means
    // "the JVM's limit".
    let byte_capacity = match cx.bytes("byteCapacity", 0, 0, BYTE_CAPACITY_MAX) {
        0 => None,
        n => Some(n),
    };
    let pct = cx.u64("byteCapacityBufferPercentage", 20, 0, 99);
    let drain_timeout = cx.duration("drainTimeout", DRAIN_TIMEOUT_DEFAULT);
    if drain_timeout > DRAIN_TIMEOUT_MAX {
        cx.error(
            "drainTimeout",
            format!(
                "must be at most {}s, got {}s",
                DRAIN_TIMEOUT_MAX.as_secs(),
                drain_timeout.as_secs()
            ),
        );
    }
    Some(MemoryConfig {
        capacity,
        transaction_capacity,
        keep_alive,
        byte_capacity,
        byte_capacity_buffer_percentage: pct,
        drain_timeout,
    })
}
