//! The `null` sink (Flume's `NullSink`): takes `batchSize` events (100) per transaction and
//! drops them. Its delivery costs nothing, so what it costs is its take commits: with
//! [`NULL_PIPELINE_DEPTH`] open, the runner commits fifteen at a time as one group (one
//! fdatasync on a file channel for 1,500 events at the default `batchSize`), as it does for
//! the file_roll and avro sinks. With four (three to a group) the null sink drained W1's
//! channel slower than a syslog connection filled it once that parsed beside its commits.

use crate::agent::channel::BoxFuture;
use crate::agent::config::Ctx;
use crate::agent::sink::{BuildSink, Delivery, Sink, SinkError};
use sluice_core::Event;

/// `null` sink settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NullConfig {
    /// `batchSize` (default 100): events per take transaction.
    pub batch_size: usize,
}

/// Reads a `null` sink's keys.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<NullConfig> {
    Some(NullConfig {
        batch_size: cx.batch_size("batchSize", 100),
    })
}

/// The running `null` sink.
#[derive(Debug, Default)]
pub(crate) struct NullSink;

/// Take transactions the null sink's runner keeps open ([`Sink::pipeline_depth`]).
pub(crate) const NULL_PIPELINE_DEPTH: usize = 16;

impl Sink for NullSink {
    fn pipeline_depth(&self) -> usize {
        NULL_PIPELINE_DEPTH
    }

    fn deliver(&mut self, _events: Vec<Event>) -> BoxFuture<'_, Result<Delivery, SinkError>> {
        Box::pin(std::future::ready(Ok(Delivery::Done)))
    }
}

impl BuildSink for NullConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn build(&self, _name: &str) -> Box<dyn Sink> {
        Box::new(NullSink)
    }
}
