//! Keys the `kafka` components share: the partition keys the sink and channel read
//! (`defaultPartitionId`), the producer's delivery timeout default, and the consumer keys
//! the source and channel set for at-least-once delivery.

use crate::agent::config::Ctx;

/// librdkafka's `message.timeout.ms` default: how long a record may wait for its
/// acknowledgement, retries included.
pub(crate) const MESSAGE_TIMEOUT_MS_DEFAULT: u64 = 300_000;

/// Keys Sluice sets on the consumer for its delivery guarantees.
pub(crate) const CONSUMER_OVERRIDES: &[(&str, &str)] = &[
    ("enable.auto.commit", "false"),
    ("enable.auto.offset.store", "false"),
];

/// A partition number key (0..=i32::MAX).
pub(crate) fn partition(cx: &mut Ctx<'_>, key: &str) -> Option<i32> {
    cx.get(key)?;
    Some(cx.u64(key, 0, 0, i32::MAX as u64) as i32)
}
