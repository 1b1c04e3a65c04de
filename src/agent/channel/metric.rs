//! The channel metrics Flume reports, as types: the counters a channel adapter adds to and
//! the gauges it computes, each with its Flume name (the JSON key, unchanged).

/// A counter of Flume's `ChannelCounter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelCounter {
    /// Events offered to `put` (whether or not they were committed).
    PutAttempt,
    /// Events put by committed transactions.
    PutSuccess,
    /// Calls to take a batch.
    TakeAttempt,
    /// Events taken by committed transactions.
    TakeSuccess,
}

impl ChannelCounter {
    /// Every counter, in the order of [`crate::agent::metrics::CHANNEL_COUNTERS`].
    pub const ALL: [ChannelCounter; 4] = [
        ChannelCounter::PutAttempt,
        ChannelCounter::PutSuccess,
        ChannelCounter::TakeAttempt,
        ChannelCounter::TakeSuccess,
    ];

    /// Flume's name of the counter.
    pub const fn flume_name(self) -> &'static str {
        match self {
            ChannelCounter::PutAttempt => "EventPutAttemptCount",
            ChannelCounter::PutSuccess => "EventPutSuccessCount",
            ChannelCounter::TakeAttempt => "EventTakeAttemptCount",
            ChannelCounter::TakeSuccess => "EventTakeSuccessCount",
        }
    }
}

/// A gauge a channel reports next to its counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelGauge {
    /// Events queued.
    Size,
    /// `capacity`.
    Capacity,
    /// `Size` as a percentage of `Capacity`.
    FillPercentage,
    /// Failed puts (file channel).
    PutErrors,
    /// Failed takes (file channel).
    TakeErrors,
    /// Failed checkpoint writes (file channel).
    CheckpointWriteErrors,
    /// Failed backup checkpoint writes (file channel).
    CheckpointBackupWriteErrors,
    /// Whether the channel is open (file channel).
    Open,
    /// 1 once closed (file channel).
    Closed,
    /// 1 once poisoned (file channel).
    Unhealthy,
    /// Events the last open could not recover (file channel).
    EventsLostOnOpen,
}

impl ChannelGauge {
    /// Flume's name of the gauge (Sluice's own for the last two).
    pub const fn flume_name(self) -> &'static str {
        match self {
            ChannelGauge::Size => "ChannelSize",
            ChannelGauge::Capacity => "ChannelCapacity",
            ChannelGauge::FillPercentage => "ChannelFillPercentage",
            ChannelGauge::PutErrors => "EventPutErrorCount",
            ChannelGauge::TakeErrors => "EventTakeErrorCount",
            ChannelGauge::CheckpointWriteErrors => "CheckpointWriteErrorCount",
            ChannelGauge::CheckpointBackupWriteErrors => "CheckpointBackupWriteErrorCount",
            ChannelGauge::Open => "Open",
            ChannelGauge::Closed => "Closed",
            ChannelGauge::Unhealthy => "Unhealthy",
            ChannelGauge::EventsLostOnOpen => "EventsLostOnOpen",
        }
    }

    /// The gauge with its value, as the metrics registry takes it.
    pub fn with(self, value: impl ToString) -> (&'static str, String) {
        (self.flume_name(), value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::metrics::CHANNEL_COUNTERS;

    #[test]
    fn the_counter_enum_names_exactly_the_registered_channel_counters() {
        let names: Vec<&str> = ChannelCounter::ALL.iter().map(|c| c.flume_name()).collect();
        assert_eq!(names, CHANNEL_COUNTERS);
    }
}
