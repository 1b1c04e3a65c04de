//! What every source is to the runtime: the [`SourceCtx`] it runs with (its name, router,
//! counters, stop signal, the alarm board), [`SourceError`], the put helpers, and
//! [`BuildSource`], the trait each source's config implements so the runtime starts it
//! without knowing which source it is.

use std::sync::Arc;
use std::time::Duration;

use crate::agent::backoff::Backoff;
use crate::agent::channel::BoxFuture;

use crate::agent::metrics::CounterGroup;
use crate::agent::metrics::SourceCounter;
use crate::agent::router::ChannelProcessor;
use crate::agent::stop::Stop;
use sluice_core::Event;

/// Flume's pollable-source backoff step after a failed put.
pub const BACKOFF_STEP: Duration = Duration::from_secs(1);
/// Flume's longest pollable-source backoff.
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// What a running source needs.
#[derive(Debug, Clone)]
pub struct SourceCtx {
    /// The source name.
    pub name: String,
    /// Where its batches go.
    pub router: Arc<ChannelProcessor>,
    /// Its counters.
    pub counters: Arc<CounterGroup>,
    /// Set when the source must finish.
    pub stop: Stop,
    /// The agent's alarm board (RPC sources remember their upstreams there).
    pub alarms: Arc<crate::agent::alarm::AlarmBoard>,
    /// Says when the source accepts input: a network source once its sockets are bound,
    /// any other as it starts (`SourceKind::run` does it for them).
    pub ready: super::ready::Ready,
}

/// What kind of failure a [`SourceError`] is; it decides how soon the source is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceErrorKind {
    /// Its socket could not be bound (the port may be freed).
    Bind,
    /// Local I/O failed (a directory it reads, a process it runs, a state file).
    Disk,
    /// The peer it reads from failed (a broker).
    Peer,
    /// Its configuration cannot work (an unreadable TLS key, an empty command): a restart
    /// without a change cannot help.
    Config,
    /// Its worker task was lost (a panic).
    Internal,
    /// Not classified.
    Other,
}

impl SourceErrorKind {
    /// Whether a restart may succeed without a change of configuration.
    pub fn retryable(self) -> bool {
        !matches!(self, SourceErrorKind::Config)
    }
}

/// A source failed and should be restarted; its [`SourceErrorKind`] says how soon
/// (`runtime::supervise`). `Display` is `source NAME: WHY`.
#[derive(Debug, thiserror::Error)]
#[error("source {source_name}: {source}")]
pub struct SourceError {
    /// The source.
    pub source_name: String,
    /// What kind of failure.
    pub kind: SourceErrorKind,
    /// What happened.
    #[source]
    pub source: crate::agent::component::BoxError,
}

impl SourceError {
    /// What kind of failure this is.
    pub fn kind(&self) -> SourceErrorKind {
        self.kind
    }

    /// Whether a restart may succeed without a change ([`SourceErrorKind::retryable`]).
    pub fn retryable(&self) -> bool {
        self.kind.retryable()
    }
}

impl SourceCtx {
    /// An error of this source, of kind `kind`, caused by `source` (an error or a sentence).
    pub(crate) fn fail(
        &self,
        kind: SourceErrorKind,
        source: impl Into<crate::agent::component::BoxError>,
    ) -> SourceError {
        SourceError {
            source_name: self.name.clone(),
            kind,
            source: source.into(),
        }
    }

    /// An error of this source, not classified ([`SourceErrorKind::Other`]).
    pub(crate) fn error(&self, message: impl std::fmt::Display) -> SourceError {
        self.fail(SourceErrorKind::Other, message.to_string())
    }

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
    /// Returns whether all were committed (false: the source was stopped first).
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
        let results = self.router.process_group(batches.clone()).await;
        let mut rest = Vec::new();
        for (b, r) in batches.into_iter().zip(results) {
            match r {
                Ok(()) => self.accepted(b.len() as u64),
                Err(e) => {
                    if rest.is_empty() {
                        self.counters.add(SourceCounter::ChannelWriteFail, 1);
                        tracing::warn!(source = %self.name, error = %e, "batch not accepted; retrying");
                    }
                    rest.push(b);
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

/// A running source: ends `Ok` when stopped, `Err` when it failed.
pub type SourceTask = BoxFuture<'static, Result<(), SourceError>>;

/// What the runtime needs of a source's typed configuration (Vector's `SourceConfig`): its
/// batch size, for the checks against the channels, and how to run it.
pub trait BuildSource: std::fmt::Debug + Send + Sync {
    /// Events per channel transaction.
    fn batch_size(&self) -> usize;

    /// Whether the source remembers its upstreams for the upstream-gone alarm (the RPC
    /// sources).
    fn tracks_upstreams(&self) -> bool {
        false
    }

    /// Whether the source listens on sockets: it says it accepts input only once they are
    /// bound (through `SourceCtx::ready`); any other source is ready as it starts.
    fn listens(&self) -> bool {
        false
    }

    /// Runs the source until it is stopped (`Ok`) or fails (`Err`: the supervisor restarts
    /// it with a fresh `ctx`).
    fn run(&self, ctx: SourceCtx) -> SourceTask;
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::agent::channel::instrumented::Instrumented;
    use crate::agent::channel::memory::{MemoryChannel, MemoryConfig};
    use crate::agent::channel::{put_batch, AgentChannel};
    use crate::agent::component::props_of;
    use crate::agent::interceptor::config::InterceptorSpec;
    use crate::agent::router::Wiring;
    use crate::agent::selector::ChannelSelector;

    /// A source wired to channel `c1` alone, with the given interceptors.
    pub(super) struct OneChannel(Vec<InterceptorSpec>, Vec<String>, ChannelSelector);

    impl Wiring for OneChannel {
        fn interceptors(&self) -> &[InterceptorSpec] {
            &self.0
        }
        fn selector(&self) -> &ChannelSelector {
            &self.2
        }
        fn channels(&self) -> &[String] {
            &self.1
        }
    }

    /// Source `r1` putting through `router`, with its counters and its stop handle.
    pub(super) fn ctx_for(
        router: Arc<ChannelProcessor>,
    ) -> (SourceCtx, Arc<CounterGroup>, crate::agent::stop::StopHandle) {
        let (handle, stop) = crate::agent::stop::channel();
        let counters = CounterGroup::source();
        let ctx = SourceCtx {
            name: "r1".into(),
            router,
            counters: counters.clone(),
            stop,
            alarms: Arc::default(),
            ready: crate::agent::source::ready::Ready::detached(),
        };
        (ctx, counters, handle)
    }

    pub(super) fn wiring(interceptors: Vec<InterceptorSpec>) -> OneChannel {
        let channels = vec!["c1".to_owned()];
        let selector = ChannelSelector::from_props(&BTreeMap::new(), &channels).unwrap();
        OneChannel(interceptors, channels, selector)
    }

    /// A memory channel of capacity 2 already holding two events: every put is refused at once.
    async fn full_channel() -> Arc<dyn AgentChannel> {
        let cfg = MemoryConfig::sized(2, 10, Duration::ZERO);
        let ch: Arc<dyn AgentChannel> =
            Arc::new(Instrumented::new(Arc::new(MemoryChannel::new("c1", cfg))));
        put_batch(ch.as_ref(), old()).await.unwrap();
        ch
    }

    fn old() -> Vec<Event> {
        vec![Event::new("old 1"), Event::new("old 2")]
    }

    fn batch() -> Vec<Event> {
        vec![Event::new("a").header("h", "1"), Event::new("b")]
    }

    async fn take_all(ch: &dyn AgentChannel) -> Vec<Event> {
        let mut tx = ch.begin();
        let got = tx.take_up_to(100).await.unwrap();
        tx.commit().await.unwrap();
        got
    }

    #[tokio::test]
    async fn a_full_channel_hands_the_refused_batch_back_whole() {
        let ch = full_channel().await;
        let chans = BTreeMap::from([("c1".to_owned(), ch.clone())]);
        let router = ChannelProcessor::new(&wiring(Vec::new()), &chans).unwrap();
        assert!(router.hands_back());
        let rejected = router.offer(batch()).await.unwrap_err();
        assert!(
            matches!(
                rejected.error.channel_error(),
                Some(crate::agent::channel::AgentChannelError::Full { .. })
            ),
            "{:?}",
            rejected.error
        );
        assert_eq!(rejected.events, Some(batch()));
        assert_eq!(take_all(ch.as_ref()).await, old());
    }

    /// Retries `batch()` into a full channel, drains it once the source has been refused, and
    /// answers what the channel then holds and what the source counted.
    async fn retried_into_a_full_channel(
        interceptors: Vec<InterceptorSpec>,
    ) -> (bool, Vec<Event>, u64) {
        let ch = full_channel().await;
        let chans = BTreeMap::from([("c1".to_owned(), ch.clone())]);
        let router = Arc::new(ChannelProcessor::new(&wiring(interceptors), &chans).unwrap());
        let (mut ctx, counters, _stop_handle) = ctx_for(router);
        let backoff = Backoff::linear(Duration::from_millis(20), Duration::from_millis(20));
        let put = tokio::spawn(async move { ctx.put_with_backoff(batch(), backoff).await });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while counters.count(SourceCounter::ChannelWriteFail) == 0 {
            assert!(tokio::time::Instant::now() < deadline, "never refused");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(take_all(ch.as_ref()).await, old());
        let committed = tokio::time::timeout(Duration::from_secs(10), put)
            .await
            .expect("the refused batch was never committed")
            .unwrap();
        let accepted = counters.count(SourceCounter::EventAccepted);
        (committed, take_all(ch.as_ref()).await, accepted)
    }

    #[tokio::test]
    async fn a_refused_batch_is_retried_until_committed_once_and_unchanged() {
        let (committed, held, accepted) = retried_into_a_full_channel(Vec::new()).await;
        assert!(committed);
        assert_eq!(held, batch());
        assert_eq!(accepted, 2);
    }

    #[tokio::test]
    async fn with_interceptors_the_source_keeps_its_own_copy_and_each_attempt_is_intercepted_once()
    {
        let spec = InterceptorSpec {
            name: "i1".into(),
            kind: "static".into(),
            props: props_of(&[("type", "static"), ("key", "k"), ("value", "v")]),
        };
        let (committed, held, accepted) = retried_into_a_full_channel(vec![spec]).await;
        assert!(committed);
        let want: Vec<Event> = batch().into_iter().map(|e| e.header("k", "v")).collect();
        assert_eq!(held, want);
        assert_eq!(accepted, 2);
    }
}

#[cfg(test)]
#[path = "contract_group_tests.rs"]
mod group_tests;
