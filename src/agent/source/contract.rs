//! What every source is to the runtime: the [`SourceCtx`] it runs with (its name, router,
//! counters, stop signal, the alarm board), [`SourceError`], the put helpers, and
//! [`BuildSource`], the trait each source's config implements so the runtime starts it
//! without knowing which source it is.

use std::sync::Arc;
use std::time::Duration;

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
}

/// A source failed and should be restarted.
#[derive(Debug, thiserror::Error)]
#[error("source {source_name}: {message}")]
pub struct SourceError {
    /// The source.
    pub source_name: String,
    /// What happened.
    pub message: String,
}

impl SourceCtx {
    /// An error of this source.
    pub fn error(&self, message: impl std::fmt::Display) -> SourceError {
        SourceError {
            source_name: self.name.clone(),
            message: message.to_string(),
        }
    }

    /// Puts a batch, retrying with Flume's backoff (1 s more per failure, at most 5 s) until
    /// it is committed or the source is stopped. Returns whether it was committed.
    pub async fn put_with_retry(&mut self, events: Vec<Event>) -> bool {
        let n = events.len() as u64;
        self.counters.add(SourceCounter::EventReceived, n);
        self.counters.add(SourceCounter::AppendBatchReceived, 1);
        let mut backoff = Duration::ZERO;
        loop {
            match self.router.process(events.clone()).await {
                Ok(()) => {
                    self.counters.add(SourceCounter::EventAccepted, n);
                    self.counters.add(SourceCounter::AppendBatchAccepted, 1);
                    return true;
                }
                Err(e) => {
                    self.counters.add(SourceCounter::ChannelWriteFail, 1);
                    backoff = (backoff + BACKOFF_STEP).min(BACKOFF_MAX);
                    tracing::warn!(source = %self.name, error = %e, backoff_ms = backoff.as_millis() as u64, "batch not accepted; retrying");
                    if self.stop.sleep(backoff).await {
                        return false;
                    }
                }
            }
        }
    }
}

impl SourceCtx {
    /// Puts a batch once (the client decides whether to resend); counts the outcome.
    pub async fn put_once(&mut self, events: Vec<Event>) -> bool {
        let n = events.len() as u64;
        self.counters.add(SourceCounter::EventReceived, n);
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

    /// Runs the source until it is stopped (`Ok`) or fails (`Err`: the supervisor restarts
    /// it with a fresh `ctx`).
    fn run(&self, ctx: SourceCtx) -> SourceTask;
}
