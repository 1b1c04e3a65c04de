//! One record of a kafka sink's batch: its topic, key, partition, timestamp, headers and
//! value (the body, or the event in Avro), handed to librdkafka, waiting while its local
//! queue is full; a record larger than `message.max.bytes` is poison ([`Sent::TooLarge`]).

use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::BaseRecord;

use super::{placement, BatchAcks, KafkaSink};
use crate::agent::kafka::format;
use crate::agent::sink::{SinkError, SinkErrorKind};
use sluice_core::Event;

/// Pause while librdkafka's local queue is full.
const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(5);

impl KafkaSink {
    /// Hands one record to librdkafka (waiting while its queue is full).
    pub(super) async fn send(
        &self,
        e: &Event,
        acks: &Arc<BatchAcks>,
        scratch: &mut Vec<u8>,
    ) -> Result<(), Sent> {
        let Some(producer) = self.producer.as_ref() else {
            return Err(Sent::Failed(
                self.error(SinkErrorKind::Connect, "no producer"),
            ));
        };
        let place = placement(&self.cfg, e);
        let value: &[u8] = if self.cfg.use_flume_event_format {
            scratch.clear();
            format::encode_into(scratch, e);
            scratch
        } else {
            &e.body
        };
        if let Some(min) = self.refused.too_large(&place.topic, value.len()) {
            return Err(Sent::TooLarge(format!(
                "a record of {} bytes to topic {:?}: a broker refused one of {min} bytes there as too large (MSG_SIZE_TOO_LARGE: the broker's message.max.bytes or the topic's max.message.bytes)",
                value.len(),
                place.topic
            )));
        }
        let mut record: BaseRecord<'_, str, [u8], Arc<BatchAcks>> =
            BaseRecord::with_opaque_to(&place.topic, acks.clone()).payload(value);
        if let Some(k) = e.headers.get("key") {
            record = record.key(k);
        }
        if let Some(p) = place.partition {
            record = record.partition(p);
        }
        if let Some(t) = place.timestamp_ms {
            record = record.timestamp(t);
        }
        if let Some(h) = self.record_headers(e) {
            record = record.headers(h);
        }
        let deadline = tokio::time::Instant::now() + self.cfg.delivery_timeout;
        loop {
            match producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    if tokio::time::Instant::now() >= deadline || self.stopping() {
                        return Err(Sent::Failed(
                            self.error(SinkErrorKind::Timeout, "librdkafka's queue stayed full"),
                        ));
                    }
                    record = back;
                    tokio::time::sleep(QUEUE_FULL_PAUSE).await;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge), _)) => {
                    return Err(Sent::TooLarge(format!(
                        "a record of {} bytes to topic {:?} is larger than message.max.bytes",
                        value.len(),
                        place.topic
                    )))
                }
                Err((e, _)) => {
                    return Err(Sent::Failed(self.error(
                        SinkErrorKind::Peer,
                        format!("cannot produce to topic {:?}: {e}", place.topic),
                    )))
                }
            }
        }
    }

    /// The record's headers: the event id, then the `kafka.header.*` ones the event has;
    /// `None` when there are none to send.
    fn record_headers(&self, e: &Event) -> Option<OwnedHeaders> {
        let id = e.headers.get(sluice_core::dedup::EVENT_ID_HEADER);
        if self.cfg.kafka_headers.is_empty() && id.is_none() {
            return None;
        }
        let mut h = OwnedHeaders::new();
        // The event id goes along as a record header, so a consumer can drop a record a
        // crash made the sink send again (docs/exactly-once.md).
        if let Some(v) = id {
            h = h.insert(Header {
                key: sluice_core::dedup::EVENT_ID_HEADER,
                value: Some(v.as_bytes()),
            });
        }
        for (flume, kafka) in &self.cfg.kafka_headers {
            if let Some(v) = e.headers.get(flume) {
                h = h.insert(Header {
                    key: kafka,
                    value: Some(v.as_bytes()),
                });
            }
        }
        Some(h)
    }
}

/// Why one record was not handed to librdkafka.
pub(super) enum Sent {
    /// Larger than `message.max.bytes`: the record is poison.
    TooLarge(String),
    /// Anything else fails the batch.
    Failed(SinkError),
}
