//! Sinks: `logger`, `null`, `file_roll`, `hdfs`, `http`, `avro` and `kafka`. A sink only delivers a
//! batch it is handed; the [`runner`] takes the batch from the channel and commits the take
//! only after `deliver` returned `Ok` (for `file_roll` and `hdfs`: after the bytes were
//! written, flushed and fsynced; for `avro`: after the downstream answered `OK`; for `kafka`:
//! after the broker acknowledged every record).

pub mod avro;
pub mod contract;
pub mod file_roll;
pub mod hdfs;
pub mod http;
pub mod kafka;
pub mod logger;
pub mod null;
pub mod reconnect;
pub mod runner;
#[cfg(test)]
pub mod scripted;

pub use contract::{Acks, BuildSink, Delivery, Sink, SinkError, PIPELINE_DEPTH};
