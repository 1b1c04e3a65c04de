//! The `kafka` sink (Flume's `KafkaSink`): each take becomes one batch of records produced
//! through librdkafka, and `deliver` returns `Ok` only after the broker acknowledged every
//! record of the batch (with `kafka.producer.acks`: the leader for `1`, every in-sync replica
//! for `all`). Any failure (a refused record, a delivery timeout, the stop signal) fails the
//! batch and the runner rolls the take back, so the whole batch is produced again later:
//! records already acknowledged become duplicates, never losses (at-least-once).
//!
//! Per record, as Flume: the topic is `kafka.topic` (with `%{header}` escapes) unless
//! `allowTopicOverride` and the `topicHeader` header say otherwise; the key is the `key`
//! header; the partition is the `partitionIdHeader` header, else `defaultPartitionId`, else
//! librdkafka's partitioner; the timestamp is the `timestampHeader` header, else now; the value
//! is the body, or the whole event in Avro when `useFlumeEventFormat`.
//!
//! librdkafka reconnects by itself, so a broker that went away and came back needs nothing
//! from the sink: the batch that failed meanwhile is retried by the runner.

pub mod config;

use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

pub use config::KafkaSinkConfig;

use super::SinkError;
use crate::agent::kafka::{format, LogContext};
use crate::agent::metrics::CounterGroup;
use crate::agent::stop::Stop;
use sluice_core::Event;

/// How long a batch in flight may still wait for acknowledgements after the stop signal.
pub const STOP_GRACE: Duration = Duration::from_secs(2);
/// Pause while librdkafka's local queue is full.
const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(5);

/// One `kafka` sink.
pub struct KafkaSink {
    name: String,
    cfg: KafkaSinkConfig,
    producer: Option<FutureProducer<LogContext>>,
    counters: Option<Arc<CounterGroup>>,
    stop: Option<Stop>,
}

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("name", &self.name)
            .field("topic", &self.cfg.topic)
            .finish_non_exhaustive()
    }
}

/// Where and how one event goes.
#[derive(Debug, PartialEq, Eq)]
pub struct Placement {
    /// The topic.
    pub topic: String,
    /// The partition, if fixed.
    pub partition: Option<i32>,
    /// The record timestamp in ms, if given.
    pub timestamp_ms: Option<i64>,
}

impl KafkaSink {
    /// A sink whose producer is created on the first [`prepare`](Self::prepare).
    pub fn new(name: &str, cfg: KafkaSinkConfig) -> Self {
        KafkaSink {
            name: name.to_owned(),
            cfg,
            producer: None,
            counters: None,
            stop: None,
        }
    }

    /// Gives the sink its counters and stop signal.
    pub fn attach(&mut self, counters: Arc<CounterGroup>, stop: Stop) {
        self.counters = Some(counters);
        self.stop = Some(stop);
    }

    fn error(&self, message: impl std::fmt::Display) -> SinkError {
        SinkError {
            sink: self.name.clone(),
            message: message.to_string(),
        }
    }

    fn count(&self, name: &str) {
        if let Some(c) = &self.counters {
            c.add(name, 1);
        }
    }

    /// Creates the producer if there is none (librdkafka connects in the background and
    /// keeps reconnecting by itself).
    pub async fn prepare(&mut self) -> Result<(), SinkError> {
        if self.producer.is_some() {
            return Ok(());
        }
        let ctx = LogContext::new("sink", &self.name);
        match self.cfg.client.client_config(&[]).create_with_context(ctx) {
            Ok(p) => {
                self.count("ConnectionCreatedCount");
                self.producer = Some(p);
                Ok(())
            }
            Err(e) => {
                self.count("ConnectionFailedCount");
                Err(self.error(format!("cannot create the Kafka producer: {e}")))
            }
        }
    }

    /// Produces the batch and waits until every record is acknowledged. Cancel safety: not
    /// cancel safe in the sense that records already handed to librdkafka may still be
    /// delivered (a duplicate after the rollback, never a loss).
    pub async fn deliver(&mut self, events: &[Event]) -> Result<(), SinkError> {
        self.prepare().await?;
        let mut pending = Vec::with_capacity(events.len());
        for e in events {
            pending.push(self.send(e).await?);
        }
        self.wait_all(pending).await
    }

    /// Hands one record to librdkafka (waiting while its queue is full).
    async fn send(&self, e: &Event) -> Result<DeliveryFuture, SinkError> {
        let Some(producer) = self.producer.as_ref() else {
            return Err(self.error("no producer"));
        };
        let place = placement(&self.cfg, e);
        let encoded;
        let value: &[u8] = if self.cfg.use_flume_event_format {
            encoded = format::encode(e);
            &encoded
        } else {
            &e.body
        };
        let mut record: FutureRecord<'_, str, [u8]> = FutureRecord::to(&place.topic).payload(value);
        if let Some(k) = e.headers.get("key") {
            record = record.key(k.as_str());
        }
        if let Some(p) = place.partition {
            record = record.partition(p);
        }
        if let Some(t) = place.timestamp_ms {
            record = record.timestamp(t);
        }
        if !self.cfg.kafka_headers.is_empty() {
            let mut h = OwnedHeaders::new();
            for (flume, kafka) in &self.cfg.kafka_headers {
                if let Some(v) = e.headers.get(flume) {
                    h = h.insert(Header {
                        key: kafka,
                        value: Some(v.as_bytes()),
                    });
                }
            }
            record = record.headers(h);
        }
        let deadline = tokio::time::Instant::now() + self.cfg.delivery_timeout;
        loop {
            match producer.send_result(record) {
                Ok(f) => return Ok(f),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    if tokio::time::Instant::now() >= deadline || self.stopping() {
                        return Err(self.error("librdkafka's queue stayed full"));
                    }
                    record = back;
                    tokio::time::sleep(QUEUE_FULL_PAUSE).await;
                }
                Err((e, _)) => {
                    return Err(
                        self.error(format!("cannot produce to topic {:?}: {e}", place.topic))
                    )
                }
            }
        }
    }

    fn stopping(&self) -> bool {
        self.stop.as_ref().is_some_and(Stop::is_set)
    }

    /// Waits for every acknowledgement, within the delivery timeout and the stop grace.
    async fn wait_all(&mut self, pending: Vec<DeliveryFuture>) -> Result<(), SinkError> {
        let all = async {
            let mut failed = 0usize;
            let mut first: Option<String> = None;
            for f in pending {
                let outcome = match f.await {
                    Ok(Ok(_)) => continue,
                    Ok(Err((e, m))) => {
                        use rdkafka::Message;
                        format!("record to topic {:?} not acknowledged: {e}", m.topic())
                    }
                    Err(_) => "the producer was closed before it answered".to_owned(),
                };
                failed += 1;
                first.get_or_insert(outcome);
            }
            match first {
                None => Ok(()),
                Some(f) => Err(format!(
                    "{failed} record(s) of the batch failed; first: {f}"
                )),
            }
        };
        let mut stop = self.stop.clone();
        let limit = self.cfg.delivery_timeout;
        let outcome = tokio::select! {
            r = tokio::time::timeout(limit, all) => r.unwrap_or_else(|_| Err(format!(
                "no acknowledgement within {} ms", limit.as_millis()))),
            _ = async {
                match stop.as_mut() {
                    Some(s) => { s.wait().await; tokio::time::sleep(STOP_GRACE).await }
                    None => std::future::pending().await,
                }
            } => Err("stopping: the batch was not acknowledged within the stop grace".into()),
        };
        outcome.map_err(|m| self.error(m))
    }

    /// Drops the producer (records still queued are abandoned; their batch was not
    /// committed, so the channel still holds it).
    pub fn stop(&mut self) {
        if self.producer.take().is_some() {
            self.count("ConnectionClosedCount");
        }
    }
}

/// The topic, partition and timestamp of one event, as Flume's `KafkaSink` picks them. A
/// partition or timestamp header that is not a number is ignored with a warning (Flume
/// would fail the batch forever).
pub fn placement(cfg: &KafkaSinkConfig, e: &Event) -> Placement {
    let topic = match e.headers.get(&cfg.topic_header) {
        Some(t) if cfg.allow_topic_override && !t.is_empty() => t.clone(),
        _ => substitute(&cfg.topic, e),
    };
    let partition = cfg
        .partition_id_header
        .as_ref()
        .and_then(|h| e.headers.get(h))
        .and_then(|v| match v.trim().parse::<i32>() {
            Ok(p) if p >= 0 => Some(p),
            _ => {
                tracing::warn!(value = %v, "partition header is not a partition number; ignored");
                None
            }
        })
        .or(cfg.default_partition_id);
    let timestamp_ms = cfg
        .timestamp_header
        .as_ref()
        .and_then(|h| e.headers.get(h))
        .and_then(|v| v.trim().parse::<i64>().ok());
    Placement {
        topic,
        partition,
        timestamp_ms,
    }
}

/// `%{name}` replaced by header `name` (empty when absent), as Flume's topic escapes.
pub fn substitute(template: &str, e: &Event) -> String {
    if !template.contains("%{") {
        return template.to_owned();
    }
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find("%{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(j) => {
                if let Some(v) = e.headers.get(&after[..j]) {
                    out.push_str(v);
                }
                rest = &after[j + 1..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
