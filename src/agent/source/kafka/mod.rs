//! The `kafka` source (Flume's `KafkaSource`): one consumer in consumer group
//! `kafka.consumer.group.id`, batches of up to `batchSize` records or `batchDurationMillis`,
//! each put into the channels in one transaction per channel.
//!
//! Delivery: librdkafka's automatic commit and offset store are off. A batch's offsets are
//! committed (synchronously) only after the channel processor committed the batch, and before
//! the next poll. Rebalance callbacks run only inside a poll, so when partitions are revoked
//! everything already put is already committed; the records of the batch being gathered that
//! came from a revoked partition are dropped (not put, not committed) and the partition's next
//! owner reads them from the committed offset. A crash (kill -9) between the channel commit
//! and the offset commit re-delivers that one batch: at-least-once, never a loss.
//!
//! Headers, as Flume's: `timestamp` (now, if absent), `topic` (`setTopicHeader`/`topicHeader`),
//! `partition`, `offset`, and `key` when the record has a key; with `useFlumeEventFormat` the
//! event's own headers come first. Without it, the record's Kafka headers whose values are
//! UTF-8 are copied too. A record that is not a Flume event while `useFlumeEventFormat` is
//! true is skipped with an error naming topic, partition and offset, and counted as
//! `EventReadFail`; its offset is committed with the batch so it is not read again.
//!
//! What the source holds is visible: the gauge `KafkaPartitionsAssigned`, a line at every
//! change of its assignment, and a WARN when it has held no partition of a subscribed topic
//! for longer than the session timeout ([`ownership`]). `kafka.consumer.group.instance.id`
//! makes it a static member (`auto`: derived, [`static_id`]).
//!
//! Here: the source's loop, its batches and their offsets; `context.rs` the consumer's
//! context, `watch.rs` the assignment watch, `record.rs` a record as an event.

pub(crate) mod config;
mod context;
pub(crate) mod ownership;
mod record;
pub(crate) mod resume;
pub(crate) mod static_id;
mod watch;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

pub(crate) use config::KafkaSourceConfig;
use config::Subscription;
use context::{KafkaConsumer, SourceContext};
use ownership::Ownership;
use record::to_event;
use resume::{Partition, Resume};
use watch::watch;

use super::{SourceCtx, SourceError, SourceErrorKind};
use crate::agent::backoff::Backoff;
use crate::agent::failpoint;
pub(crate) use crate::agent::kafka::keys::CONSUMER_OVERRIDES;
use crate::agent::kafka::LogContext;
use crate::agent::metrics::SourceCounter;
use sluice_core::Event;

/// How long the partition count of a topic may take to arrive (the ownership WARN's check).
pub(crate) const METADATA_TIMEOUT: Duration = Duration::from_secs(5);

/// One batch being gathered: events, and the first offset and the next offset of each
/// partition it read.
#[derive(Debug, Default)]
struct Batch {
    events: Vec<(String, i32, Event)>,
    first: BTreeMap<(String, i32), i64>,
    next: BTreeMap<(String, i32), i64>,
}

/// `topic/partition first..next` for each partition a batch read (debug lines).
fn ranges(first: &BTreeMap<(String, i32), i64>, next: &BTreeMap<(String, i32), i64>) -> String {
    next.iter()
        .map(|((t, p), n)| format!("{t}/{p} {}..{n}", first.get(&(t.clone(), *p)).unwrap_or(n)))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Batch {
    /// Drops what came from revoked partitions.
    fn forget(&mut self, revoked: &[(String, i32)]) {
        if revoked.is_empty() {
            return;
        }
        self.events
            .retain(|(t, p, _)| !revoked.iter().any(|(rt, rp)| rt == t && rp == p));
        self.next.retain(|k, _| !revoked.contains(k));
        self.first.retain(|k, _| !revoked.contains(k));
    }
}

/// Runs the source until it is stopped.
pub(crate) async fn run(cfg: KafkaSourceConfig, mut ctx: SourceCtx) -> Result<(), SourceError> {
    let context = SourceContext {
        log: LogContext::new("source", &ctx.name),
        revoked: Mutex::new(Vec::new()),
        assigned: Mutex::new(Vec::new()),
        changed: AtomicBool::new(false),
    };
    let consumer: KafkaConsumer = cfg
        .client
        .client_config(CONSUMER_OVERRIDES)
        .create_with_context(context)
        .map_err(|e| {
            ctx.fail(
                SourceErrorKind::Config,
                format!("cannot create the Kafka consumer: {e}"),
            )
        })?;
    let consumer = Arc::new(consumer);
    let patterns = cfg.subscribe_patterns();
    let refs: Vec<&str> = patterns.iter().map(String::as_str).collect();
    consumer.subscribe(&refs).map_err(|e| {
        ctx.fail(
            SourceErrorKind::Peer,
            format!("cannot subscribe to {patterns:?}: {e}"),
        )
    })?;
    tracing::info!(source = %ctx.name, topics = ?patterns,
        group = cfg.client.get("group.id").unwrap_or(""),
        group_instance_id = cfg.client.get("group.instance.id").unwrap_or("(none: dynamic member)"),
        session_timeout_ms = cfg.session_timeout.as_millis() as u64,
        "kafka source subscribed");
    let held = Arc::new(AtomicU64::new(0));
    let gauge = held.clone();
    ctx.counters.set_gauges(Box::new(move || {
        vec![(ownership::GAUGE, gauge.load(Ordering::Relaxed).to_string())]
    }));
    let watched = match &cfg.subscription {
        Subscription::Topics(t) => t.clone(),
        Subscription::Regex(_) => Vec::new(),
    };
    let mut owned = Ownership::new(watched, cfg.session_timeout, Instant::now(), held);
    let stop = ctx.stop.clone();
    let mut resume = Resume::default();
    while !stop.is_set() {
        let batch = gather(&cfg, &consumer, &mut ctx, &mut resume).await;
        watch(&cfg, &consumer, &mut owned, &ctx.name).await;
        if batch.next.is_empty() {
            continue;
        }
        failpoint::hold(failpoint::KAFKA_SOURCE_GATHERED).await;
        let events: Vec<Event> = batch.events.into_iter().map(|(_, _, e)| e).collect();
        if !events.is_empty() && !put(&cfg, &mut ctx, events).await {
            // Stopped before the channel took the batch: nothing committed, read again later.
            break;
        }
        tracing::debug!(source = %ctx.name, read = %ranges(&batch.first, &batch.next),
            "batch committed to the channel");
        failpoint::hold(failpoint::KAFKA_SOURCE_CHANNEL_COMMITTED).await;
        commit(&consumer, &batch.next, &ctx.name).await;
        failpoint::hold(failpoint::KAFKA_SOURCE_OFFSETS_COMMITTED).await;
    }
    Ok(())
}

/// Puts with the configured backoff; false if stopped before a commit.
async fn put(cfg: &KafkaSourceConfig, ctx: &mut SourceCtx, events: Vec<Event>) -> bool {
    let backoff = Backoff::linear(cfg.backoff_step, cfg.backoff_max);
    ctx.put_with_backoff(events, backoff).await
}

/// Gathers up to `batchSize` records within `batchDurationMillis` (or until stopped).
async fn gather(
    cfg: &KafkaSourceConfig,
    consumer: &Arc<KafkaConsumer>,
    ctx: &mut SourceCtx,
    resume: &mut Resume,
) -> Batch {
    let mut batch = Batch::default();
    let deadline = tokio::time::Instant::now() + cfg.batch_duration;
    let mut stop = ctx.stop.clone();
    while batch.events.len() < cfg.batch_size {
        let received = tokio::select! {
            _ = stop.wait() => break,
            r = tokio::time::timeout_at(deadline, consumer.recv()) => r,
        };
        let revoked = std::mem::take(&mut *consumer.context().revoked.lock());
        batch.forget(&revoked);
        resume.forget(&revoked);
        let assigned = std::mem::take(&mut *consumer.context().assigned.lock());
        if !assigned.is_empty() {
            resume.set(committed(consumer, &assigned, &ctx.name).await);
        }
        match received {
            Err(_elapsed) => break,
            Ok(Err(e)) => {
                ctx.counters.add(SourceCounter::GenericProcessingFail, 1);
                tracing::warn!(source = %ctx.name, error = %e, "kafka consume error");
                // Errors come back at once; do not spin on them.
                let _ = ctx.stop.sleep(Duration::from_millis(200)).await;
            }
            Ok(Ok(m)) => {
                let key = (m.topic().to_owned(), m.partition());
                if let Some(gap) = resume.first_record(&key, m.offset()) {
                    ctx.counters
                        .add(SourceCounter::EventReadFail, gap.records() as u64);
                    tracing::warn!(source = %ctx.name, topic = %key.0, partition = key.1,
                        committed = gap.committed, first = gap.first,
                        "the broker resumed this partition past its committed offset: records {}..{} were never served (retention or compaction; or a broker that cannot fetch from inside a record batch, see docs/kafka.md)",
                        gap.committed, gap.first);
                }
                batch.first.entry(key.clone()).or_insert(m.offset());
                batch.next.insert(key.clone(), m.offset() + 1);
                match to_event(cfg, &m) {
                    Ok(e) => batch.events.push((key.0, key.1, e)),
                    Err(why) => {
                        ctx.counters.add(SourceCounter::EventReadFail, 1);
                        tracing::error!(source = %ctx.name, topic = %key.0, partition = key.1,
                            offset = m.offset(), "record skipped: {why}");
                    }
                }
            }
        }
    }
    batch
}

/// The group's committed offsets of newly assigned `partitions` (none on an error, logged:
/// those partitions are then not checked for a resume gap).
async fn committed(
    consumer: &Arc<KafkaConsumer>,
    partitions: &[(String, i32)],
    name: &str,
) -> Vec<(Partition, i64)> {
    let c = Arc::clone(consumer);
    let tpl = resume::partition_list(partitions);
    let r =
        tokio::task::spawn_blocking(move || c.committed_offsets(tpl, resume::committed_timeout()))
            .await;
    match r {
        Ok(Ok(tpl)) => resume::committed_of(&tpl),
        Ok(Err(e)) => {
            tracing::debug!(source = %name, error = %e, "committed offsets not read; resume not checked");
            Vec::new()
        }
        Err(e) => {
            tracing::debug!(source = %name, error = %e, "committed offsets task failed");
            Vec::new()
        }
    }
}

/// Commits the batch's offsets; a failure only means the batch may be read again.
async fn commit(consumer: &Arc<KafkaConsumer>, next: &BTreeMap<(String, i32), i64>, name: &str) {
    let mut tpl = TopicPartitionList::new();
    for ((t, p), o) in next {
        if let Err(e) = tpl.add_partition_offset(t, *p, Offset::Offset(*o)) {
            tracing::warn!(source = %name, error = %e, "bad offset");
        }
    }
    let c = Arc::clone(consumer);
    let r = tokio::task::spawn_blocking(move || c.commit(&tpl, CommitMode::Sync)).await;
    match r {
        Ok(Ok(())) => tracing::debug!(source = %name, next = ?next, "offsets committed"),
        Ok(Err(e)) => {
            tracing::warn!(source = %name, error = %e, "offset commit failed; the batch may be delivered again")
        }
        Err(e) => tracing::warn!(source = %name, error = %e, "offset commit task failed"),
    }
}

impl crate::agent::source::BuildSource for KafkaSourceConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn run(&self, ctx: crate::agent::source::SourceCtx) -> crate::agent::source::SourceTask {
        Box::pin(run(self.clone(), ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoked_partition_leaves_the_batch_being_gathered() {
        let mut b = Batch::default();
        b.events.push(("t".into(), 0, Event::new(b"a".to_vec())));
        b.events.push(("t".into(), 1, Event::new(b"b".to_vec())));
        b.next.insert(("t".into(), 0), 5);
        b.next.insert(("t".into(), 1), 9);
        b.forget(&[("t".into(), 0)]);
        assert_eq!(b.events.len(), 1);
        assert_eq!(b.events[0].1, 1);
        assert_eq!(
            b.next.keys().collect::<Vec<_>>(),
            vec![&("t".to_owned(), 1)]
        );
    }
}
