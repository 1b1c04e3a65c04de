//! Flume's file channel messages (`filechannel.proto` of flume-file-channel, format v3), as
//! prost types: the bytes are protobuf's wire format, decoded by prost, never by hand. Flume
//! writes each as a length-delimited message (`writeDelimitedTo`). Field numbers and types
//! are Flume's; `required` fields are read as plain fields and checked by the callers.

/// `Checkpoint` (`checkpoint.meta`): the queue's size and head live here in v3.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Checkpoint {
    /// Always 3.
    #[prost(sfixed32, tag = "1")]
    pub version: i32,
    /// The write-order id of the checkpoint (long 1 of the `checkpoint` file too).
    #[prost(sfixed64, tag = "2")]
    pub write_order_id: i64,
    /// Events queued.
    #[prost(sfixed32, tag = "3")]
    pub queue_size: i32,
    /// Ring index of the queue's head.
    #[prost(sfixed32, tag = "4")]
    pub queue_head: i32,
    /// Queued events per log file.
    #[prost(message, repeated, tag = "5")]
    pub active_logs: Vec<ActiveLog>,
}

/// `ActiveLog`: a log file and how many queued events it holds.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ActiveLog {
    /// The file id.
    #[prost(sfixed32, tag = "1")]
    pub log_file_id: i32,
    /// Queued events in it.
    #[prost(sfixed32, tag = "2")]
    pub count: i32,
}

/// `LogFileMetaData` (`log-N.meta`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct LogFileMetaData {
    /// Always 3.
    #[prost(sfixed32, tag = "1")]
    pub version: i32,
    /// The file id (`N`).
    #[prost(sfixed32, tag = "2")]
    pub log_file_id: i32,
    /// Where replay may start in this file for the checkpoint below.
    #[prost(sfixed64, tag = "3")]
    pub checkpoint_position: i64,
    /// The checkpoint that position belongs to.
    #[prost(sfixed64, tag = "4")]
    pub checkpoint_write_order_id: i64,
    /// Present when the file is encrypted.
    #[prost(message, optional, tag = "5")]
    pub encryption: Option<LogFileEncryption>,
    /// The previous checkpoint's position (for a backup checkpoint).
    #[prost(sfixed64, optional, tag = "6")]
    pub backup_checkpoint_position: Option<i64>,
    /// The previous checkpoint's write-order id.
    #[prost(sfixed64, optional, tag = "7")]
    pub backup_checkpoint_write_order_id: Option<i64>,
}

/// `LogFileEncryption`: how a log file's records are encrypted.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LogFileEncryption {
    /// `AESCTRNOPADDING`.
    #[prost(string, tag = "1")]
    pub cipher_provider: String,
    /// The keystore alias of the key.
    #[prost(string, tag = "2")]
    pub key_alias: String,
    /// The cipher's parameters: for AES-CTR the 16-byte initial counter block.
    #[prost(bytes = "vec", optional, tag = "3")]
    pub parameters: Option<Vec<u8>>,
}

/// `TransactionEventHeader`: what every record starts with.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TransactionEventHeader {
    /// 1 put, 2 take, 3 rollback, 4 commit.
    #[prost(sfixed32, tag = "1")]
    pub r#type: i32,
    /// The transaction.
    #[prost(sfixed64, tag = "2")]
    pub transaction_id: i64,
    /// The record's place in the channel's global write order.
    #[prost(sfixed64, tag = "3")]
    pub write_order_id: i64,
}

/// `Put`: one event.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Put {
    /// The event.
    #[prost(message, optional, tag = "1")]
    pub event: Option<FlumeEvent>,
    /// CRC32 of the body (headers not covered).
    #[prost(sfixed64, optional, tag = "2")]
    pub checksum: Option<i64>,
}

/// `FlumeEvent`: headers and body.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FlumeEvent {
    /// The headers, in the order Flume wrote them.
    #[prost(message, repeated, tag = "1")]
    pub headers: Vec<FlumeEventHeader>,
    /// The body.
    #[prost(bytes = "bytes", tag = "2")]
    pub body: bytes::Bytes,
}

/// `FlumeEventHeader`: a missing value is read as "" (as Flume does, FLUME-2620).
#[derive(Clone, PartialEq, prost::Message)]
pub struct FlumeEventHeader {
    /// The key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The value.
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// `Take`: the put record an event was taken from.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Take {
    /// The put's log file.
    #[prost(sfixed32, tag = "1")]
    pub file_id: i32,
    /// The put's offset in it.
    #[prost(sfixed32, tag = "2")]
    pub offset: i32,
}

/// `Commit`: which kind of transaction committed.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Commit {
    /// 1 put, 2 take (the type of the transaction's records).
    #[prost(sfixed32, tag = "1")]
    pub r#type: i32,
}
