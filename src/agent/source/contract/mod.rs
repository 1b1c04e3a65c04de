//! What every source is to the runtime: the [`SourceCtx`] it runs with (its name, router,
//! counters, stop signal, the alarm board), [`SourceError`], the put helpers, and
//! [`BuildSource`], the trait each source's config implements so the runtime starts it
//! without knowing which source it is.
//!
//! The put helpers and [`Put`] are in `put.rs`.

mod put;

use std::sync::Arc;
use std::time::Duration;

use crate::agent::channel::BoxFuture;

use crate::agent::metrics::CounterGroup;
use crate::agent::router::ChannelProcessor;
use crate::agent::stop::Stop;
pub use put::Put;

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

    /// Whether the source can give up input unread (TAILDIR's lines lost to rotation within
    /// its `lossWindow`): its loss gauges then feed the source-degraded alarm.
    fn reports_loss(&self) -> bool {
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
mod tests;

#[cfg(test)]
mod group_tests;
