//! The `file_roll` sink: Flume's `RollingFileSink` keys ([`config`]) on the rolling engine's
//! flat local writer ([`crate::agent::sink::rolling::flat`]), which writes events as Flume's
//! serializers do (`TEXT`, `HEADER_AND_TEXT`, `AVRO_EVENT`) to files named like Flume's path
//! managers (`DEFAULT`: `<prefix><start millis>-<n>[.ext]`; `ROLLTIME`: `<prefix><open
//! time>-<n>[.ext]`) under `sink.directory`, a new file every `sink.rollInterval`. With
//! `sink.fsyncPerBatch` (the default; Flume never syncs) a take commits only after a write and
//! an fsync that cover its batch, one trip shared by the batches staged meanwhile; a failed
//! write or fsync cuts the file back and abandons it; on a file channel each take commits the
//! sink's cursor (file and length) and the output is cut back to it at start, so no batch is
//! written twice. With a Java `sink.serializer` the bytes of a file (its header, each batch,
//! its footer) are the serializer's, handed to the writer through the engine's serializer seam
//! as hdfs's and s3's are (`crate::agent::java::serializer::starter`), under the same rules. While its directory
//! cannot be created or a file opened or written, `OutputDownMillis` grows and `/health` names
//! the sink and `sink.directory`.
//!
//! This module is only the keys and the runner's [`Sink`].

pub(crate) mod config;

use std::sync::Arc;

use super::rolling::flat::FlatWriter;
use super::{Acks, BuildSink, Delivery, Sink, SinkError};
use crate::agent::future::BoxFuture;
use crate::agent::metrics::CounterGroup;
use crate::agent::stop::Stop;
pub(crate) use config::FileRollConfig;
use sluice_core::Event;

/// The file_roll sink: the engine's flat writer.
#[derive(Debug)]
pub(crate) struct FileRollSink(FlatWriter);

impl FileRollSink {
    /// A sink that opens its first file on its first batch.
    pub(crate) fn new(name: &str, cfg: &FileRollConfig) -> Self {
        let java = cfg
            .java_serializer
            .as_ref()
            .map(|spec| crate::agent::java::serializer::starter(name, spec));
        FileRollSink(FlatWriter::new(name, cfg.flat(), java))
    }
}

impl Sink for FileRollSink {
    /// Shows whether the output can be written (`OutputDownMillis`, `/health`).
    fn attach(&mut self, counters: Arc<CounterGroup>, _stop: Stop) {
        let output = self.0.output();
        counters.set_gauges(Box::new(move || output.gauges()));
    }

    fn deliver(&mut self, events: Vec<Event>) -> BoxFuture<'_, Result<Delivery, SinkError>> {
        // Read now, not when the future first runs: whether the acknowledgements handed out
        // before this batch had all resolved when the runner asked for it.
        let settled = self.0.acks_settled();
        Box::pin(async move {
            self.0
                .deliver_after(&events, settled)
                .await
                .map(|()| Delivery::Done)
        })
    }

    fn tick(&mut self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(self.0.tick())
    }

    fn take_acks(&mut self) -> Option<Acks> {
        self.0.take_acks()
    }

    fn pipeline_depth(&self) -> usize {
        self.0.pipeline_depth()
    }

    fn cursor(&mut self) -> Option<Vec<u8>> {
        self.0.cursor()
    }

    fn baseline(&mut self) -> BoxFuture<'_, Result<Option<Vec<u8>>, SinkError>> {
        Box::pin(self.0.baseline())
    }

    fn restore(&mut self, cursor: Vec<u8>) -> BoxFuture<'_, Result<bool, SinkError>> {
        Box::pin(self.0.restore(cursor))
    }

    fn stop(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(self.0.close())
    }
}

impl BuildSink for FileRollConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn batch_key(&self) -> &'static str {
        "sink.batchSize"
    }

    fn build(&self, name: &str) -> Box<dyn Sink> {
        Box::new(FileRollSink::new(name, self))
    }
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "the tests read the sink's files on the real disk"
)]
mod tests;
