//! The kafka source's consumer context: librdkafka's log lines under the source's name, and
//! the partitions a rebalance revoked or assigned, noted for the source's loop.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::TopicPartitionList;

use crate::agent::kafka::LogContext;

/// The consumer's context: logs under the source's name and notes revoked and newly
/// assigned partitions, and that the assignment changed.
#[derive(Debug)]
pub(crate) struct SourceContext {
    pub(super) log: LogContext,
    pub(super) revoked: Mutex<Vec<(String, i32)>>,
    pub(super) assigned: Mutex<Vec<(String, i32)>>,
    pub(super) changed: AtomicBool,
}

impl ClientContext for SourceContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.log.log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.log.error(error, reason);
    }
}

impl ConsumerContext for SourceContext {
    fn pre_rebalance(&self, rebalance: &Rebalance<'_>) {
        self.changed.store(true, Ordering::Release);
        match rebalance {
            Rebalance::Revoke(tpl) => {
                let mut r = self.revoked.lock();
                for e in tpl.elements() {
                    r.push((e.topic().to_owned(), e.partition()));
                }
                tracing::info!(component = %self.log.component, partitions = %names(tpl), "partitions revoked");
            }
            Rebalance::Assign(tpl) => {
                let mut a = self.assigned.lock();
                for e in tpl.elements() {
                    a.push((e.topic().to_owned(), e.partition()));
                }
                tracing::info!(component = %self.log.component, partitions = %names(tpl), "partitions assigned");
            }
            Rebalance::Error(e) => {
                tracing::warn!(component = %self.log.component, error = %e, "rebalance failed");
            }
        }
    }
}

/// `topic/0 topic/1 ...` for a rebalance's log line.
fn names(tpl: &TopicPartitionList) -> String {
    tpl.elements()
        .iter()
        .map(|e| format!("{}/{}", e.topic(), e.partition()))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) type KafkaConsumer = StreamConsumer<SourceContext>;
