//! Acknowledging a committed batch, by the consumer's policy.
//!
//! `Explicit` (`ackPolicy = explicit`, the default): every message of the batch is
//! acknowledged: each is one replicated update of the consumer's state on the servers,
//! correct however many collectors share the consumer.
//!
//! `All` (`ackPolicy = all`): one acknowledgement of the committed message with the highest
//! stream sequence acknowledges every message at or below it: about a third less of the
//! servers' work per message (docs/performance.md). It is correct only when every message
//! the servers hold as delivered and unacknowledged is one this source committed: so a
//! consumer read by one collector, and, after a restart, not before the messages the killed
//! process had taken come again and are committed. [`Acks`] starts "dirty" when the consumer has
//! unacknowledged messages at open; while dirty it holds its acknowledgement and, after
//! each commit, asks the servers how many messages are unacknowledged: once no more than
//! this source committed since its last acknowledgement, it acknowledges them all and is
//! clean for good (it is the only reader, and commits a batch before it fetches the next).

use std::collections::HashSet;

use async_nats::jetstream::consumer::{pull, AckPolicy, Consumer};
use async_nats::jetstream::Message;

/// The acknowledgement state of one opened consumer.
pub(crate) struct Acks {
    policy: AckPolicy,
    /// `All` only: every unacknowledged message is one this source committed.
    clean: bool,
    /// `All` only: the committed message with the highest stream sequence not yet
    /// acknowledged, and the stream sequences committed since the last acknowledgement.
    best: Option<(u64, Message)>,
    held: HashSet<u64>,
}

impl Acks {
    /// The state for a consumer of `policy` with `unacked` messages delivered and not
    /// acknowledged when it was opened.
    pub(crate) fn new(policy: AckPolicy, unacked: usize) -> Self {
        Acks {
            policy,
            clean: unacked == 0,
            best: None,
            held: HashSet::new(),
        }
    }

    /// Acknowledges `msgs` (just committed to the channels) as the policy says. Errors are
    /// logged: an unacknowledged message comes again after `ackWait` and the channel drops
    /// it. Cancel safe (a lost acknowledgement is such a redelivery).
    pub(crate) async fn committed(
        &mut self,
        msgs: Vec<Message>,
        consumer: &Consumer<pull::Config>,
        source: &str,
    ) {
        if self.policy != AckPolicy::All {
            for m in &msgs {
                if let Err(e) = m.ack().await {
                    tracing::warn!(source = %source, error = %e, "acknowledgement not sent; the message comes again after ackWait and the channel drops it");
                }
            }
            return;
        }
        for m in msgs {
            let Ok(seq) = m.info().map(|i| i.stream_sequence) else {
                continue;
            };
            self.held.insert(seq);
            if self.best.as_ref().is_none_or(|(b, _)| seq > *b) {
                self.best = Some((seq, m));
            }
        }
        if !self.clean {
            match consumer.get_info().await {
                Ok(i) if i.num_ack_pending <= self.held.len() => {
                    tracing::info!(source = %source, committed = self.held.len(), "every unacknowledged message of the consumer is committed here: acknowledging them at once from now on");
                    self.clean = true;
                }
                Ok(i) => {
                    tracing::debug!(source = %source, unacked = i.num_ack_pending, committed = self.held.len(), "holding the acknowledgement until the messages of a process before this one come again");
                }
                Err(e) => tracing::debug!(source = %source, error = %e, "consumer info"),
            }
        }
        if self.clean {
            if let Some((_, m)) = self.best.take() {
                self.held.clear();
                if let Err(e) = m.ack().await {
                    tracing::warn!(source = %source, error = %e, "acknowledgement not sent; the batch comes again after ackWait and the channel drops it");
                }
            }
        }
    }
}
