//! Sinks: `logger`, `null`, `file_roll`, `hdfs`, `http`, `avro` and `kafka`. A sink only delivers a
//! batch it is handed; the [`runner`] takes the batch from the channel and commits the take
//! only after `deliver` returned `Ok` (for `file_roll` and `hdfs`: after the bytes were
//! written, flushed and fsynced; for `avro`: after the downstream answered `OK`; for `kafka`:
//! after the broker acknowledged every record).
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
//! record), `http` (status 400 or 413 when no `rollback.CODE` rule names it) and `kafka` (a
//! record librdkafka refuses as larger than `message.max.bytes` when it is produced).

pub mod avro;
pub mod file_roll;
pub mod hdfs;
pub mod http;
pub mod kafka;
pub mod logger;
pub mod poison;
pub mod runner;
#[cfg(test)]
pub mod scripted;

use std::sync::Arc;

use crate::agent::channel::BoxFuture;
use crate::agent::config::SinkKind;
use crate::agent::metrics::CounterGroup;
use crate::agent::stop::Stop;
use sluice_core::Event;

pub use poison::Poisoned;

/// A sink could not deliver a batch; the take is rolled back.
#[derive(Debug, thiserror::Error)]
#[error("sink {sink}: {message}")]
pub struct SinkError {
    /// The sink.
    pub sink: String,
    /// What happened.
    pub message: String,
}

/// How a delivered batch's take ends (the error case of `deliver` rolls it back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Commit the take; the runner goes on at once.
    Done,
    /// Commit the take, then back off as after a failure (Flume's HttpSink answering
    /// `BACKOFF` for a status whose `rollback` is false and `backoff` true).
    CommitAndBackOff,
}

/// The acknowledgements still to come for a batch a sink handed over (the kafka sink: its
/// records are queued in librdkafka), from [`Sink::take_acks`]: a future that owns everything
/// it waits on, answers within its own time limit and watches the stop signal. The runner
/// commits the take only after it answered `Ok`; an error rolls back that batch and every
/// later one. Dropping it abandons the wait (the batch is then rolled back).
pub struct Acks(pub BoxFuture<'static, Result<(), SinkError>>);

impl std::fmt::Debug for Acks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Acks(..)")
    }
}

/// Take transactions open at once on a kafka sink (see [`Sink::pipeline_depth`]).
pub const KAFKA_PIPELINE_DEPTH: usize = 4;

/// A running sink.
#[derive(Debug)]
pub enum Sink {
    /// `logger`
    Logger(logger::LoggerSink),
    /// `null`: drops every event.
    Null,
    /// `file_roll`
    FileRoll(Box<file_roll::FileRollSink>),
    /// `hdfs`
    Hdfs(Box<hdfs::HdfsSink>),
    /// `http`
    Http(Box<http::HttpSink>),
    /// `avro`
    Avro(Box<avro::AvroSink>),
    /// Test only: a sink that follows a script (fails or backs off on chosen batches).
    #[cfg(test)]
    Scripted(scripted::ScriptedSink),
    /// `kafka`
    Kafka(Box<kafka::KafkaSink>),
}

impl Sink {
    /// Builds the sink named `name`.
    pub fn new(name: &str, kind: &SinkKind) -> Sink {
        match kind {
            SinkKind::Logger { max_bytes_to_log } => {
                Sink::Logger(logger::LoggerSink::new(name, *max_bytes_to_log))
            }
            SinkKind::Null { .. } => Sink::Null,
            SinkKind::FileRoll(c) => {
                Sink::FileRoll(Box::new(file_roll::FileRollSink::new(name, c.clone())))
            }
            SinkKind::Hdfs(c) => Sink::Hdfs(Box::new(hdfs::HdfsSink::new(name, (**c).clone()))),
            SinkKind::Http(c) => Sink::Http(Box::new(http::HttpSink::new(name, (**c).clone()))),
            SinkKind::Avro(c) => Sink::Avro(Box::new(avro::AvroSink::new(name, c.clone()))),
            SinkKind::Kafka(c) => Sink::Kafka(Box::new(kafka::KafkaSink::new(name, (**c).clone()))),
            // Never run by a runner: the runtime runs a Java sink's own loop (agent::java::sink).
            SinkKind::Java(_) => Sink::Null,
        }
    }

    /// Gives the sink its counters and the runner's stop signal (sinks with connections
    /// count them and abandon network waits on stop).
    pub fn attach(&mut self, counters: Arc<CounterGroup>, stop: Stop) {
        match self {
            Sink::Avro(s) => s.attach(counters, stop),
            Sink::Kafka(s) => s.attach(counters, stop),
            _ => {}
        }
    }

    /// Readies the sink before a batch is taken (the avro sink connects here). An error
    /// counts as a failed round: nothing is taken.
    pub async fn prepare(&mut self) -> Result<(), SinkError> {
        match self {
            Sink::Avro(s) => s.prepare().await,
            Sink::Kafka(s) => s.prepare().await,
            _ => Ok(()),
        }
    }

    /// Delivers a batch; `Ok` lets the runner commit the take. Cancel safety: not cancel
    /// safe (a file write may be partial).
    pub async fn deliver(&mut self, events: Vec<Event>) -> Result<Delivery, SinkError> {
        match self {
            Sink::Logger(s) => {
                s.deliver(&events);
                Ok(Delivery::Done)
            }
            Sink::Null => Ok(Delivery::Done),
            Sink::FileRoll(s) => s.deliver(&events).await.map(|()| Delivery::Done),
            Sink::Hdfs(s) => s.deliver(events).await.map(|()| Delivery::Done),
            Sink::Http(s) => s.deliver(&events).await,
            Sink::Avro(s) => s.deliver(&events).await.map(|()| Delivery::Done),
            Sink::Kafka(s) => s.deliver(&events).await.map(|()| Delivery::Done),
            #[cfg(test)]
            Sink::Scripted(s) => s.deliver(events).await,
        }
    }

    /// Most take transactions a runner keeps open on this sink at once: the runner's
    /// [`runner::PIPELINE_DEPTH`], or more for a sink whose batches wait on acknowledgements
    /// (kafka: the broker's round trip and the producer's batching overlap several batches).
    pub fn pipeline_depth(&self) -> usize {
        match self {
            Sink::Kafka(_) => KAFKA_PIPELINE_DEPTH,
            _ => runner::PIPELINE_DEPTH,
        }
    }

    /// The acknowledgements of the batch the last `deliver` answered `Ok` for, if they are
    /// still to come (the kafka sink); `None` for sinks that deliver fully within `deliver`.
    /// The runner asks right after each successful `deliver`.
    pub fn take_acks(&mut self) -> Option<Acks> {
        match self {
            Sink::Kafka(s) => s.take_acks(),
            #[cfg(test)]
            Sink::Scripted(s) => s.take_acks(),
            _ => None,
        }
    }

    /// The poison events of the last `deliver` (events it can never deliver; the rest of
    /// the batch was delivered). The runner asks right after each `deliver`, and drops them
    /// when `deliver` failed (the batch comes again whole).
    pub fn take_poisoned(&mut self) -> Vec<Poisoned> {
        match self {
            Sink::Hdfs(s) => s.take_poisoned(),
            Sink::Http(s) => s.take_poisoned(),
            Sink::Kafka(s) => s.take_poisoned(),
            #[cfg(test)]
            Sink::Scripted(s) => s.take_poisoned(),
            _ => Vec::new(),
        }
    }

    /// Periodic work while idle (rolling files).
    pub async fn tick(&mut self) -> Result<(), SinkError> {
        match self {
            Sink::FileRoll(s) => s.tick().await,
            Sink::Hdfs(s) => s.tick().await,
            _ => Ok(()),
        }
    }

    /// Flushes and closes what the sink holds open.
    pub async fn stop(&mut self) {
        match self {
            Sink::FileRoll(s) => s.close().await,
            Sink::Hdfs(s) => s.close().await,
            Sink::Avro(s) => s.stop(),
            Sink::Kafka(s) => s.stop(),
            _ => {}
        }
    }
}
