//! The file_roll sink as the runner sees it ([`crate::agent::sink::Sink`]): delivery, ticks,
//! the group-sync acknowledgements, the resume cursor, and its builder.

use super::{FileRollConfig, FileRollSink};
use crate::agent::sink::rolling::GROUP_SYNC_DEPTH;
use crate::agent::sink::{Acks, SinkError};
use sluice_core::Event;

impl crate::agent::sink::Sink for FileRollSink {
    fn deliver(
        &mut self,
        events: Vec<Event>,
    ) -> crate::agent::channel::BoxFuture<'_, Result<crate::agent::sink::Delivery, SinkError>> {
        Box::pin(async move {
            FileRollSink::deliver(self, &events)
                .await
                .map(|()| crate::agent::sink::Delivery::Done)
        })
    }

    fn tick(&mut self) -> crate::agent::channel::BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(FileRollSink::tick(self))
    }

    fn take_acks(&mut self) -> Option<Acks> {
        self.acks.take()
    }

    fn pipeline_depth(&self) -> usize {
        if self.cfg.fsync_per_batch {
            GROUP_SYNC_DEPTH
        } else {
            crate::agent::sink::PIPELINE_DEPTH
        }
    }

    fn cursor(&mut self) -> Option<Vec<u8>> {
        let (path, len) = self.path.as_ref()?;
        crate::agent::sink::rolling::resume::flat::encode(path, *len)
    }

    fn restore(
        &mut self,
        cursor: Vec<u8>,
    ) -> crate::agent::channel::BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(self.restore_to(cursor))
    }

    fn stop(&mut self) -> crate::agent::channel::BoxFuture<'_, ()> {
        Box::pin(self.close())
    }
}

impl crate::agent::sink::BuildSink for FileRollConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn batch_key(&self) -> &'static str {
        "sink.batchSize"
    }

    fn build(&self, name: &str) -> Box<dyn crate::agent::sink::Sink> {
        Box::new(FileRollSink::new(name, self.clone()))
    }
}
