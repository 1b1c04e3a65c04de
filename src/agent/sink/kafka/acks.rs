//! The acknowledgements of one batch. Every record of a batch carries the same
//! `Arc<BatchAcks>` as its librdkafka delivery opaque (no allocation per record: one reference
//! count up on send, down on the answer); the producer's polling thread answers each record
//! through [`SinkContext::delivery`], and [`BatchAcks::wait`] returns once every record of the
//! batch was answered: `Ok` only if the broker acknowledged all of them; [`wait_acks`] waits
//! for that within the delivery timeout and the stop grace.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use tokio::sync::Notify;

use super::STOP_GRACE;
use crate::agent::kafka::LogContext;
use crate::agent::sink::contract::BoxError;
use crate::agent::sink::SinkErrorKind;
use crate::agent::stop::Stop;

/// The answers of one batch's records, counted down by the producer's polling thread.
#[derive(Debug)]
pub(crate) struct BatchAcks {
    /// Records not answered yet.
    outstanding: AtomicUsize,
    /// Records answered with an error.
    failed: AtomicUsize,
    /// The first error, for the log line.
    first_error: Mutex<Option<RecordFailed>>,
    /// Woken when `outstanding` reaches zero.
    done: Notify,
}

impl BatchAcks {
    /// The tracker of a batch of `records` records (each must be answered once, or the batch
    /// abandoned).
    pub(crate) fn new(records: usize) -> Arc<Self> {
        Arc::new(BatchAcks {
            outstanding: AtomicUsize::new(records),
            failed: AtomicUsize::new(0),
            first_error: Mutex::new(None),
            done: Notify::new(),
        })
    }

    /// One record's answer: `Err` with why it was not acknowledged.
    pub(crate) fn answer(&self, outcome: Result<(), RecordFailed>) {
        if let Err(why) = outcome {
            self.failed.fetch_add(1, Ordering::Relaxed);
            self.first_error.lock().get_or_insert(why);
        }
        // An answer beyond the batch's records (which librdkafka never gives) is ignored
        // rather than wrapping the count.
        let before = self
            .outstanding
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        if before == Ok(1) {
            self.done.notify_one();
        }
    }

    /// Records not answered yet.
    pub(crate) fn outstanding(&self) -> usize {
        self.outstanding.load(Ordering::Acquire)
    }

    /// Waits until every record was answered; `Err` says how many failed and the first
    /// reason. Cancel safe (nothing is consumed but the wake-up).
    pub(crate) async fn wait(&self) -> Result<(), Unacknowledged> {
        loop {
            let woken = self.done.notified();
            if self.outstanding() == 0 {
                break;
            }
            woken.await;
        }
        match self.failed.load(Ordering::Acquire) {
            0 => Ok(()),
            failed => Err(Unacknowledged {
                failed,
                first: self.first_error.lock().clone().unwrap_or(RecordFailed {
                    topic: String::new(),
                    why: "unknown".into(),
                }),
            }),
        }
    }
}

/// Why one record was not acknowledged (the broker's or the client's error, with the topic).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record to topic {topic:?} not acknowledged: {why}")]
pub(crate) struct RecordFailed {
    /// The record's topic.
    pub topic: String,
    /// librdkafka's error.
    pub why: String,
}

/// A batch some of whose records were not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{failed} record(s) of the batch failed; first: {first}")]
pub(crate) struct Unacknowledged {
    /// Records answered with an error.
    pub failed: usize,
    /// The first of them.
    pub first: RecordFailed,
}

/// The sink's producer context: librdkafka's log through `tracing` under the sink's name,
/// and each delivery report counted into its batch.
#[derive(Debug, Clone)]
pub(crate) struct SinkContext {
    /// Logs under `sink NAME`.
    pub log: LogContext,
    /// Where a broker's "too large" answers are kept.
    pub refused: super::refused_sizes::RefusedSizes,
}

impl ClientContext for SinkContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.log.log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.log.error(error, reason);
    }
}

impl ProducerContext for SinkContext {
    type DeliveryOpaque = Arc<BatchAcks>;

    fn delivery(&self, result: &DeliveryResult<'_>, acks: Arc<BatchAcks>) {
        acks.answer(match result {
            Ok(_) => Ok(()),
            Err((e, m)) => {
                if let KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge) = e {
                    self.refused.refused(m.topic(), m.payload_len());
                }
                Err(RecordFailed {
                    topic: m.topic().to_owned(),
                    why: e.to_string(),
                })
            }
        });
    }
}

/// Waits for every acknowledgement of a batch, within `limit` and the stop grace (shared by
/// the sink's batches through `stop_seen`, so two batches in flight do not wait twice); an
/// error says its kind (the broker's answer, the time limit, the stop) and why.
pub(super) async fn wait_acks(
    acks: &BatchAcks,
    mut stop: Option<Stop>,
    stop_seen: &OnceLock<tokio::time::Instant>,
    limit: Duration,
) -> Result<(), (SinkErrorKind, BoxError)> {
    tokio::select! {
        r = tokio::time::timeout(limit, acks.wait()) => match r {
            Ok(r) => r.map_err(|e| (SinkErrorKind::Peer, e.into())),
            Err(_) => Err((SinkErrorKind::Timeout, format!(
                "no acknowledgement within {} ms ({} record(s) unanswered)",
                limit.as_millis(),
                acks.outstanding()
            ).into())),
        },
        _ = async {
            match stop.as_mut() {
                Some(s) => {
                    s.wait().await;
                    let seen = *stop_seen.get_or_init(tokio::time::Instant::now);
                    tokio::time::sleep_until(seen + STOP_GRACE).await
                }
                None => std::future::pending().await,
            }
        } => Err((
            SinkErrorKind::Stopped,
            "stopping: the batch was not acknowledged within the stop grace".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_batch_is_acknowledged_only_after_its_last_record() {
        let acks = BatchAcks::new(3);
        let waiter = tokio::spawn({
            let a = acks.clone();
            async move { a.wait().await }
        });
        acks.answer(Ok(()));
        acks.answer(Ok(()));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "one record is still unanswered");
        acks.answer(Ok(()));
        let r = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("answered")
            .unwrap();
        assert_eq!(r, Ok(()));
    }

    #[tokio::test]
    async fn one_failed_record_fails_the_batch_with_the_first_reason() {
        let acks = BatchAcks::new(3);
        acks.answer(Ok(()));
        let failed = |why: &str| RecordFailed {
            topic: "t".into(),
            why: why.into(),
        };
        acks.answer(Err(failed("first reason")));
        acks.answer(Err(failed("second reason")));
        let err = acks.wait().await.unwrap_err();
        assert_eq!(err.failed, 2);
        assert_eq!(err.first, failed("first reason"));
        assert!(err.to_string().starts_with("2 record(s)"), "{err}");
        // An extra answer does not wrap the count around.
        acks.answer(Ok(()));
        assert_eq!(acks.outstanding(), 0);
    }

    #[tokio::test]
    async fn an_empty_batch_is_acknowledged_at_once() {
        assert_eq!(BatchAcks::new(0).wait().await, Ok(()));
    }
}
