//! Sources: `netcat` and `avro` (event driven: one task per connection), `seq` (polling),
//! `exec` (a child process's output lines), `syslogtcp`/`multiport_syslogtcp`/`syslogudp`
//! (syslog/), `http` (http/), `netcatudp`, `spooldir` (files dropped into a directory),
//! `TAILDIR` (files followed as they grow) and `kafka` (a consumer in a consumer group). Each
//! runs until its [`Stop`] is set, finishing the batch it is putting; an `Err` makes the
//! supervisor restart it.

pub mod atomic_file;
pub mod avro;
pub mod budget;
pub mod decoders;
pub mod exec;
pub mod file_lines;
pub mod http;
pub mod kafka;
pub mod lines;
pub mod netcat;
pub mod netcat_udp;
pub mod peer;
pub mod ready;
pub mod refusals;
pub mod seq;
pub mod spooldir;
pub mod syslog;
pub mod taildir;
pub mod tls;
pub mod udp;

use std::sync::Arc;
use std::time::Duration;

use crate::agent::config::SourceKind;
use crate::agent::metrics::CounterGroup;
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
    /// any other as it starts ([`run`] does it for them).
    pub ready: ready::Ready,
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
        self.counters.add("EventReceivedCount", n);
        self.counters.add("AppendBatchReceivedCount", 1);
        let mut backoff = Duration::ZERO;
        loop {
            match self.router.process(events.clone()).await {
                Ok(()) => {
                    self.counters.add("EventAcceptedCount", n);
                    self.counters.add("AppendBatchAcceptedCount", 1);
                    return true;
                }
                Err(e) => {
                    self.counters.add("ChannelWriteFail", 1);
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
        self.counters.add("EventReceivedCount", n);
        match self.router.process(events).await {
            Ok(()) => {
                self.counters.add("EventAcceptedCount", n);
                true
            }
            Err(e) => {
                self.counters.add("ChannelWriteFail", 1);
                tracing::warn!(source = %self.name, error = %e, "batch not accepted");
                false
            }
        }
    }
}

/// Runs a source until it is stopped (`Ok`) or fails (`Err`).
pub async fn run(kind: SourceKind, ctx: SourceCtx) -> Result<(), SourceError> {
    if !kind.listens() {
        ctx.ready.accepting();
    }
    match kind {
        SourceKind::Netcat(c) => netcat::run(c, ctx).await,
        SourceKind::Seq(c) => seq::run(c, ctx).await,
        SourceKind::Exec(c) => exec::run(c, ctx).await,
        SourceKind::SyslogTcp(c) | SourceKind::MultiportSyslogTcp(c) => {
            syslog::tcp::run(c, ctx).await
        }
        SourceKind::SyslogUdp(c) => syslog::udp::run(c, ctx).await,
        SourceKind::Http(c) => http::run(c, ctx).await,
        SourceKind::NetcatUdp(c) => netcat_udp::run(c, ctx).await,
        SourceKind::Avro(c) => avro::run(c, ctx).await,
        SourceKind::SpoolDir(c) => spooldir::run(c, ctx).await,
        SourceKind::Taildir(c) => taildir::run(c, ctx).await,
        SourceKind::Kafka(c) => kafka::run(*c, ctx).await,
        SourceKind::Java(c) => {
            crate::agent::java::source::run(
                c.class,
                ctx.name,
                c.props,
                ctx.router,
                ctx.counters,
                ctx.stop,
            )
            .await;
            Ok(())
        }
    }
}
