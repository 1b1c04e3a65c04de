//! The counters of a sink: Flume's `SinkCounter`.

use super::counter::counters;

counters! {
    /// A counter of Flume's `SinkCounter`.
    SinkCounter, kind "SINK", list SINK_COUNTERS {
        /// Connections opened (network sinks).
        ConnectionCreated = "ConnectionCreatedCount",
        /// Connections closed.
        ConnectionClosed = "ConnectionClosedCount",
        /// Connection attempts that failed.
        ConnectionFailed = "ConnectionFailedCount",
        /// Takes that found the channel empty.
        BatchEmpty = "BatchEmptyCount",
        /// Takes of fewer events than the batch size.
        BatchUnderflow = "BatchUnderflowCount",
        /// Takes of a full batch.
        BatchComplete = "BatchCompleteCount",
        /// Events taken for delivery.
        EventDrainAttempt = "EventDrainAttemptCount",
        /// Events delivered and committed.
        EventDrainSuccess = "EventDrainSuccessCount",
        /// Deliveries that failed.
        EventWriteFail = "EventWriteFail",
        /// Takes or commits the channel failed.
        ChannelReadFail = "ChannelReadFail",
        /// Events the sink could never deliver (poison events), dropped or dead-lettered.
        EventPoison = "EventPoisonCount",
        /// Poison events written to the dead letter.
        EventDeadLetter = "EventDeadLetterCount",
        /// Events not sent because the destination already held them (the nats sink's
        /// progress records; a resend after a crash): not counted as drained.
        EventAlreadyStored = "EventAlreadyStoredCount",
        /// Progress records read back that did not verify (the nats sink): refused, never
        /// used to drop an event.
        ProgressRecordRefused = "ProgressRecordRefusedCount",
    }
}
