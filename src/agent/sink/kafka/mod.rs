//! The `kafka` sink (Flume's `KafkaSink`): each take becomes one batch of records produced
//! through librdkafka. `deliver` hands the batch's records to librdkafka and returns; the
//! batch's acknowledgements still to come are its [`Acks`] (`take_acks`), and the runner
//! produces the next batch meanwhile and commits this take only after the broker acknowledged
//! every one of its records (with `kafka.producer.acks`: the leader for `1`, every in-sync
//! replica for `all`), batches in order. Any failure (a refused record, a delivery timeout, the
//! stop signal) fails the batch, and the runner rolls back its take and those of the batches
//! after it still pending, so they are produced again later: records already acknowledged
//! become duplicates, never losses (at-least-once).
//!
//! Per record there is no allocation of the sink's own: every record of a batch carries the
//! same `Arc<BatchAcks>` as its delivery opaque (see [`acks`]), the topic is borrowed from the
//! configuration unless a header picks it, and librdkafka copies the value out of the event.
//!
//! Per record, as Flume: the topic is `kafka.topic` (with `%{header}` escapes) unless
//! `allowTopicOverride` and the `topicHeader` header say otherwise; the key is the `key`
//! header; the partition is the `partitionIdHeader` header, else `defaultPartitionId`, else
//! librdkafka's partitioner; the timestamp is the `timestampHeader` header, else now; the value
//! is the body, or the whole event in Avro when `useFlumeEventFormat`.
//!
//! A record librdkafka refuses at once as larger than `message.max.bytes` is a poison event
//! ([`super::poison`]): the rest of the batch goes on, and the runner drops or dead-letters it.
//! A broker that refuses a record later as too large (its acknowledgement says
//! `MSG_SIZE_TOO_LARGE`: the broker's or the topic's limit is below the producer's) fails the
//! batch once; the size is remembered per topic ([`refused_sizes`]) and the record is poison
//! when the batch is produced again.
//!
//! librdkafka reconnects by itself, so a broker that went away and came back needs nothing
//! from the sink: the batch that failed meanwhile is retried by the runner.

pub(crate) mod acks;
pub(crate) mod config;
pub(crate) mod placement;
mod record;
pub(crate) mod refused_sizes;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rdkafka::producer::ThreadedProducer;

use acks::wait_acks;
pub(crate) use acks::{BatchAcks, SinkContext};
pub(crate) use config::KafkaSinkConfig;
pub(crate) use placement::placement;
use record::Sent;

use super::{Acks, Poisoned, SinkError, SinkErrorKind};
use crate::agent::failpoint;
use crate::agent::kafka::LogContext;
use crate::agent::metrics::{CounterGroup, SinkCounter};
use crate::agent::stop::Stop;
use sluice_core::Event;

/// Take transactions open at once on a kafka sink (its [`crate::agent::sink::Sink::pipeline_depth`]):
/// the broker's round trip and the producer's batching overlap several batches.
pub(crate) const KAFKA_PIPELINE_DEPTH: usize = 4;

/// How long the batches in flight may still wait for acknowledgements after the stop signal
/// (one grace for all of them, counted from when the first saw the signal).
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(2);

/// One `kafka` sink.
pub(crate) struct KafkaSink {
    name: String,
    cfg: KafkaSinkConfig,
    producer: Option<ThreadedProducer<SinkContext>>,
    counters: Option<Arc<CounterGroup>>,
    stop: Option<Stop>,
    /// Reused for the Avro bytes of `useFlumeEventFormat` (librdkafka copies each value).
    scratch: Vec<u8>,
    /// The acknowledgements of the batch the last `deliver` handed over.
    acks: Option<Arc<BatchAcks>>,
    /// When a batch's wait first saw the stop signal: the grace ends `STOP_GRACE` later.
    stop_seen: Arc<OnceLock<tokio::time::Instant>>,
    /// Records of the last batch refused as too large (poison).
    poisoned: Vec<Poisoned>,
    /// What the brokers refused as too large, per topic.
    refused: refused_sizes::RefusedSizes,
}

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("name", &self.name)
            .field("topic", &self.cfg.topic)
            .finish_non_exhaustive()
    }
}

impl KafkaSink {
    /// A sink whose producer is created on the first [`prepare`](Self::prepare).
    pub(crate) fn new(name: &str, cfg: KafkaSinkConfig) -> Self {
        KafkaSink {
            name: name.to_owned(),
            cfg,
            producer: None,
            counters: None,
            stop: None,
            scratch: Vec::new(),
            acks: None,
            stop_seen: Arc::default(),
            poisoned: Vec::new(),
            refused: refused_sizes::RefusedSizes::default(),
        }
    }

    /// Gives the sink its counters and stop signal.
    pub(crate) fn attach(&mut self, counters: Arc<CounterGroup>, stop: Stop) {
        self.counters = Some(counters);
        self.stop = Some(stop);
        self.stop_seen = Arc::default();
    }

    fn error(&self, kind: SinkErrorKind, message: impl std::fmt::Display) -> SinkError {
        SinkError::new(self.name.clone(), kind, message.to_string())
    }

    fn count(&self, counter: SinkCounter) {
        if let Some(c) = &self.counters {
            c.add(counter, 1);
        }
    }

    /// Creates the producer if there is none (librdkafka connects in the background and
    /// keeps reconnecting by itself).
    pub(crate) async fn prepare(&mut self) -> Result<(), SinkError> {
        if self.producer.is_some() {
            return Ok(());
        }
        let ctx = SinkContext {
            log: LogContext::new("sink", &self.name),
            refused: self.refused.clone(),
        };
        match self.cfg.client.client_config(&[]).create_with_context(ctx) {
            Ok(p) => {
                self.count(SinkCounter::ConnectionCreated);
                self.producer = Some(p);
                Ok(())
            }
            Err(e) => {
                self.count(SinkCounter::ConnectionFailed);
                Err(self.error(
                    SinkErrorKind::Config,
                    format!("cannot create the Kafka producer: {e}"),
                ))
            }
        }
    }

    /// Hands every record of the batch to librdkafka and returns at once; the batch's
    /// [`Acks`] ([`take_acks`](Self::take_acks)) answer `Ok` only after the broker
    /// acknowledged every record (within the delivery timeout, and the stop grace after the
    /// stop signal), so the runner produces the next batch while this one is acknowledged.
    /// An error here (a record refused, the local queue full for too long) fails the batch at
    /// once. Cancel safety: not cancel safe in the sense that records already handed to
    /// librdkafka may still be delivered (a duplicate after the rollback, never a loss).
    pub(crate) async fn deliver(&mut self, events: &[Event]) -> Result<(), SinkError> {
        self.acks = None;
        self.poisoned.clear();
        self.prepare().await?;
        let acks = BatchAcks::new(events.len());
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut sent = Ok(());
        for e in events {
            sent = match self.send(e, &acks, &mut scratch).await {
                Err(Sent::TooLarge(reason)) => {
                    // Never queued: answered here so the batch's count still closes.
                    acks.answer(Ok(()));
                    self.poisoned.push(Poisoned {
                        event: e.clone(),
                        reason,
                    });
                    Ok(())
                }
                Err(Sent::Failed(err)) => Err(err),
                Ok(()) => Ok(()),
            };
            if sent.is_err() {
                break;
            }
        }
        self.scratch = scratch;
        sent?;
        self.acks = Some(acks);
        failpoint::hold(failpoint::KAFKA_SINK_SENT).await;
        Ok(())
    }

    /// The records of the last `deliver` refused as too large.
    pub(crate) fn take_poisoned(&mut self) -> Vec<Poisoned> {
        std::mem::take(&mut self.poisoned)
    }

    /// The acknowledgements of the batch the last successful `deliver` handed over.
    pub(crate) fn take_acks(&mut self) -> Option<Acks> {
        let acks = self.acks.take()?;
        let (name, stop, limit) = (
            self.name.clone(),
            self.stop.clone(),
            self.cfg.delivery_timeout,
        );
        let stop_seen = self.stop_seen.clone();
        Some(Acks(Box::pin(async move {
            wait_acks(&acks, stop, &stop_seen, limit)
                .await
                .map_err(|(kind, why)| SinkError::new(name, kind, why))?;
            failpoint::hold(failpoint::KAFKA_SINK_ACKNOWLEDGED).await;
            Ok(())
        })))
    }

    fn stopping(&self) -> bool {
        self.stop.as_ref().is_some_and(Stop::is_set)
    }

    /// Drops the producer (records still queued are purged; their batches were not
    /// committed, so the channel still holds them).
    pub(crate) fn stop(&mut self) {
        if self.producer.take().is_some() {
            self.count(SinkCounter::ConnectionClosed);
        }
    }
}

impl crate::agent::sink::Sink for KafkaSink {
    fn take_poisoned(&mut self) -> Vec<crate::agent::sink::Poisoned> {
        KafkaSink::take_poisoned(self)
    }

    fn attach(&mut self, counters: Arc<CounterGroup>, stop: Stop) {
        KafkaSink::attach(self, counters, stop);
    }

    fn prepare(&mut self) -> crate::agent::channel::BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(KafkaSink::prepare(self))
    }

    fn deliver(
        &mut self,
        events: Vec<Event>,
    ) -> crate::agent::channel::BoxFuture<'_, Result<crate::agent::sink::Delivery, SinkError>> {
        Box::pin(async move {
            KafkaSink::deliver(self, &events)
                .await
                .map(|()| crate::agent::sink::Delivery::Done)
        })
    }

    fn pipeline_depth(&self) -> usize {
        KAFKA_PIPELINE_DEPTH
    }

    fn take_acks(&mut self) -> Option<Acks> {
        KafkaSink::take_acks(self)
    }

    fn stop(&mut self) -> crate::agent::channel::BoxFuture<'_, ()> {
        KafkaSink::stop(self);
        Box::pin(std::future::ready(()))
    }
}

impl crate::agent::sink::BuildSink for KafkaSinkConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn batch_key(&self) -> &'static str {
        "flumeBatchSize"
    }

    fn build(&self, name: &str) -> Box<dyn crate::agent::sink::Sink> {
        Box::new(KafkaSink::new(name, self.clone()))
    }
}

#[cfg(test)]
mod tests;
