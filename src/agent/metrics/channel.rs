//! The channel metrics Flume reports, as types: the counters a channel adapter adds to and
//! the gauges it computes, each with its Flume name (the JSON key, unchanged).

use super::counter::counters;

counters! {
    /// A counter of Flume's `ChannelCounter`.
    ChannelCounter, kind "CHANNEL", list CHANNEL_COUNTERS {
        /// Events offered to `put` (whether or not they were committed).
        PutAttempt = "EventPutAttemptCount",
        /// Events put by committed transactions.
        PutSuccess = "EventPutSuccessCount",
        /// Calls to take a batch.
        TakeAttempt = "EventTakeAttemptCount",
        /// Events taken by committed transactions.
        TakeSuccess = "EventTakeSuccessCount",
        /// Events a memory channel still held when it closed (a stop or a reload that
        /// removed or changed it): its sinks did not take them within `drainTimeout`.
        EventsLostAtStop = "EventsLostAtStopCount",
    }
}

/// A gauge a channel reports next to its counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChannelGauge {
    /// Events queued.
    Size,
    /// `capacity`.
    Capacity,
    /// `Size` as a percentage of `Capacity`.
    FillPercentage,
    /// Bytes of the channel's files under its directories (file channel).
    SizeBytes,
    /// `capacityBytes` (file channel; 0: no byte bound).
    CapacityBytes,
    /// Puts refused at `capacityBytes` since the open (file channel).
    FullBytes,
    /// 1 while full at `capacityBytes`: the last put was refused there and no put fitted nor
    /// take committed since (file channel).
    BytesFull,
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
    /// Takes served from the event cache (file channel, `tailCacheSize`).
    TailCacheHits,
    /// Takes the event cache did not hold, read from the segments (file channel).
    TailCacheMisses,
    /// Share of the last open's replay done, 0 to 1 (file channel).
    ReplayProgress,
    /// Events (put records) the last open's replay has read so far (file channel).
    ReplayEvents,
    /// Puts dropped since the open because their event id was committed before (file
    /// channel, `eventIds`).
    Duplicates,
    /// Puts whose event id the channel refused and numbered afresh (file channel).
    IdsRefused,
    /// Origins the deduplication table holds (file channel, `eventIds`).
    DedupOrigins,
    /// New origins the full deduplication table did not remember since the open: every
    /// origin it held was committed recently (file channel, `eventIds`).
    DedupOriginsTurnedAway,
    /// Puts dropped as duplicates whose body differs from the event committed under their
    /// id (file channel, `eventIds`): two upstreams number events under one origin.
    DuplicateConflicts,
    /// Segments sealed with a key (file channel, `encryption.*`).
    SealedSegments,
    /// The alias of the oldest key still sealing a segment ("" without encryption): a key
    /// older than it may leave `encryption.keyProvider.keys` (JSON only, a text).
    OldestKeyInUse,
    /// Segments by the alias that seals them, oldest first, `key-0=3 key-1=5` (`plain=N`:
    /// segments not sealed; JSON only, a text).
    SegmentsByKey,
}

impl ChannelGauge {
    /// Flume's name of the gauge (Sluice's own from `Unhealthy` on).
    pub(crate) const fn flume_name(self) -> &'static str {
        match self {
            ChannelGauge::Size => "ChannelSize",
            ChannelGauge::Capacity => "ChannelCapacity",
            ChannelGauge::FillPercentage => "ChannelFillPercentage",
            ChannelGauge::SizeBytes => "ChannelSizeBytes",
            ChannelGauge::CapacityBytes => "ChannelCapacityBytes",
            ChannelGauge::FullBytes => "ChannelFullBytesCount",
            ChannelGauge::BytesFull => "ChannelBytesFull",
            ChannelGauge::PutErrors => "EventPutErrorCount",
            ChannelGauge::TakeErrors => "EventTakeErrorCount",
            ChannelGauge::CheckpointWriteErrors => "CheckpointWriteErrorCount",
            ChannelGauge::CheckpointBackupWriteErrors => "CheckpointBackupWriteErrorCount",
            ChannelGauge::Open => "Open",
            ChannelGauge::Closed => "Closed",
            ChannelGauge::Unhealthy => "Unhealthy",
            ChannelGauge::EventsLostOnOpen => "EventsLostOnOpen",
            ChannelGauge::TailCacheHits => "TailCacheHitCount",
            ChannelGauge::TailCacheMisses => "TailCacheMissCount",
            ChannelGauge::ReplayProgress => "ReplayProgressRatio",
            ChannelGauge::ReplayEvents => "ReplayEvents",
            ChannelGauge::Duplicates => "EventDuplicateCount",
            ChannelGauge::IdsRefused => "EventIdRefusedCount",
            ChannelGauge::DedupOrigins => "DedupOriginCount",
            ChannelGauge::DedupOriginsTurnedAway => "DedupOriginTurnedAwayCount",
            ChannelGauge::DuplicateConflicts => "EventDuplicateConflictCount",
            ChannelGauge::SealedSegments => "SealedSegmentCount",
            ChannelGauge::OldestKeyInUse => "OldestKeyInUse",
            ChannelGauge::SegmentsByKey => "SegmentsByKey",
        }
    }

    /// The gauge with its value, as the metrics registry takes it.
    pub(crate) fn with(self, value: impl ToString) -> (&'static str, String) {
        (self.flume_name(), value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::metrics::{
        Counter, SinkCounter, SourceCounter, SINK_COUNTERS, SOURCE_COUNTERS,
    };

    fn names<C: Counter>(all: &[C]) -> Vec<&'static str> {
        all.iter().map(|c| c.flume_name()).collect()
    }

    fn indices<C: Counter>(all: &[C]) -> Vec<usize> {
        all.iter().map(|c| c.index()).collect()
    }

    #[test]
    fn each_counter_enum_names_exactly_its_groups_counters_in_order() {
        assert_eq!(names(ChannelCounter::ALL), CHANNEL_COUNTERS);
        assert_eq!(names(SourceCounter::ALL), SOURCE_COUNTERS);
        assert_eq!(names(SinkCounter::ALL), SINK_COUNTERS);
        assert_eq!(
            indices(ChannelCounter::ALL),
            (0..CHANNEL_COUNTERS.len()).collect::<Vec<_>>()
        );
        assert_eq!(
            indices(SourceCounter::ALL),
            (0..SOURCE_COUNTERS.len()).collect::<Vec<_>>()
        );
        assert_eq!(
            indices(SinkCounter::ALL),
            (0..SINK_COUNTERS.len()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn flume_names_are_kept_byte_for_byte() {
        assert_eq!(
            SOURCE_COUNTERS,
            [
                "EventReceivedCount",
                "EventAcceptedCount",
                "AppendReceivedCount",
                "AppendAcceptedCount",
                "AppendBatchReceivedCount",
                "AppendBatchAcceptedCount",
                "OpenConnectionCount",
                "EventReadFail",
                "ChannelWriteFail",
                "GenericProcessingFail",
                "ConnectionRefusedCount",
                "EventIdStrippedCount",
                "LinesLostUnreadCount",
                "BytesLostUnreadCount",
            ]
        );
        assert_eq!(
            CHANNEL_COUNTERS,
            [
                "EventPutAttemptCount",
                "EventPutSuccessCount",
                "EventTakeAttemptCount",
                "EventTakeSuccessCount",
                "EventsLostAtStopCount",
            ]
        );
        assert_eq!(
            SINK_COUNTERS,
            [
                "ConnectionCreatedCount",
                "ConnectionClosedCount",
                "ConnectionFailedCount",
                "BatchEmptyCount",
                "BatchUnderflowCount",
                "BatchCompleteCount",
                "EventDrainAttemptCount",
                "EventDrainSuccessCount",
                "EventWriteFail",
                "ChannelReadFail",
                // Sluice's own: poison events dropped or dead-lettered.
                "EventPoisonCount",
                "EventDeadLetterCount",
                // Sluice's own: the nats sink's resends dropped, and records refused.
                "EventAlreadyStoredCount",
                "ProgressRecordRefusedCount",
            ]
        );
    }
}
