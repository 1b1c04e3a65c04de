//! Sinks: `logger`, `null`, `file_roll`, `hdfs`, `http` and `avro`. A sink only delivers a
//! batch it is handed; the [`runner`] takes the batch from the channel and commits the take
//! only after `deliver` returned `Ok` (for `file_roll` and `hdfs`: after the bytes were
//! written, flushed and fsynced; for `avro`: after the downstream answered `OK`).

pub mod avro;
pub mod file_roll;
pub mod hdfs;
pub mod http;
pub mod logger;
pub mod runner;

use std::sync::Arc;

use crate::agent::config::SinkKind;
use crate::agent::metrics::CounterGroup;
use crate::agent::stop::Stop;
use sluice_core::Event;

/// A sink could not deliver a batch; the take is rolled back.
#[derive(Debug, thiserror::Error)]
#[error("sink {sink}: {message}")]
pub struct SinkError {
    /// The sink.
    pub sink: String,
    /// What happened.
    pub message: String,
}

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
        }
    }

    /// Gives the sink its counters and the runner's stop signal (sinks with connections
    /// count them and abandon network waits on stop).
    pub fn attach(&mut self, counters: Arc<CounterGroup>, stop: Stop) {
        if let Sink::Avro(s) = self {
            s.attach(counters, stop);
        }
    }

    /// Readies the sink before a batch is taken (the avro sink connects here). An error
    /// counts as a failed round: nothing is taken.
    pub async fn prepare(&mut self) -> Result<(), SinkError> {
        match self {
            Sink::Avro(s) => s.prepare().await,
            _ => Ok(()),
        }
    }

    /// Delivers a batch. Cancel safety: not cancel safe (a file write may be partial).
    pub async fn deliver(&mut self, events: &[Event]) -> Result<(), SinkError> {
        match self {
            Sink::Logger(s) => {
                s.deliver(events);
                Ok(())
            }
            Sink::Null => Ok(()),
            Sink::FileRoll(s) => s.deliver(events).await,
            Sink::Hdfs(s) => s.deliver(events).await,
            Sink::Http(s) => s.deliver(events).await,
            Sink::Avro(s) => s.deliver(events).await,
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
            _ => {}
        }
    }
}
