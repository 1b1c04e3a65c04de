//! The `nats` source's keys: the connection keys of [`crate::agent::nats::conn`], `stream`
//! (required), `consumer` (the durable pull consumer's name, required; created if missing),
//! `subject` (a filter; default: the whole stream), `batchSize` (100), `maxAckPending`
//! (1000), `ackWait` (ms, 30000: how long the server waits for an acknowledgement
//! before it delivers a message again) and `ackPolicy` (`explicit`, the default: every
//! message acknowledged, so several collectors can share the consumer; `all`: one
//! acknowledgement of a committed batch's last message acknowledges the batch, for a consumer
//! that one collector reads: about a third less of the servers' work per message,
//! docs/nats.md).

use std::time::Duration;

use async_nats::jetstream::consumer::AckPolicy;

use crate::agent::config::ctx::Ctx;
use crate::agent::config::limits::BATCH_SIZE_MAX;
use crate::agent::nats::conn::{self, ConnKeys};

/// `batchSize` default.
pub(crate) const BATCH_SIZE_DEFAULT: u64 = 100;
/// `maxAckPending` default.
pub(crate) const MAX_ACK_PENDING_DEFAULT: u64 = 1000;
/// `ackWait` default, in ms.
pub(crate) const ACK_WAIT_MS_DEFAULT: u64 = 30_000;

/// `nats` source settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatsSourceConfig {
    /// Servers, credentials, TLS, timeouts.
    pub(crate) conn: ConnKeys,
    /// `stream`.
    pub stream: String,
    /// `consumer`: the durable consumer.
    pub consumer: String,
    /// `subject`: the consumer's filter.
    pub subject: Option<String>,
    /// `batchSize`: messages per fetch and per channel transaction.
    pub batch_size: usize,
    /// `maxAckPending`: messages delivered and not yet acknowledged, at most.
    pub max_ack_pending: i64,
    /// `ackWait`.
    pub ack_wait: Duration,
    /// `ackPolicy`: `Explicit` or `All`.
    pub ack_policy: AckPolicy,
}

/// Reads a `nats` source's keys; `None` after an error (reported through `cx`).
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<NatsSourceConfig> {
    let conn = conn::read(cx);
    let stream = cx.required("stream").map(|s| s.trim().to_owned());
    let consumer = cx.required("consumer").map(|s| s.trim().to_owned());
    if let Some(c) = &consumer {
        if c.is_empty() || c.contains(['.', '*', '>', ' ']) {
            cx.error(
                "consumer",
                format!("{c:?} is not a consumer name (no . * > or space)"),
            );
        }
    }
    let subject = cx
        .get("subject")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let batch_size = cx.u64("batchSize", BATCH_SIZE_DEFAULT, 1, BATCH_SIZE_MAX) as usize;
    let max_ack_pending = cx.u64("maxAckPending", MAX_ACK_PENDING_DEFAULT, 1, 1_000_000) as i64;
    if (max_ack_pending as usize) < batch_size {
        cx.error(
            "maxAckPending",
            "must be at least batchSize (a fetch would stall)",
        );
    }
    let ack_wait = Duration::from_millis(cx.u64("ackWait", ACK_WAIT_MS_DEFAULT, 1000, 3_600_000));
    let ack_policy = match cx.get("ackPolicy").map(|s| s.trim().to_ascii_lowercase()) {
        None => AckPolicy::Explicit,
        Some(p) if p == "explicit" => AckPolicy::Explicit,
        Some(p) if p == "all" => AckPolicy::All,
        Some(p) => {
            cx.error(
                "ackPolicy",
                format!("{p:?} is not an acknowledgement policy: explicit (the default) or all"),
            );
            AckPolicy::Explicit
        }
    };
    Some(NatsSourceConfig {
        conn: conn?,
        stream: stream?,
        consumer: consumer?,
        subject,
        batch_size,
        max_ack_pending,
        ack_wait,
        ack_policy,
    })
}
