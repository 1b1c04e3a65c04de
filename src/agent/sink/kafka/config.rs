//! The `kafka` sink's settings: Flume's `KafkaSink` keys and defaults (`kafka.bootstrap.servers`,
//! `kafka.topic` default-flume-topic, `flumeBatchSize` 100, `kafka.producer.acks` 1,
//! `useFlumeEventFormat` false, `defaultPartitionId`, `partitionIdHeader`,
//! `allowTopicOverride` true, `topicHeader` topic, `timestampHeader`, `header.NAME`,
//! `kafka.producer.*`), and the deprecated Flume 1.6 names (`brokerList`, `topic`,
//! `batchSize`, `requiredAcks`) with a warning.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::agent::config::ctx::Ctx;
use crate::agent::config::limits::BATCH_SIZE_MAX;
use crate::agent::kafka::keys::{partition, MESSAGE_TIMEOUT_MS_DEFAULT};
use crate::agent::kafka::ClientProps;

/// Flume's `kafka.topic` default.
pub(crate) const TOPIC_DEFAULT: &str = "default-flume-topic";
/// Flume's `flumeBatchSize` default.
pub(crate) const BATCH_SIZE_DEFAULT: u64 = 100;
/// Flume's `kafka.producer.acks` default (the leader only; `all` is the lossless choice).
pub(crate) const ACKS_DEFAULT: &str = "1";

/// `kafka` sink settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaSinkConfig {
    /// The producer's librdkafka properties (`bootstrap.servers`, `acks`, ...).
    pub client: ClientProps,
    /// `kafka.topic`, possibly with `%{header}` escapes.
    pub topic: String,
    /// `flumeBatchSize`: events per take transaction.
    pub batch_size: usize,
    /// `useFlumeEventFormat`: the record value is an Avro `AvroFlumeEvent` with the headers.
    pub use_flume_event_format: bool,
    /// `defaultPartitionId`: every record to this partition unless the header says otherwise.
    pub default_partition_id: Option<i32>,
    /// `partitionIdHeader`: the header naming a record's partition.
    pub partition_id_header: Option<String>,
    /// `allowTopicOverride`: the `topicHeader` header picks the topic (default true).
    pub allow_topic_override: bool,
    /// `topicHeader` (default `topic`).
    pub topic_header: String,
    /// `timestampHeader`: the header holding the record timestamp in ms (default: now).
    pub timestamp_header: Option<String>,
    /// `header.NAME = kafkaName`: Flume header NAME is sent as Kafka record header kafkaName.
    pub kafka_headers: BTreeMap<String, String>,
    /// How long one batch may wait for its acknowledgements: `message.timeout.ms` plus a
    /// margin (librdkafka fails each record by then itself).
    pub delivery_timeout: Duration,
}

/// Reads a `kafka` sink's keys; `None` after an error (reported through `cx`).
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<KafkaSinkConfig> {
    deprecated(cx, "brokerList", "kafka.bootstrap.servers");
    deprecated(cx, "topic", "kafka.topic");
    deprecated(cx, "batchSize", "flumeBatchSize");
    deprecated(cx, "requiredAcks", "kafka.producer.acks");
    let mut client = ClientProps::read(cx, "kafka.producer.");
    if let Some(c) = client.as_mut() {
        c.props
            .entry("acks".into())
            .or_insert_with(|| ACKS_DEFAULT.to_owned());
    }
    let topic = cx
        .get("kafka.topic")
        .map(|t| t.trim().to_owned())
        .unwrap_or_else(|| TOPIC_DEFAULT.to_owned());
    if topic.is_empty() {
        cx.error("kafka.topic", "the topic must not be empty");
    }
    let batch_size = cx.u64("flumeBatchSize", BATCH_SIZE_DEFAULT, 1, BATCH_SIZE_MAX) as usize;
    let use_flume_event_format = cx.bool("useFlumeEventFormat", false);
    let default_partition_id = partition(cx, "defaultPartitionId");
    let partition_id_header = cx.get("partitionIdHeader").map(|s| s.trim().to_owned());
    let allow_topic_override = cx.bool("allowTopicOverride", true);
    let topic_header = cx
        .get("topicHeader")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "topic".to_owned());
    let timestamp_header = cx.get("timestampHeader").map(|s| s.trim().to_owned());
    let mut kafka_headers = BTreeMap::new();
    let keys: Vec<String> = cx
        .comp()
        .props
        .keys()
        .filter(|k| k.starts_with("header."))
        .cloned()
        .collect();
    for k in keys {
        if let Some(v) = cx.get(&k) {
            kafka_headers.insert(k["header.".len()..].to_owned(), v.trim().to_owned());
        }
    }
    let client = client?;
    let timeout_ms = client
        .get("message.timeout.ms")
        .or_else(|| client.get("delivery.timeout.ms"))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(MESSAGE_TIMEOUT_MS_DEFAULT);
    Some(KafkaSinkConfig {
        client,
        topic,
        batch_size,
        use_flume_event_format,
        default_partition_id,
        partition_id_header,
        allow_topic_override,
        topic_header,
        timestamp_header,
        kafka_headers,
        delivery_timeout: Duration::from_millis(timeout_ms) + Duration::from_secs(10),
    })
}

/// Flume 1.6's names: refused with the new name, as Flume 1.7+ only warns but a silently
/// different topic or broker list is worse than a clear error.
fn deprecated(cx: &mut Ctx<'_>, old: &str, new: &str) {
    if cx.get(old).is_some() {
        cx.error(old, format!("Flume 1.6's name; use `{new}`"));
    }
}
