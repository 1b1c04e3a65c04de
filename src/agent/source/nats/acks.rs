//! Acknowledging a committed batch, by the consumer's policy.
//!
//! `Explicit` (`ackPolicy = explicit`, the default): every message of the batch is
//! acknowledged as soon as the batch is committed: each is one replicated update of the
//! consumer's state on the servers, correct however many collectors share the consumer.
//!
//! `All` (`ackPolicy = all`): one acknowledgement of a committed message acknowledges every
//! message at or below its stream sequence: about a third less of the servers' work per
//! message (docs/performance.md). It is correct only when every message the servers hold as
//! delivered and unacknowledged at or below that sequence is one this source committed: so a
//! consumer read by one collector, and, after a restart, not before the messages the killed
//! process had taken come again and are committed. The source fetches the next batch while it
//! commits one, so that batch (`in_flight`: delivered, not committed) is known when it
//! acknowledges ([`Acks::release`]): the acknowledgement goes to the highest committed
//! sequence below every in-flight one. [`Acks`] starts "dirty" when the consumer has
//! unacknowledged messages at open; while dirty it holds its acknowledgement and, after each
//! commit, asks the servers how many messages are unacknowledged: once no more than this
//! source committed since its last acknowledgement plus the batch in flight, it is clean.
//! Each delivery to this consumer has the next consumer sequence: a gap in what this source
//! is handed ([`Acks::delivered`]) means another client reads the consumer (or a fetch lost
//! a delivery), and makes it dirty again, with a WARN: it then acknowledges only at a moment
//! when every unacknowledged message is its own, so a shared consumer stalls rather than
//! losing the other reader's messages.

use std::collections::{BTreeMap, BTreeSet};

use async_nats::jetstream::consumer::{pull, AckPolicy, Consumer};
use async_nats::jetstream::Message;

/// The acknowledgement state of one opened consumer.
pub(crate) struct Acks {
    policy: AckPolicy,
    /// `All` only: every unacknowledged message is one this source committed or has in
    /// flight.
    clean: bool,
    /// `All` only: the stream sequences committed and not yet acknowledged.
    held: BTreeSet<u64>,
    /// `All` only: the last message of each committed batch not yet acknowledged, by stream
    /// sequence (what an acknowledgement is sent with).
    marks: BTreeMap<u64, Message>,
    /// `All` only: the consumer sequence the next delivery should have.
    next_delivery: Option<u64>,
    /// `All` only: a gap was seen and logged (logged once).
    gap_seen: bool,
}

impl Acks {
    /// The state for a consumer of `policy` with `unacked` messages delivered and not
    /// acknowledged when it was opened.
    pub(crate) fn new(policy: AckPolicy, unacked: usize) -> Self {
        Acks {
            policy,
            clean: unacked == 0,
            held: BTreeSet::new(),
            marks: BTreeMap::new(),
            next_delivery: None,
            gap_seen: false,
        }
    }

    /// `All` only: `msgs` were just fetched, in order. A delivery that skips a consumer
    /// sequence went to another client (or was lost by a fetch): the consumer is dirty until
    /// every unacknowledged message is this source's again.
    pub(crate) fn delivered(&mut self, msgs: &[Message], consumer: &str, source: &str) {
        if self.policy != AckPolicy::All {
            return;
        }
        for m in msgs {
            let Ok(seq) = m.info().map(|i| i.consumer_sequence) else {
                continue;
            };
            if let Some(want) = self.next_delivery.filter(|&w| seq > w) {
                if !self.gap_seen {
                    self.gap_seen = true;
                    tracing::warn!(source = %source, consumer = %consumer, expected = want, got = seq, "deliveries skip consumer sequences: another client reads this consumer (or a fetch lost a delivery); ackPolicy = all acknowledges only while every unacknowledged message is this source's; give each collector its own consumer, or use ackPolicy = explicit to share one");
                }
                self.clean = false;
            }
            self.next_delivery = Some(seq + 1);
        }
    }

    /// `msgs` were just committed to the channels: acknowledged now when explicit, else
    /// held for [`Acks::release`]. Errors are logged: an unacknowledged message comes again
    /// after `ackWait` and the channel drops it. Cancel safe (a lost acknowledgement is such
    /// a redelivery). Returns whether it sent acknowledgements (to flush).
    pub(crate) async fn committed(&mut self, msgs: Vec<Message>, source: &str) -> bool {
        if self.policy != AckPolicy::All {
            for m in &msgs {
                if let Err(e) = m.ack().await {
                    tracing::warn!(source = %source, error = %e, "acknowledgement not sent; the message comes again after ackWait and the channel drops it");
                }
            }
            return !msgs.is_empty();
        }
        let mut last: Option<(u64, Message)> = None;
        for m in msgs {
            let Ok(seq) = m.info().map(|i| i.stream_sequence) else {
                continue;
            };
            self.held.insert(seq);
            if last.as_ref().is_none_or(|(b, _)| seq > *b) {
                last = Some((seq, m));
            }
        }
        if let Some((seq, m)) = last {
            self.marks.insert(seq, m);
        }
        false
    }

    /// `All` only: acknowledges what is committed below every message of `in_flight` (the
    /// next batch, delivered and not committed), once the consumer is clean. Cancel safe.
    /// Returns whether it sent an acknowledgement (to flush).
    pub(crate) async fn release(
        &mut self,
        in_flight: &[Message],
        consumer: &Consumer<pull::Config>,
        source: &str,
    ) -> bool {
        if self.policy != AckPolicy::All || self.marks.is_empty() {
            return false;
        }
        if !self.clean {
            let ours = self.held.len() + in_flight.len();
            match consumer.get_info().await {
                Ok(i) if i.num_ack_pending <= ours => {
                    tracing::info!(source = %source, committed = self.held.len(), in_flight = in_flight.len(), "every unacknowledged message of the consumer is committed or taken here: acknowledging them at once from now on");
                    self.clean = true;
                }
                Ok(i) => {
                    tracing::debug!(source = %source, unacked = i.num_ack_pending, committed = self.held.len(), "holding the acknowledgement until the messages of a process before this one come again");
                }
                Err(e) => tracing::debug!(source = %source, error = %e, "consumer info"),
            }
        }
        if !self.clean {
            return false;
        }
        let floor = in_flight
            .iter()
            .filter_map(|m| m.info().ok().map(|i| i.stream_sequence))
            .min()
            .unwrap_or(u64::MAX);
        let Some((&seq, _)) = self.marks.range(..floor).next_back() else {
            return false;
        };
        let m = self.marks.remove(&seq);
        // What stays held is above the acknowledged sequence.
        self.marks = self.marks.split_off(&seq);
        self.held = self.held.split_off(&(seq + 1));
        let Some(m) = m else { return false };
        if let Err(e) = m.ack().await {
            tracing::warn!(source = %source, error = %e, "acknowledgement not sent; the batch comes again after ackWait and the channel drops it");
        }
        true
    }
}
