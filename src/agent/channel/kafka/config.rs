//! The `kafka` channel's settings: Flume's `KafkaChannel` keys and defaults
//! (`kafka.bootstrap.servers`, `kafka.topic` flume-channel, `kafka.consumer.group.id` flume,
//! `parseAsFlumeEvent` true, `pollTimeout` 500 ms, `defaultPartitionId`, `partitionIdHeader`,
//! `kafka.producer.*`, `kafka.consumer.*` with `auto.offset.reset` latest).

use std::time::Duration;

use crate::agent::config::ctx::Ctx;
use crate::agent::config::limits::BATCH_SIZE_MAX;
use crate::agent::config::limits::DURATION_MS_MAX;
use crate::agent::kafka::keys::{partition, MESSAGE_TIMEOUT_MS_DEFAULT};
use crate::agent::kafka::ClientProps;

/// Flume's `kafka.topic` default for the channel.
pub(crate) const TOPIC_DEFAULT: &str = "flume-channel";
/// Flume's `pollTimeout` default, in ms.
pub(crate) const POLL_TIMEOUT_MS_DEFAULT: u64 = 500;

/// `kafka` channel settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaChannelConfig {
    /// Producer properties (`bootstrap.servers`, `kafka.producer.*`; `acks` all by default).
    pub producer: ClientProps,
    /// Consumer properties (`bootstrap.servers`, `group.id`, `kafka.consumer.*`).
    pub consumer: ClientProps,
    /// `kafka.topic`.
    pub topic: String,
    /// `parseAsFlumeEvent`: records are Avro `AvroFlumeEvent`s (headers kept).
    pub parse_as_flume_event: bool,
    /// `pollTimeout`: longest wait of one take for records.
    pub poll_timeout: Duration,
    /// `defaultPartitionId`.
    pub default_partition_id: Option<i32>,
    /// `partitionIdHeader`.
    pub partition_id_header: Option<String>,
    /// Longest wait for a put commit's acknowledgements.
    pub delivery_timeout: Duration,
}

/// Reads a `kafka` channel's keys; `None` after an error (reported through `cx`).
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<KafkaChannelConfig> {
    let servers = cx.required("kafka.bootstrap.servers");
    let mut producer = ClientProps::default();
    producer.read_prefix(cx, "kafka.producer.");
    let mut consumer = ClientProps::default();
    consumer.read_prefix(cx, "kafka.consumer.");
    let servers = servers?.trim().to_owned();
    producer
        .props
        .insert("bootstrap.servers".into(), servers.clone());
    // A channel's commit is the durability point of the put: `all`, as Flume's KafkaChannel.
    producer
        .props
        .entry("acks".into())
        .or_insert_with(|| "all".into());
    consumer.props.insert("bootstrap.servers".into(), servers);
    consumer
        .props
        .entry("group.id".into())
        .or_insert_with(|| "flume".into());
    consumer
        .props
        .entry("auto.offset.reset".into())
        .or_insert_with(|| "latest".into());
    let topic = cx
        .get("kafka.topic")
        .map(|t| t.trim().to_owned())
        .unwrap_or_else(|| TOPIC_DEFAULT.to_owned());
    let parse_as_flume_event = cx.bool("parseAsFlumeEvent", true);
    let poll_timeout =
        Duration::from_millis(cx.u64("pollTimeout", POLL_TIMEOUT_MS_DEFAULT, 1, DURATION_MS_MAX));
    let default_partition_id = partition(cx, "defaultPartitionId");
    let partition_id_header = cx.get("partitionIdHeader").map(|s| s.trim().to_owned());
    // Flume's channel has no capacity keys; accepted and ignored so that shared templates load.
    cx.u64("transactionCapacity", 1000, 1, BATCH_SIZE_MAX);
    cx.get("migrateZookeeperOffsets");
    let producer_ok = producer.check(cx, "kafka.producer.");
    let consumer_ok = consumer.check(cx, "kafka.consumer.");
    if !(producer_ok && consumer_ok) {
        return None;
    }
    let timeout_ms = producer
        .get("message.timeout.ms")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(MESSAGE_TIMEOUT_MS_DEFAULT);
    Some(KafkaChannelConfig {
        producer,
        consumer,
        topic,
        parse_as_flume_event,
        poll_timeout,
        default_partition_id,
        partition_id_header,
        delivery_timeout: Duration::from_millis(timeout_ms) + Duration::from_secs(10),
    })
}
