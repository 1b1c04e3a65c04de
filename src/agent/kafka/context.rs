//! A librdkafka client context that logs through `tracing` with the component's name, so a
//! refused connection or an unknown topic reads as `sink k1: ...` in the agent's log.

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;

/// Logs librdkafka's messages and errors under a component name.
#[derive(Debug, Clone)]
pub(crate) struct LogContext {
    /// `sink k1`, `source r1`, `channel c1`.
    pub component: String,
}

impl LogContext {
    /// A context for `component`.
    pub(crate) fn new(kind: &str, name: &str) -> Self {
        LogContext {
            component: format!("{kind} {name}"),
        }
    }
}

impl ClientContext for LogContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        let c = &self.component;
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(component = %c, fac, "kafka: {log_message}")
            }
            RDKafkaLogLevel::Warning => tracing::warn!(component = %c, fac, "kafka: {log_message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(component = %c, fac, "kafka: {log_message}")
            }
            RDKafkaLogLevel::Debug => tracing::debug!(component = %c, fac, "kafka: {log_message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(component = %self.component, %error, "kafka client: {reason}");
    }
}

impl rdkafka::consumer::ConsumerContext for LogContext {}
