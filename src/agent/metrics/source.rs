//! The counters of a source: Flume's `SourceCounter`.

use super::counter::counters;

counters! {
    /// A counter of Flume's `SourceCounter`.
    SourceCounter, kind "SOURCE", list SOURCE_COUNTERS {
        /// Events received (before the channel processor).
        EventReceived = "EventReceivedCount",
        /// Events committed to the channel(s).
        EventAccepted = "EventAcceptedCount",
        /// `append` calls received (RPC sources).
        AppendReceived = "AppendReceivedCount",
        /// `append` calls committed (RPC sources).
        AppendAccepted = "AppendAcceptedCount",
        /// Batches received.
        AppendBatchReceived = "AppendBatchReceivedCount",
        /// Batches committed.
        AppendBatchAccepted = "AppendBatchAcceptedCount",
        /// Connections open (a gauge Flume keeps as a counter).
        OpenConnection = "OpenConnectionCount",
        /// Input that could not be read or parsed.
        EventReadFail = "EventReadFail",
        /// Batches the channel(s) refused.
        ChannelWriteFail = "ChannelWriteFail",
        /// Other failures of the source.
        GenericProcessingFail = "GenericProcessingFail",
        /// Connections refused at a limit.
        ConnectionRefused = "ConnectionRefusedCount",
        /// Events whose `sluiceId` header the source removed (`trustEventIds = false`).
        EventIdStripped = "EventIdStrippedCount",
        /// Lines a file source gave up unread (TAILDIR: a file deleted or over a limit).
        LinesLostUnread = "LinesLostUnreadCount",
        /// Bytes a file source gave up unread.
        BytesLostUnread = "BytesLostUnreadCount",
    }
}

/// The gauges sources show beside Flume's counters, by name: the one list `config check`
/// knows alarmable source metrics by (an alarm on another key is allowed, with a warning).
/// TAILDIR names its gauges from here ([`taildir`]); a test checks that every gauge a TAILDIR
/// source serves is listed.
pub(crate) const SOURCE_GAUGES: &[&str] = &[
    "OpenConnectionCount",
    "CallsJoinedCount",
    "UpstreamPeerCount",
    "TlsHandshakesInProgress",
    "TlsHandshakeRefusedCount",
    "InflateRatioRefusedCount",
    "KafkaPartitionsAssigned",
    "HeldBytes",
    "HeldBytesPeak",
    taildir::DELETED_OPEN_BYTES,
    taildir::DELETED_FILES_CLOSED,
    taildir::DELETED_BYTES_SKIPPED,
    taildir::SPOOL_BYTES,
    taildir::SPOOL_BYTES_LIMIT,
    taildir::LINES_LOST_RECENTLY,
    taildir::BYTES_LOST_RECENTLY,
    "LinesUnparsedCount",
    "LinesCutCount",
    "EventsWithoutApiMetadataCount",
    "ApiServerDownMillis",
    "PodsWithMetadata",
];

/// The loss gauges of a source that reports loss (`BuildSource::reports_loss`: TAILDIR's),
/// read by `/health`.
pub(crate) use taildir::{BYTES_LOST_RECENTLY, LINES_LOST_RECENTLY};

/// The names of TAILDIR's own gauges.
pub(crate) mod taildir {
    /// Bytes of deleted files the source still holds open.
    pub(crate) const DELETED_OPEN_BYTES: &str = "DeletedOpenBytes";
    /// Deleted files closed by a limit before they were read to their end.
    pub(crate) const DELETED_FILES_CLOSED: &str = "DeletedFilesClosedCount";
    /// Bytes those files had past their committed position.
    pub(crate) const DELETED_BYTES_SKIPPED: &str = "DeletedBytesSkippedCount";
    /// Bytes of deleted files kept by the spool's links only, counted against `spoolBytes`.
    pub(crate) const SPOOL_BYTES: &str = "SpoolBytes";
    /// `spoolBytes` in force (0 while the spool is off).
    pub(crate) const SPOOL_BYTES_LIMIT: &str = "SpoolBytesLimit";
    /// Lines given up unread within `lossWindow` (`/health` is degraded while above 0).
    pub(crate) const LINES_LOST_RECENTLY: &str = "LinesLostRecently";
    /// Bytes given up unread within `lossWindow`.
    pub(crate) const BYTES_LOST_RECENTLY: &str = "BytesLostRecently";
}
