//! The HELP text of every series: what it counts or measures, in which unit, per which
//! component. A table per component family keyed by the Flume JSON key, asked in turn by
//! [`meaning`]; a key missing from them (a future gauge) still gets a plain sentence naming its
//! JSON key ([`help`]).

/// What the attribute `key` means (with its unit), or `None` when the table lacks it.
pub(crate) fn meaning(key: &str) -> Option<&'static str> {
    lifetime(key)
        .or_else(|| source(key))
        .or_else(|| channel(key))
        .or_else(|| sink(key))
        .or_else(|| agent(key))
        .or_else(|| resolver(key))
}

/// Every component: when it started and stopped.
fn lifetime(key: &str) -> Option<&'static str> {
    Some(match key {
        "StartTime" => "When the component last started, in seconds since the Unix epoch.",
        "StopTime" => {
            "When the component last stopped, in seconds since the Unix epoch (0: running)."
        }
        _ => return None,
    })
}

/// Sources (Flume's SourceCounter).
fn source(key: &str) -> Option<&'static str> {
    Some(match key {
        "EventReceivedCount" => "Events received by the source, before its channel processor.",
        "EventAcceptedCount" => "Events the source committed to its channels.",
        "AppendReceivedCount" => "Single-event append calls received (RPC sources).",
        "AppendAcceptedCount" => "Single-event append calls committed (RPC sources).",
        "AppendBatchReceivedCount" => "Batches received (RPC sources).",
        "AppendBatchAcceptedCount" => "Batches committed to the channels (RPC sources).",
        "OpenConnectionCount" => "Client connections open now.",
        "EventReadFail" => "Input that could not be read or parsed as events.",
        "ChannelWriteFail" => "Batches the channels refused (full or failed); not acknowledged.",
        "GenericProcessingFail" => "Other failures of the source.",
        "ConnectionRefusedCount" => "Connections refused at a limit (connections or bytes).",
        "EventIdStrippedCount" => {
            "Events whose sluiceId header the source removed (trustEventIds = false)."
        }
        "CallsJoinedCount" => {
            "Calls put in one transaction with an earlier call of their connection (avro)."
        }
        "UpstreamPeerCount" => "Upstream peers (agents) that sent within the remembered window.",
        "TlsHandshakesInProgress" => "TLS handshakes the source is running now.",
        "TlsHandshakeRefusedCount" => {
            "TLS handshakes refused over ssl-max-handshakes or ssl-handshake-rate-per-peer."
        }
        "InflateRatioRefusedCount" => {
            "Deflate connections closed for inflating beyond max-inflate-ratio."
        }
        "LinesLostUnreadCount" => {
            "Lines of files given up unread (deleted, or over spoolBytes or a deleted-file limit)."
        }
        "BytesLostUnreadCount" => "Bytes of files given up unread (TAILDIR).",
        "DeletedOpenBytes" => "Bytes of deleted files the source still holds open.",
        "DeletedFilesClosedCount" => "Deleted files the source closed before reading them all.",
        "DeletedBytesSkippedCount" => "Bytes of deleted files skipped, never read.",
        "SpoolBytes" => "Bytes of deleted files kept by the TAILDIR spool (against spoolBytes).",
        "SpoolBytesLimit" => "The TAILDIR source's spoolBytes (0 while its spool is off).",
        "LinesUnparsedCount" => {
            "Lines that were neither CRI nor json-file, sent whole (kubernetes)."
        }
        "LinesCutCount" => "Events holding a part of a line cut at maxLineBytes (kubernetes).",
        "EventsWithoutApiMetadataCount" => {
            "Events sent with their path's metadata alone: the API server did not know their pod (kubernetes)."
        }
        "ApiServerDownMillis" => {
            "Milliseconds the API server has not answered the pod watch as it should, 0 while it does (kubernetes)."
        }
        "PodsWithMetadata" => "Pods whose API metadata the source holds (kubernetes).",
        "LinesLostRecently" => "Lines given up unread within the source's lossWindow (TAILDIR).",
        "BytesLostRecently" => "Bytes given up unread within the source's lossWindow (TAILDIR).",
        "KafkaPartitionsAssigned" => "Kafka partitions the source holds now (kafka source).",
        _ => return None,
    })
}

/// Channels (Flume's ChannelCounter, the file channel's gauges).
fn channel(key: &str) -> Option<&'static str> {
    Some(match key {
        "EventPutAttemptCount" => "Events offered to the channel, committed or not.",
        "EventPutSuccessCount" => "Events put by committed transactions.",
        "EventTakeAttemptCount" => "Take calls (batches asked for) on the channel.",
        "EventTakeSuccessCount" => "Events taken by committed transactions.",
        "RollbackCount" => "Take transactions rolled back (kafka channel).",
        "EventsLostAtStopCount" => {
            "Events a memory channel still held when it closed: not taken within drainTimeout."
        }
        "ChannelSize" => "Events queued in the channel now.",
        "ChannelCapacity" => "Events the channel holds at most (capacity).",
        "ChannelFillPercentage" => "Queued events as a percentage (0 to 100) of the capacity.",
        "ChannelSizeBytes" => "Bytes of the file channel's files under its directories.",
        "ChannelCapacityBytes" => {
            "Bytes the file channel's files may take (capacityBytes; 0: no bound)."
        }
        "ChannelFullBytesCount" => {
            "Puts refused since the open because the files reached capacityBytes."
        }
        "ChannelBytesFull" => {
            "1 while the channel is full at capacityBytes (the last put was refused there)."
        }
        "EventPutErrorCount" => "Puts the file channel failed.",
        "EventTakeErrorCount" => "Takes the file channel failed.",
        "CheckpointWriteErrorCount" => "Checkpoint writes that failed.",
        "CheckpointBackupWriteErrorCount" => "Backup checkpoint writes that failed.",
        "Open" => "1 while the channel is open.",
        "Closed" => "1 once the channel is closed.",
        "Unhealthy" => "1 once the channel refuses writes after an I/O failure (reopen it).",
        "EventsLostOnOpen" => "Committed events the last open could not recover.",
        "TailCacheHitCount" => "Takes served from the in-memory tail cache since the open.",
        "TailCacheMissCount" => "Takes read from the segment files since the open.",
        "DataDirFreeBytes" => "Free bytes in the fullest data directory, in bytes.",
        "DataDirBelowMinimum" => {
            "1 while a data directory has less free space than minimumRequiredSpace."
        }
        "CheckpointDirFreeBytes" => "Free bytes in the checkpoint directory, in bytes.",
        "ReplayProgressRatio" => "Share of the last open's replay done, 0 to 1.",
        "ReplayEvents" => "Events the last open's replay has read so far.",
        "EventDuplicateCount" => {
            "Puts dropped since the open because the channel had committed their event id."
        }
        "DedupOriginCount" => "Origins (event id spaces) the deduplication table holds.",
        "SealedSegmentCount" => "Segments sealed with an encryption key (encryption.*).",
        "EventIdRefusedCount" => {
            "Puts whose event id the channel refused as forged or malformed and numbered afresh."
        }
        "DedupOriginTurnedAwayCount" => {
            "New origins the full deduplication table did not remember (all held were recent)."
        }
        "EventDuplicateConflictCount" => {
            "Puts dropped as duplicates whose body differs from the event kept under their id."
        }
        _ => return None,
    })
}

/// Sinks (Flume's SinkCounter).
fn sink(key: &str) -> Option<&'static str> {
    Some(match key {
        "ConnectionCreatedCount" => "Connections the sink opened.",
        "ConnectionClosedCount" => "Connections the sink closed.",
        "ConnectionFailedCount" => "Connection attempts that failed.",
        "ConnectionDownMillis" => {
            "How long the sink's connection has been down, in seconds (0 while up)."
        }
        "OutputDownMillis" => {
            "How long the sink has been unable to write its output, in seconds (0 while it writes)."
        }
        "BatchEmptyCount" => "Takes that found the channel empty.",
        "BatchUnderflowCount" => "Takes of fewer events than the batch size.",
        "BatchCompleteCount" => "Takes of a full batch.",
        "EventDrainAttemptCount" => "Events taken for delivery.",
        "EventDrainSuccessCount" => "Events delivered and committed.",
        "EventWriteFail" => "Deliveries that failed (their events returned to the channel).",
        "ChannelReadFail" => "Takes or commits the channel failed.",
        "EventPoisonCount" => "Events the sink could never deliver, dropped or dead-lettered.",
        "EventDeadLetterCount" => "Poison events written to the dead letter file.",
        "EventAlreadyStoredCount" => {
            "Events not sent because the destination already held them (not drained)."
        }
        "ProgressRecordRefusedCount" => "Progress records read back that did not verify.",
        "RowsInsertedCount" => "Rows the sink inserted (clickhouse).",
        "BytesInsertedCount" => "Bytes of rows the sink inserted (clickhouse).",
        "InsertCount" => "INSERTs the server answered OK (clickhouse).",
        "RowsAlreadyStoredCount" => "Rows left out because the table held their id (clickhouse).",
        "BufferedBytes" => "Batch bytes the sink holds unwritten now (hdfs), in bytes.",
        "BufferedBytesPeak" => "Most batch bytes the sink held unwritten since start, in bytes.",
        "HeldBytes" => "Bytes of open multiline events the source holds now, in bytes.",
        "HeldBytesPeak" => "Most bytes of open multiline events held since start, in bytes.",
        _ => return None,
    })
}

/// The agent's reloads and alarms.
fn agent(key: &str) -> Option<&'static str> {
    Some(match key {
        "ReloadRequestCount" => "Reloads asked for (poll, SIGHUP, POST /reload).",
        "ReloadAppliedCount" => "Reloads that restarted changed components.",
        "ReloadUnchangedCount" => "Reloads of a file describing the running configuration.",
        "ReloadRejectedCount" => "Reloads of a file with errors; the running one stayed.",
        "ReloadFailedCount" => "Reloads that failed to apply; the running configuration stayed.",
        "ReloadRefusedCount" => "Reloads refused because they would leave events behind.",
        _ => return None,
    })
}

/// The process's reverse-DNS resolver (RESOLVER.dns).
fn resolver(key: &str) -> Option<&'static str> {
    Some(match key {
        "ReverseLookupCount" => "Host names asked of the resolver (cache hits included).",
        "ReverseLookupCacheHitCount" => "Host names answered from the resolver's caches.",
        "ReverseLookupTimeoutCount" => "Reverse lookups not answered within the timeout (a miss).",
        "ReverseLookupQueueFullCount" => "Reverse lookups not queued: the queue was full (a miss).",
        "PositiveCacheEntries" => "Host names the resolver holds now.",
        "NegativeCacheEntries" => "Addresses without a name the resolver holds now.",
        "AlarmsRaised" => "Alarms raised.",
        "AlarmsCleared" => "Alarms cleared.",
        "NotificationsSent" => "Alarm notifications delivered.",
        "NotificationsFailed" => "Alarm notifications that failed after their retries.",
        "NotificationsDropped" => "Alarm notifications dropped because a queue was full.",
        _ => return None,
    })
}

/// The HELP text of attribute `key` of a `kind` (`SOURCE`, `CHANNEL`, ...) component.
pub(crate) fn help(kind: &str, key: &str) -> String {
    let per = kind.to_ascii_lowercase();
    match meaning(key) {
        Some(m) => format!("{m} Per {per} (JSON key {key})."),
        None => format!("The {per}'s {key} (JSON key {key})."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::metrics::{CHANNEL_COUNTERS, SINK_COUNTERS, SOURCE_COUNTERS, SOURCE_GAUGES};

    #[test]
    fn every_flume_counter_and_source_gauge_has_a_meaning() {
        for key in SOURCE_COUNTERS
            .iter()
            .chain(SOURCE_GAUGES)
            .chain(CHANNEL_COUNTERS)
            .chain(SINK_COUNTERS)
        {
            assert!(meaning(key).is_some(), "no HELP text for {key}");
        }
    }

    #[test]
    fn help_names_the_json_key_and_never_says_flumes() {
        let h = help("CHANNEL", "ChannelSize");
        assert_eq!(
            h,
            "Events queued in the channel now. Per channel (JSON key ChannelSize)."
        );
        assert!(!help("SINK", "Unknown").contains("Flume's"));
    }
}
