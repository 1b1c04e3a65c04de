//! Sinks: `logger`, `null`, `file_roll`, `hdfs`, `s3`, `http`, `avro`, `thrift`, `otlp`,
//! `kafka`, `nats` and `clickhouse`. A sink only delivers a batch it is handed; the [`runner`] takes the batch from the
//! channel and commits the take only after `deliver` returned `Ok` (for `file_roll` and `hdfs`:
//! after the bytes were written, flushed and fsynced; for `avro`: after the downstream answered
//! `OK`; for `kafka`: after the broker acknowledged every record).
//!
//! Poison events (events a sink can never deliver: an impossible file name from a header, a
//! record over the destination's size limit, a status that refuses the event itself) are not
//! batch failures: the sink delivers the rest of the batch, answers `Ok`, and hands the poison
//! ones over through [`Sink::take_poisoned`]; the runner counts, logs and drops or
//! dead-letters them ([`poison`]) before it commits the take, so they are never retried and
//! the batch's good events are never delivered twice. Which sinks report what:
//! `hdfs` (a timestamp header missing or not a number when the path needs one, a path or file
//! name component made by a header longer than 255 bytes or a path longer than 4095 bytes, a
//! file name the file system refuses as a name, an event too large for a SequenceFile
//! record), `http` (status 400 or 413 when no `rollback.CODE` rule names it), `otlp` (records a
//! receiver rejects through `partial_success`, a batch it refuses as a whole) `kafka` (a
//! record librdkafka refuses as larger than `message.max.bytes` when it is produced) and
//! `clickhouse` (a row ClickHouse refuses for a value that does not parse for its column).

pub mod avro;
pub(crate) mod clickhouse;
pub mod contract;
pub mod error;
pub(crate) mod file_roll;
pub mod hdfs;
pub mod http;
pub(crate) mod java;
pub(crate) mod java_group;
pub(crate) mod kafka;
pub(crate) mod logger;
pub(crate) mod nats;
pub(crate) mod null;
pub(crate) mod otlp;
pub(crate) mod output_down;
pub mod poison;
pub(crate) mod reconnect;
pub mod rolling;
pub(crate) mod rpc_keys;
pub mod rpc_sink;
pub mod runner;
pub(crate) mod s3;
#[cfg(test)]
pub(crate) mod scripted;
mod settle;
pub mod thrift;

pub use contract::{
    Acks, BuildSink, Delivery, LoopCtx, OwnLoop, Sink, SinkError, SinkErrorKind, PIPELINE_DEPTH,
};
pub(crate) use poison::Poisoned;
