//! What the kafka source holds, watched: its assignment read after each rebalance (the
//! `KafkaPartitionsAssigned` gauge, a line at each change) and a WARN for a subscribed topic
//! it has held no partition of for longer than the session timeout.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use rdkafka::consumer::Consumer;

use super::config::KafkaSourceConfig;
use super::context::KafkaConsumer;
use super::ownership::{self, Ownership};
use super::resume::Partition;
use super::METADATA_TIMEOUT;

/// Reads the assignment after a rebalance into `owned` (the gauge), and warns about a
/// subscribed topic the source has held no partition of for longer than the session timeout
/// while it has partitions.
pub(super) async fn watch(
    cfg: &KafkaSourceConfig,
    consumer: &Arc<KafkaConsumer>,
    owned: &mut Ownership,
    name: &str,
) {
    let now = Instant::now();
    if consumer.context().changed.swap(false, Ordering::AcqRel) {
        match consumer.assignment() {
            Ok(tpl) => {
                let held: Vec<Partition> = tpl
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .collect();
                owned.set(&held, now);
                tracing::info!(source = %name, held = held.len(),
                    partitions = %ownership::names(&held), "kafka partitions held now");
            }
            Err(e) => {
                tracing::debug!(source = %name, error = %e, "assignment not read; read again later");
                consumer.context().changed.store(true, Ordering::Release);
            }
        }
    }
    for topic in owned.due(now) {
        match partition_count(consumer, &topic).await {
            Some(n) if n > 0 => {
                tracing::warn!(source = %name, topic = %topic, partitions = n,
                    group = cfg.client.get("group.id").unwrap_or(""),
                    session_timeout_ms = owned.limit().as_millis() as u64,
                    "this source has held no partition of topic {topic} (partitions: {n}) for longer than the session timeout: normal if the group has more members than the topic has partitions; otherwise the broker left partitions to no member (their records wait in the topic; docs/kafka.md, \"Partitions no member holds\")");
                owned.warned(&topic);
            }
            _ => owned.later(&topic, now),
        }
    }
}

/// The number of partitions of `topic` (`None` when the metadata did not arrive).
async fn partition_count(consumer: &Arc<KafkaConsumer>, topic: &str) -> Option<usize> {
    let c = Arc::clone(consumer);
    let t = topic.to_owned();
    let md = tokio::task::spawn_blocking(move || {
        c.fetch_metadata(Some(&t), METADATA_TIMEOUT)
            .ok()
            .and_then(|md| md.topics().first().map(|t| t.partitions().len()))
    })
    .await;
    md.ok().flatten()
}
