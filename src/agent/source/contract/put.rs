//! The put helpers of [`SourceCtx`]: a batch put once, retried with Flume's backoff until
//! committed (or until it can never fit), and batches put as one group commit; each counted as
//! Flume's sources count them.

use super::{SourceCtx, BACKOFF_MAX, BACKOFF_STEP};
use crate::agent::backoff::Backoff;
use crate::agent::metrics::SourceCounter;
use sluice_core::Event;

impl SourceCtx {
    /// Puts a batch, retrying with Flume's backoff (1 s more per failure, at most 5 s) until
    /// it is committed or the source is stopped. Returns whether it was committed.
    pub(crate) async fn put_with_retry(&mut self, events: Vec<Event>) -> bool {
        self.put_with_backoff(events, Backoff::linear(BACKOFF_STEP, BACKOFF_MAX))
            .await
    }

    /// Puts a batch, waiting `backoff` after each refusal, until it is committed or the
    /// source is stopped; counts as Flume's sources do. Returns whether it was committed.
    ///
    /// When the channel processor hands a refused batch back (one channel that keeps nothing
    /// of it, no interceptors: [`ChannelProcessor::hands_back`]) the batch is moved into each
    /// attempt and comes back after a refusal, never copied; otherwise each attempt puts a
    /// copy and the source keeps the original, as Flume's sources resend theirs.
    ///
    /// Cancel safety: not cancel safe (an attempt may have committed to some channels).
    pub(crate) async fn put_with_backoff(&mut self, events: Vec<Event>, backoff: Backoff) -> bool {
        matches!(self.put_until(events, backoff, false).await, Put::Committed)
    }

    /// As [`SourceCtx::put_with_backoff`], but with `give_up_if_never_fits` a batch that a
    /// required channel can never take (an event over the file channel's record limit) is
    /// not retried: [`Put::NeverFits`] says why, and the source sets its input aside.
    pub(crate) async fn put_until(
        &mut self,
        events: Vec<Event>,
        backoff: Backoff,
        give_up_if_never_fits: bool,
    ) -> Put {
        self.received(&events);
        self.retry(events, backoff, give_up_if_never_fits).await
    }

    /// Puts several batches that are already there, each its own transaction, committed in
    /// order as one group where the channels share what a commit costs
    /// ([`ChannelProcessor::process_group`]: one fdatasync for a file channel); the batches
    /// from the first refused one on are retried one by one, in order, with Flume's backoff.
    /// A refused batch comes back from the channel processor when it
    /// [`hands_back`](ChannelProcessor::hands_back); only otherwise does the source keep a copy
    /// of the group. Returns whether all were committed (false: the source was stopped first,
    /// or a refused batch was lost to a blocking task that panicked).
    ///
    /// Cancel safety: not cancel safe (an attempt may have committed to some channels).
    pub(crate) async fn put_group_with_retry(&mut self, batches: Vec<Vec<Event>>) -> bool {
        if batches.len() < 2 {
            return match batches.into_iter().next() {
                Some(b) => self.put_with_retry(b).await,
                None => true,
            };
        }
        for b in &batches {
            self.received(b);
        }
        let sizes: Vec<u64> = batches.iter().map(|b| b.len() as u64).collect();
        // A copy only when refused batches do not come back (interceptors, several channels).
        let kept = (!self.router.hands_back()).then(|| batches.clone());
        let mut kept = kept.into_iter().flatten();
        let results = self.router.process_group(batches).await;
        let mut rest = Vec::new();
        for (r, n) in results.into_iter().zip(sizes) {
            let copy = kept.next();
            match r {
                Ok(()) => self.accepted(n),
                Err(rejected) => {
                    if rest.is_empty() {
                        self.counters.add(SourceCounter::ChannelWriteFail, 1);
                        tracing::warn!(source = %self.name, error = %rejected.error, "batch not accepted; retrying");
                    }
                    let Some(back) = rejected.events.or(copy) else {
                        tracing::error!(source = %self.name, error = %rejected.error, "a refused batch was not handed back; giving up on it");
                        return false;
                    };
                    rest.push(back);
                }
            }
        }
        if rest.is_empty() {
            return true;
        }
        let mut backoff = Backoff::linear(BACKOFF_STEP, BACKOFF_MAX);
        if self.stop.sleep(backoff.failed()).await {
            return false;
        }
        for b in rest {
            let fresh = Backoff::linear(BACKOFF_STEP, BACKOFF_MAX);
            if self.retry(b, fresh, false).await != Put::Committed {
                return false;
            }
        }
        true
    }

    /// Counts a batch as received and offers it to the tap.
    fn received(&self, events: &[Event]) {
        self.counters
            .add(SourceCounter::EventReceived, events.len() as u64);
        self.counters.add(SourceCounter::AppendBatchReceived, 1);
        crate::agent::tap::offer(crate::agent::tap::Point::Source, &self.name, events);
    }

    /// Counts a batch of `n` events as accepted by every required channel.
    fn accepted(&self, n: u64) {
        self.counters.add(SourceCounter::EventAccepted, n);
        self.counters.add(SourceCounter::AppendBatchAccepted, 1);
    }

    /// [`SourceCtx::put_until`]'s attempts, for a batch already counted as received.
    async fn retry(
        &mut self,
        events: Vec<Event>,
        mut backoff: Backoff,
        give_up_if_never_fits: bool,
    ) -> Put {
        let n = events.len() as u64;
        let mut batch = events;
        loop {
            let (attempt, kept) = if self.router.hands_back() {
                (batch, None)
            } else {
                (batch.clone(), Some(batch))
            };
            let rejected = match self.router.offer(attempt).await {
                Ok(()) => {
                    self.accepted(n);
                    return Put::Committed;
                }
                Err(r) => r,
            };
            self.counters.add(SourceCounter::ChannelWriteFail, 1);
            if give_up_if_never_fits && rejected.error.never_fits() {
                return Put::NeverFits(rejected.error.to_string());
            }
            let Some(back) = rejected.events.or(kept) else {
                // A channel that hands back always does; this is a broken promise, not a
                // refusal: stop rather than retry with nothing.
                tracing::error!(source = %self.name, error = %rejected.error, "a refused batch was not handed back; giving up on it");
                return Put::Stopped;
            };
            batch = back;
            let wait = backoff.failed();
            tracing::warn!(source = %self.name, error = %rejected.error, backoff_ms = wait.as_millis() as u64, "batch not accepted; retrying");
            if self.stop.sleep(wait).await {
                return Put::Stopped;
            }
        }
    }
}

/// How a retried put ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    /// Committed to every required channel.
    Committed,
    /// The source was stopped first (or the batch was lost to a broken hand-back promise).
    Stopped,
    /// A required channel can never take the batch; why.
    NeverFits(String),
}

impl SourceCtx {
    /// Puts a batch once (the client decides whether to resend); counts the outcome.
    pub(crate) async fn put_once(&mut self, events: Vec<Event>) -> bool {
        let n = events.len() as u64;
        self.counters.add(SourceCounter::EventReceived, n);
        crate::agent::tap::offer(crate::agent::tap::Point::Source, &self.name, &events);
        match self.router.process(events).await {
            Ok(()) => {
                self.counters.add(SourceCounter::EventAccepted, n);
                true
            }
            Err(e) => {
                self.counters.add(SourceCounter::ChannelWriteFail, 1);
                tracing::warn!(source = %self.name, error = %e, "batch not accepted");
                false
            }
        }
    }
}
