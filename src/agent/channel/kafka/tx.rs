//! One kafka channel transaction: puts produced at commit, or takes with the offsets they
//! cover, committed at commit and seeked back at rollback.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::config::KafkaChannelConfig;
use super::counter::KafkaChannelCounter;
use crate::agent::channel::{AgentChannelError, BoxFuture, ChannelTx};
use crate::agent::kafka::{format, LogContext};
use crate::agent::metrics::{ChannelCounter, CounterGroup};
use sluice_core::Event;

/// Longest wait of a seek (rollback) or an offset commit.
const CONSUMER_CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The channel's one consumer, created on the first take.
pub(super) type Taker = Option<StreamConsumer<LogContext>>;

/// One transaction: puts, or takes with the offsets they cover.
pub(super) struct KafkaTx {
    pub(super) name: String,
    pub(super) cfg: Arc<KafkaChannelConfig>,
    pub(super) producer: Result<FutureProducer<LogContext>, AgentChannelError>,
    pub(super) taker: Arc<Mutex<Taker>>,
    /// Held from the first take to commit or rollback: one take transaction at a time.
    pub(super) guard: Option<OwnedMutexGuard<Taker>>,
    pub(super) puts: Vec<Event>,
    /// Per partition: the first offset taken (rollback seeks here) ...
    pub(super) first: BTreeMap<(String, i32), i64>,
    /// ... and the offset after the last one taken (commit).
    pub(super) next: BTreeMap<(String, i32), i64>,
    /// Events handed out by takes.
    pub(super) taken: u64,
    pub(super) counters: Arc<CounterGroup>,
}

impl KafkaTx {
    fn error(&self, message: impl std::fmt::Display) -> AgentChannelError {
        AgentChannelError::Kafka {
            channel: self.name.clone(),
            message: message.to_string(),
        }
    }

    /// The consumer, created and subscribed on first use; the guard is kept.
    async fn consumer(&mut self) -> Result<(), AgentChannelError> {
        if self.guard.is_none() {
            self.guard = Some(Arc::clone(&self.taker).lock_owned().await);
        }
        let Some(guard) = self.guard.as_mut() else {
            return Err(self.error("no consumer"));
        };
        if guard.is_none() {
            let c: StreamConsumer<LogContext> = self
                .cfg
                .consumer
                .client_config(crate::agent::kafka::keys::CONSUMER_OVERRIDES)
                .create_with_context(LogContext::new("channel", &self.name))
                .map_err(|e| AgentChannelError::Kafka {
                    channel: self.name.clone(),
                    message: format!("cannot create the Kafka consumer: {e}"),
                })?;
            c.subscribe(&[&self.cfg.topic])
                .map_err(|e| AgentChannelError::Kafka {
                    channel: self.name.clone(),
                    message: format!("cannot subscribe to {:?}: {e}", self.cfg.topic),
                })?;
            **guard = Some(c);
        }
        Ok(())
    }

    async fn take(&mut self, max: usize) -> Result<Vec<Event>, AgentChannelError> {
        self.consumer().await?;
        let cfg = Arc::clone(&self.cfg);
        let Some(Some(consumer)) = self.guard.as_deref() else {
            return Err(self.error("no consumer"));
        };
        let mut out = Vec::new();
        let mut failed = 0u64;
        let deadline = tokio::time::Instant::now() + cfg.poll_timeout;
        while out.len() < max {
            let m = match tokio::time::timeout_at(deadline, consumer.recv()).await {
                Err(_) => break,
                Ok(Err(e)) => {
                    tracing::warn!(channel = %self.name, error = %e, "kafka consume error");
                    break;
                }
                Ok(Ok(m)) => m,
            };
            let key = (m.topic().to_owned(), m.partition());
            self.first.entry(key.clone()).or_insert(m.offset());
            self.next.insert(key.clone(), m.offset() + 1);
            let value = m.payload().unwrap_or(&[]);
            if cfg.parse_as_flume_event {
                match format::decode(value) {
                    Ok(e) => out.push(e),
                    Err(err) => {
                        failed += 1;
                        tracing::error!(channel = %self.name, topic = %key.0, partition = key.1,
                            offset = m.offset(), "record skipped: not a Flume event (parseAsFlumeEvent = true): {err}");
                    }
                }
            } else {
                out.push(Event::new(value.to_vec()));
            }
        }
        if failed > 0 {
            self.counters
                .add(KafkaChannelCounter::EventReadFail, failed);
        }
        self.counters.add(ChannelCounter::TakeAttempt, max as u64);
        self.taken += out.len() as u64;
        Ok(out)
    }

    /// Seeks every partition read back to its first record taken.
    fn rewind(&mut self) {
        if self.first.is_empty() {
            self.guard = None;
            return;
        }
        self.counters.add(KafkaChannelCounter::Rollback, 1);
        if let Some(Some(c)) = self.guard.as_deref() {
            for ((t, p), o) in &self.first {
                if let Err(e) = c.seek(t, *p, Offset::Offset(*o), CONSUMER_CALL_TIMEOUT) {
                    // A revoked partition: its next owner reads from the committed offset.
                    tracing::warn!(channel = %self.name, topic = %t, partition = *p, error = %e,
                        "seek back failed; the partition's owner re-reads from the committed offset");
                }
            }
        }
        self.first.clear();
        self.next.clear();
        self.guard = None;
    }

    async fn commit_puts(&mut self) -> Result<(), AgentChannelError> {
        let producer = match &self.producer {
            Ok(p) => p.clone(),
            Err(e) => return Err(self.error(e)),
        };
        let cfg = Arc::clone(&self.cfg);
        let mut pending = Vec::with_capacity(self.puts.len());
        for e in &self.puts {
            let encoded;
            let value: &[u8] = if cfg.parse_as_flume_event {
                encoded = format::encode(e);
                &encoded
            } else {
                &e.body
            };
            let mut r: FutureRecord<'_, str, [u8]> = FutureRecord::to(&cfg.topic).payload(value);
            if let Some(k) = e.headers.get("key") {
                r = r.key(k);
            }
            let part = cfg
                .partition_id_header
                .as_ref()
                .and_then(|h| e.headers.get(h))
                .and_then(|v| v.trim().parse::<i32>().ok())
                .or(cfg.default_partition_id);
            if let Some(p) = part {
                r = r.partition(p);
            }
            let deadline = tokio::time::Instant::now() + cfg.delivery_timeout;
            loop {
                match producer.send_result(r) {
                    Ok(f) => {
                        pending.push(f);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                        if tokio::time::Instant::now() < deadline =>
                    {
                        r = back;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((e, _)) => return Err(self.error(format!("cannot produce: {e}"))),
                }
            }
        }
        let all = async {
            for f in pending {
                match f.await {
                    Ok(Ok(_)) => {}
                    Ok(Err((e, _))) => return Err(format!("put not acknowledged: {e}")),
                    Err(_) => return Err("the producer closed before it answered".to_owned()),
                }
            }
            Ok(())
        };
        match tokio::time::timeout(cfg.delivery_timeout, all).await {
            Ok(Ok(())) => {}
            Ok(Err(m)) => return Err(self.error(m)),
            Err(_) => return Err(self.error("put not acknowledged in time")),
        }
        Ok(())
    }

    async fn commit_takes(&mut self) -> Result<(), AgentChannelError> {
        if self.next.is_empty() {
            self.guard = None;
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for ((t, p), o) in &self.next {
            tpl.add_partition_offset(t, *p, Offset::Offset(*o))
                .map_err(|e| self.error(format!("bad offset: {e}")))?;
        }
        // A synchronous commit is one broker round trip: off the async workers.
        let Some(guard) = self.guard.take() else {
            return Err(self.error("no consumer"));
        };
        let joined = tokio::task::spawn_blocking(move || {
            let r = match guard.as_ref() {
                Some(c) => c.commit(&tpl, CommitMode::Sync).map_err(|e| e.to_string()),
                None => Err("no consumer".to_owned()),
            };
            (guard, r)
        })
        .await;
        let r = match joined {
            Ok((guard, r)) => {
                self.guard = Some(guard);
                r
            }
            Err(e) => Err(format!("commit task failed: {e}")),
        };
        match r {
            Ok(()) => {
                self.first.clear();
                self.next.clear();
                self.guard = None;
                Ok(())
            }
            Err(e) => {
                let err = self.error(format!("offset commit failed: {e}"));
                self.rewind();
                Err(err)
            }
        }
    }
}

impl ChannelTx for KafkaTx {
    fn put_all(&mut self, events: Vec<Event>) -> BoxFuture<'_, Result<(), AgentChannelError>> {
        Box::pin(async move {
            self.counters
                .add(ChannelCounter::PutAttempt, events.len() as u64);
            self.puts.extend(events);
            Ok(())
        })
    }

    fn take_up_to(&mut self, max: usize) -> BoxFuture<'_, Result<Vec<Event>, AgentChannelError>> {
        Box::pin(self.take(max))
    }

    fn commit(mut self: Box<Self>) -> BoxFuture<'static, Result<(), AgentChannelError>> {
        Box::pin(async move {
            if !self.puts.is_empty() {
                self.commit_puts().await?;
                self.counters
                    .add(ChannelCounter::PutSuccess, self.puts.len() as u64);
                self.puts.clear();
            }
            let taken = std::mem::take(&mut self.taken);
            self.commit_takes().await?;
            self.counters.add(ChannelCounter::TakeSuccess, taken);
            Ok(())
        })
    }

    fn rollback(mut self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            self.puts.clear();
            self.rewind();
        })
    }
}

impl Drop for KafkaTx {
    fn drop(&mut self) {
        // Not committed: the records taken are taken again.
        self.rewind();
    }
}
