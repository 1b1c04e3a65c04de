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
