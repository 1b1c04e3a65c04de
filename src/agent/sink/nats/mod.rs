//! The `nats` sink (Sluice's own): each take's events are published to JetStream, each
//! event one message (`message.rs`: the body as the payload, the headers as NATS headers,
//! `Nats-Msg-Id` = the event id), and the take commits only after the server acknowledged
//! every one of them.
//!
//! With `exactlyOnce` (the default) a take is one atomic batch (`batch.rs`) that also carries,
//! per origin of its events, a progress record saying which ids of that origin the stream
//! now holds (`progress.rs`), fenced with `Nats-Expected-Last-Subject-Sequence` on the
//! record's subject. Before publishing, the sink drops the events the records say are stored
//! (`exactly.rs`). The records are signed with the sink's key (`progress_key.rs`); one that
//! does not verify is refused, named and counted (`ProgressRecordRefusedCount`), never used
//! to drop an event, and events dropped as stored count as `EventAlreadyStoredCount`, not as
//! drained. So a batch whose PubAck was lost, a crash between the server's commit
//! and the channel's, or a restart days later stores nothing twice, however long after the
//! stream's `duplicate_window` it comes. The argument is docs/nats.md's.
//!
//! Without it (`exactlyOnce = false`) every message is a plain JetStream publish and the
//! PubAcks are awaited together: at least once, deduplicated by the server only within the
//! stream's `duplicate_window`.
//!
//! The client (`async-nats`) reconnects by itself across `url`'s servers and those the
//! cluster announces; while it has no server the gauge `ConnectionDownMillis` grows, which
//! `/health` reports, and each batch fails after `request-timeout` and is retried.

pub(crate) mod batch;
mod check;
pub(crate) mod config;
mod exactly;
pub(crate) mod message;
pub(crate) mod progress;
pub(crate) mod progress_key;

use std::collections::HashMap;
use std::sync::Arc;

use async_nats::jetstream::stream::Stream;
use async_nats::Client;

pub(crate) use config::NatsSinkConfig;
use progress::{Progress, Ranges};
use progress_key::ProgressKey;

use super::{Delivery, Poisoned, SinkError, SinkErrorKind};
use crate::agent::channel::BoxFuture;
use crate::agent::metrics::{CounterGroup, SinkCounter};
use crate::agent::nats::{connect, DownSince};
use crate::agent::stop::Stop;
use sluice_core::Event;

/// One `nats` sink.
pub(crate) struct NatsSink {
    name: String,
    cfg: NatsSinkConfig,
    client: Option<Client>,
    /// The checked stream (with `stream` set).
    stream: Option<Stream>,
    /// The checked stream's `max_msg_size`, when it has one.
    stream_max: Option<usize>,
    counters: Option<Arc<CounterGroup>>,
    down: DownSince,
    /// Per origin, its progress record as last read or written (none: read it first).
    progress: HashMap<u64, Progress>,
    /// Per origin, what this sink's own acknowledged records said before it forgot them (a
    /// record read back that does not verify is replaced by this, not by nothing).
    known: HashMap<u64, Ranges>,
    /// The key the records are signed with (read at the first prepare).
    key: Option<ProgressKey>,
    /// Events the last delivery dropped as already stored.
    already_stored: u64,
    poisoned: Vec<Poisoned>,
    /// The last reason `prepare` failed and when it was logged (the runner logs a failed
    /// prepare only at debug).
    last_refusal: Option<(String, std::time::Instant)>,
}

/// Least time between two log lines of the same reason the sink cannot start.
const REFUSAL_LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

impl std::fmt::Debug for NatsSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSink")
            .field("name", &self.name)
            .field("subject", &self.cfg.subject)
            .field("stream", &self.cfg.stream)
            .finish_non_exhaustive()
    }
}

impl NatsSink {
    /// A sink that connects on its first [`prepare`](Self::prepare).
    pub(crate) fn new(name: &str, cfg: NatsSinkConfig) -> Self {
        NatsSink {
            name: name.to_owned(),
            cfg,
            client: None,
            stream: None,
            stream_max: None,
            counters: None,
            down: DownSince::default(),
            progress: HashMap::new(),
            known: HashMap::new(),
            key: None,
            already_stored: 0,
            poisoned: Vec::new(),
            last_refusal: None,
        }
    }

    fn err(&self, kind: SinkErrorKind, why: impl std::fmt::Display) -> SinkError {
        SinkError::new(self.name.clone(), kind, why.to_string())
    }

    fn count(&self, c: SinkCounter) {
        if let Some(g) = &self.counters {
            g.add(c, 1);
        }
    }

    /// Connects if there is no client, and checks the stream if it is not checked yet.
    /// Cancel safe (a connection half made is dropped).
    async fn prepare(&mut self) -> Result<(), SinkError> {
        if self.key.is_none() && self.cfg.exactly_once {
            let source = self.cfg.progress_key.clone();
            let loaded = tokio::task::spawn_blocking(move || progress_key::load(&source))
                .await
                .map_err(|e| self.err(SinkErrorKind::Config, e))?;
            match loaded {
                Ok(k) => self.key = Some(k),
                Err(why) => {
                    self.refused(&why);
                    return Err(self.err(SinkErrorKind::Config, why));
                }
            }
        }
        if self.client.is_none() {
            let who = format!("sink {}", self.name);
            match connect(&who, &self.cfg.conn, self.down.clone()).await {
                Ok(c) => {
                    self.count(SinkCounter::ConnectionCreated);
                    self.client = Some(c);
                }
                Err(why) => {
                    self.count(SinkCounter::ConnectionFailed);
                    self.refused(&why);
                    return Err(self.err(SinkErrorKind::Connect, why));
                }
            }
        }
        if self.stream.is_none() {
            if let (Some(name), Some(client)) = (self.cfg.stream.clone(), self.client.clone()) {
                match check::check_stream(&self.cfg, &client, &name).await {
                    Ok(s) => {
                        self.down.up();
                        tracing::info!(sink = %self.name, stream = %name, exactly_once = self.cfg.exactly_once, "stream checked");
                        self.stream_max = usize::try_from(s.cached_info().config.max_message_size)
                            .ok()
                            .filter(|m| *m > 0);
                        self.stream = Some(s);
                    }
                    Err(why) => {
                        self.down.down();
                        self.refused(&why);
                        return Err(self.err(SinkErrorKind::Config, why));
                    }
                }
            }
        }
        Ok(())
    }

    /// Logs why the sink cannot start: at once when the reason is new, else every
    /// [`REFUSAL_LOG_INTERVAL`].
    fn refused(&mut self, why: &dyn std::fmt::Display) {
        self.down.down_because(why);
        let why = why.to_string();
        let now = std::time::Instant::now();
        let quiet = self
            .last_refusal
            .as_ref()
            .is_some_and(|(w, at)| *w == why && now.duration_since(*at) < REFUSAL_LOG_INTERVAL);
        if !quiet {
            tracing::error!(sink = %self.name, "cannot deliver: {why}");
            self.last_refusal = Some((why, now));
        }
    }

    /// The largest message the server (its `INFO`'s `max_payload`) and the stream
    /// (`max_msg_size`) take: a larger event is poison ([`message::to_msg_within`]).
    fn limit(&self) -> Option<message::Limit> {
        let server = self.client.as_ref().map(|c| {
            let info = c.server_info();
            message::Limit {
                bytes: info.max_payload,
                whose: format!(
                    "max_payload of server {} ({}:{})",
                    info.server_name, info.host, info.port
                ),
            }
        });
        let stream = self.stream_max.map(|bytes| message::Limit {
            bytes,
            whose: format!(
                "max_msg_size of stream {:?}",
                self.cfg.stream.as_deref().unwrap_or("")
            ),
        });
        [server, stream]
            .into_iter()
            .flatten()
            .filter(|l| l.bytes > 0)
            .min_by_key(|l| l.bytes)
    }

    /// Marks the connection down when the client has no server (the `/health` gauge; the
    /// client's own events mark it up again).
    fn down_if_disconnected(&self) {
        if let Some(c) = &self.client {
            if c.connection_state() != async_nats::connection::State::Connected {
                self.down.down();
            }
        }
    }

    /// Publishes `events` one by one and awaits every PubAck (`exactlyOnce = false`).
    async fn deliver_plain(&mut self, events: Vec<Event>) -> Result<Delivery, SinkError> {
        let Some(client) = self.client.clone() else {
            return Err(self.err(SinkErrorKind::Connect, "not connected"));
        };
        let js = async_nats::jetstream::new(client);
        let mut acks = Vec::with_capacity(events.len());
        let limit = self.limit();
        for e in &events {
            match message::to_msg_within(&self.cfg.subject, e, limit.as_ref()) {
                Ok(m) => acks.push(
                    js.publish_with_headers(m.subject, m.headers, m.payload)
                        .await
                        .map_err(|e| self.err(SinkErrorKind::Peer, e))?,
                ),
                Err(reason) => self.poisoned.push(Poisoned {
                    event: e.clone(),
                    reason: reason.to_string(),
                }),
            }
        }
        for ack in acks {
            ack.await.map_err(|e| self.err(SinkErrorKind::Peer, e))?;
        }
        Ok(Delivery::Done)
    }
}

impl super::Sink for NatsSink {
    fn attach(&mut self, counters: Arc<CounterGroup>, _stop: Stop) {
        self.down.gauge(&counters);
        self.counters = Some(counters);
    }

    fn prepare(&mut self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(NatsSink::prepare(self))
    }

    fn deliver(&mut self, events: Vec<Event>) -> BoxFuture<'_, Result<Delivery, SinkError>> {
        Box::pin(async move {
            self.poisoned.clear();
            self.already_stored = 0;
            self.prepare().await?;
            if self.cfg.exactly_once {
                exactly::deliver(self, events).await
            } else {
                self.deliver_plain(events).await
            }
        })
    }

    fn take_poisoned(&mut self) -> Vec<Poisoned> {
        std::mem::take(&mut self.poisoned)
    }

    fn take_already_stored(&mut self) -> u64 {
        std::mem::take(&mut self.already_stored)
    }

    fn stop(&mut self) -> BoxFuture<'_, ()> {
        let client = self.client.take();
        if client.is_some() {
            self.count(SinkCounter::ConnectionClosed);
        }
        Box::pin(async move {
            if let Some(c) = client {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(2), c.flush()).await;
            }
        })
    }
}

impl super::BuildSink for NatsSinkConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn build(&self, name: &str) -> Box<dyn super::Sink> {
        Box::new(NatsSink::new(name, self.clone()))
    }
}

#[cfg(test)]
mod tests;
