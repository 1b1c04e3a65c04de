//! The kafka channel's counters: every channel's counters (Flume's and
//! `EventsLostAtStopCount`, always 0 here: Kafka keeps what the channel holds) and
//! `KafkaChannelCounter`'s `RollbackCount` and `EventReadFail`.

use crate::agent::metrics::{Counter, CHANNEL_COUNTERS};

/// The channel's counters: every channel's counters and `RollbackCount`, `EventReadFail`.
pub(crate) const KAFKA_CHANNEL_COUNTERS: &[&str] = &[
    CHANNEL_COUNTERS[0],
    CHANNEL_COUNTERS[1],
    CHANNEL_COUNTERS[2],
    CHANNEL_COUNTERS[3],
    CHANNEL_COUNTERS[4],
    KafkaChannelCounter::Rollback.flume_name(),
    KafkaChannelCounter::EventReadFail.flume_name(),
];

/// The counters of Flume's `KafkaChannelCounter` beyond [`ChannelCounter`]'s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KafkaChannelCounter {
    /// Take transactions rolled back (their partitions seeked back).
    Rollback,
    /// Records that could not be read as events.
    EventReadFail,
}

impl KafkaChannelCounter {
    /// Flume's name of the counter.
    pub(crate) const fn flume_name(self) -> &'static str {
        match self {
            KafkaChannelCounter::Rollback => "RollbackCount",
            KafkaChannelCounter::EventReadFail => "EventReadFail",
        }
    }
}

impl Counter for KafkaChannelCounter {
    const KIND: &'static str = "CHANNEL";

    fn index(self) -> usize {
        CHANNEL_COUNTERS.len() + self as usize
    }

    fn flume_name(self) -> &'static str {
        KafkaChannelCounter::flume_name(self)
    }
}
