//! The `kafka` channel (Flume's `KafkaChannel`): the topic is the queue.
//!
//! - A put transaction keeps its events in memory; `commit` produces them all and returns
//!   only after the broker acknowledged every record (`acks = all` by default). A failure
//!   fails the commit: the source still holds its batch and retries (records acknowledged
//!   meanwhile become duplicates, never losses). `rollback` drops the events.
//! - A take transaction polls records from the consumer (in consumer group
//!   `kafka.consumer.group.id`); `commit` commits the offsets after the last record taken,
//!   synchronously; `rollback` (or dropping the transaction) seeks every partition it read
//!   back to its first record taken, so the records are taken again.
//!
//! One consumer per channel, created on the first take (a channel without a sink never joins
//! the group), serves one take transaction at a time. The producer is created on the first
//! put commit. A record that is not a Flume event while `parseAsFlumeEvent = true` is skipped
//! with an error naming topic, partition and offset, counted as `EventReadFail`; its offset is
//! committed with the transaction.

pub(crate) mod config;
pub(crate) mod counter;
mod tx;

use std::collections::BTreeMap;
use std::sync::Arc;

use rdkafka::producer::FutureProducer;
use tokio::sync::Mutex;

pub(crate) use config::KafkaChannelConfig;

use super::{AgentChannel, AgentChannelError, BoxFuture, ChannelTx};
use crate::agent::kafka::LogContext;
use crate::agent::metrics::CounterGroup;
pub(crate) use counter::KAFKA_CHANNEL_COUNTERS;
use tx::{KafkaTx, Taker};

/// The kafka channel.
pub(crate) struct KafkaChannel {
    name: String,
    cfg: Arc<KafkaChannelConfig>,
    producer: parking_lot::Mutex<Option<FutureProducer<LogContext>>>,
    taker: Arc<Mutex<Taker>>,
    counters: Arc<CounterGroup>,
}

impl std::fmt::Debug for KafkaChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaChannel")
            .field("name", &self.name)
            .field("topic", &self.cfg.topic)
            .finish_non_exhaustive()
    }
}

impl KafkaChannel {
    /// A channel on `cfg.topic`; clients are created when first needed.
    pub(crate) fn new(name: &str, cfg: KafkaChannelConfig) -> Self {
        KafkaChannel {
            name: name.to_owned(),
            cfg: Arc::new(cfg),
            producer: parking_lot::Mutex::new(None),
            taker: Arc::new(Mutex::new(None)),
            counters: CounterGroup::new("CHANNEL", KAFKA_CHANNEL_COUNTERS),
        }
    }

    fn error(&self, message: impl std::fmt::Display) -> AgentChannelError {
        AgentChannelError::Kafka {
            channel: self.name.clone(),
            message: message.to_string(),
        }
    }

    fn producer(&self) -> Result<FutureProducer<LogContext>, AgentChannelError> {
        let mut p = self.producer.lock();
        if let Some(p) = p.as_ref() {
            return Ok(p.clone());
        }
        let made: FutureProducer<LogContext> = self
            .cfg
            .producer
            .client_config(&[])
            .create_with_context(LogContext::new("channel", &self.name))
            .map_err(|e| self.error(format!("cannot create the Kafka producer: {e}")))?;
        *p = Some(made.clone());
        Ok(made)
    }
}

impl AgentChannel for KafkaChannel {
    /// One consumer: a take transaction holds it until it ends.
    fn concurrent_takes(&self) -> bool {
        false
    }

    fn begin(&self) -> Box<dyn ChannelTx> {
        Box::new(KafkaTx {
            name: self.name.clone(),
            cfg: Arc::clone(&self.cfg),
            producer: self.producer(),
            taker: Arc::clone(&self.taker),
            guard: None,
            puts: Vec::new(),
            first: BTreeMap::new(),
            next: BTreeMap::new(),
            taken: 0,
            counters: Arc::clone(&self.counters),
        })
    }

    fn close(&self) -> BoxFuture<'_, Result<(), AgentChannelError>> {
        Box::pin(async move {
            self.producer.lock().take();
            self.taker.lock().await.take();
            Ok(())
        })
    }

    fn counters(&self) -> Arc<CounterGroup> {
        Arc::clone(&self.counters)
    }
}

impl super::BuildChannel for KafkaChannelConfig {
    /// No capacity: a take or put of any allowed batch size fits.
    fn transaction_capacity(&self) -> u64 {
        crate::agent::config::limits::BATCH_SIZE_MAX
    }

    fn open(
        &self,
        name: &str,
    ) -> BoxFuture<'static, Result<Arc<dyn AgentChannel>, AgentChannelError>> {
        let ch: Arc<dyn AgentChannel> = Arc::new(KafkaChannel::new(name, self.clone()));
        Box::pin(std::future::ready(Ok(ch)))
    }
}
