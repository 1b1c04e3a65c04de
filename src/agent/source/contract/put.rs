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
    /// The batch is moved into each attempt and comes back after a refusal
    /// ([`ChannelProcessor::put`]: the router keeps a copy only where interceptors or several
    /// channels need one), as Flume's sources resend theirs.
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
    /// ([`ChannelProcessor::put_group`]: one fdatasync for a file channel); the batches
    /// from the first refused one on come back and are retried one by one, in order, with
    /// Flume's backoff. Returns whether all were committed (false: the source was stopped
    /// first, or a refused batch was lost to a blocking task that panicked).
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
        let results = self.router.put_group(batches).await;
        let mut rest = Vec::new();
        for (r, n) in results.into_iter().zip(sizes) {
            match r {
                Ok(()) => self.accepted(n),
                Err(rejected) => {
                    if rest.is_empty() {
                        self.counters.add(SourceCounter::ChannelWriteFail, 1);
                        tracing::warn!(source = %self.name, error = %rejected.error, "batch not accepted; retrying");
                    }
                    if rejected.lost() {
                        tracing::error!(source = %self.name, error = %rejected.error, "a refused batch was lost with its blocking task; giving up on it");
                        return false;
                    }
                    rest.push(rejected.events);
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
            let rejected = match self.router.put(batch).await {
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
            if rejected.lost() {
                // Lost with a blocking task that panicked: nothing to retry with.
                tracing::error!(source = %self.name, error = %rejected.error, "a refused batch was lost with its blocking task; giving up on it");
                return Put::Stopped;
            }
            batch = rejected.events;
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
    /// The source was stopped first (or the batch was lost with a blocking task that
    /// panicked).
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
