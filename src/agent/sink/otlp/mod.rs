//! The `otlp` sink (Sluice's own): each take's events become one `ExportLogsServiceRequest`
//! (the reverse of the otlp source's mapping, written straight from the events by
//! `agent::otlp::ExportBatch`, so Sluice → Sluice keeps every header and body), exported over gRPC or HTTP/protobuf (send.rs), plain or TLS
//! with the avro sink's keys through one connector (dial.rs). The take
//! commits only after the receiver's `OK`; a transport failure, a timeout or a retryable
//! status rolls it back and the runner backs off (1 s more each time, up to 5 s) and sends it
//! again. Records the receiver rejects through `partial_success` are poison (counted, logged,
//! dead-lettered with `deadLetter.directory`): exactly those a Sluice source names by index
//! (partial.rs); every event when as many records were rejected as sent; none (a warning) when
//! another receiver gives only a smaller count. A batch refused as a whole (gRPC
//! `INVALID_ARGUMENT`, HTTP 400) is poison too. A batch refused as too large (HTTP 413, gRPC
//! `OUT_OF_RANGE` or "larger than max") is split in halves and sent again, down to the one
//! event the receiver refuses alone, which is poison: the rest are delivered (issue 87).

pub(crate) mod config;
pub(crate) mod dial;
pub(crate) mod partial;
pub(crate) mod send;

use std::sync::Arc;

pub(crate) use config::OtlpSinkConfig;
use send::{Client, Outcome};

use super::contract::BoxError;
use super::{Delivery, Poisoned, SinkError, SinkErrorKind};
use crate::agent::channel::BoxFuture;
use crate::agent::metrics::{CounterGroup, SinkCounter};
use crate::agent::otlp::ExportBatch;
use crate::agent::stop::Stop;
use sluice_core::Event;

/// The `otlp` sink.
#[derive(Debug)]
pub(crate) struct OtlpSink {
    name: String,
    cfg: OtlpSinkConfig,
    client: Option<Client>,
    counters: Option<Arc<CounterGroup>>,
    poisoned: Vec<Poisoned>,
}

impl OtlpSink {
    /// A sink exporting to `cfg.endpoint`.
    pub(crate) fn new(name: &str, cfg: OtlpSinkConfig) -> OtlpSink {
        OtlpSink {
            name: name.to_owned(),
            cfg,
            client: None,
            counters: None,
            poisoned: Vec::new(),
        }
    }

    fn err(&self, kind: SinkErrorKind, e: impl Into<BoxError>) -> SinkError {
        SinkError::new(self.name.clone(), kind, e)
    }

    fn count(&self, c: SinkCounter) {
        if let Some(g) = &self.counters {
            g.add(c, 1);
        }
    }

    /// Exports `events`; `Ok` lets the take commit (with the rejected events in
    /// `self.poisoned`). A part refused as too large is split and sent again
    /// ([`Outcome::TooLarge`]); a failure of any part fails the take (the parts already
    /// accepted come again: at least once).
    async fn export(&mut self, events: Vec<Event>) -> Result<Delivery, SinkError> {
        self.poisoned.clear();
        if events.is_empty() {
            return Ok(Delivery::Done);
        }
        if self.client.is_none() {
            let c = Client::new(&self.cfg).map_err(|e| self.err(SinkErrorKind::Config, e))?;
            self.client = Some(c);
            self.count(SinkCounter::ConnectionCreated);
        }
        let mut parts = vec![events];
        while let Some(part) = parts.pop() {
            let batch = Arc::new(ExportBatch::new(part.into()));
            let outcome = match self.client.as_mut() {
                Some(c) => c.export(&batch, &self.cfg).await,
                None => Outcome::Retry("no client".into()),
            };
            let events = batch.events();
            match outcome {
                Outcome::Retry(why) => {
                    self.poisoned.clear();
                    self.count(SinkCounter::ConnectionFailed);
                    return Err(self.err(SinkErrorKind::Peer, why));
                }
                Outcome::TooLarge(why) if events.len() > 1 => {
                    tracing::info!(sink = %self.name, events = events.len(), reason = %why, "the receiver refused a batch as too large; sending it again in halves");
                    let (a, b) = events.split_at(events.len() / 2);
                    // Popped last-in first: the first half goes first.
                    parts.push(b.to_vec());
                    parts.push(a.to_vec());
                }
                Outcome::Refused(why) | Outcome::TooLarge(why) => {
                    self.poisoned.extend(events.iter().map(|event| Poisoned {
                        event: event.clone(),
                        reason: why.clone(),
                    }));
                }
                Outcome::Accepted(resp) => {
                    if let Some(p) = resp.partial_success {
                        self.rejected(&p, batch.order(), events);
                    }
                }
            }
        }
        Ok(Delivery::Done)
    }

    /// The events a `partial_success` names, into `self.poisoned`.
    fn rejected(
        &mut self,
        p: &crate::agent::otlp::proto::ExportLogsPartialSuccess,
        order: &[usize],
        events: &[Event],
    ) {
        let why = crate::agent::log_text::escape(&p.error_message).into_owned();
        match partial::rejected_events(p, order) {
            Some(idx) => {
                let rejected: Vec<Poisoned> = idx
                    .into_iter()
                    .filter_map(|i| events.get(i))
                    .map(|e| Poisoned {
                        event: e.clone(),
                        reason: format!(
                            "the receiver rejected the record (partial_success): {why}"
                        ),
                    })
                    .collect();
                self.poisoned.extend(rejected);
            }
            None => {
                tracing::warn!(sink = %self.name, rejected = p.rejected_log_records, reason = %why, "the receiver rejected records without naming them; they cannot be dead-lettered");
            }
        }
    }
}

impl super::Sink for OtlpSink {
    fn attach(&mut self, counters: Arc<CounterGroup>, _stop: Stop) {
        self.counters = Some(counters);
    }

    fn deliver(&mut self, events: Vec<Event>) -> BoxFuture<'_, Result<Delivery, SinkError>> {
        Box::pin(self.export(events))
    }

    fn take_poisoned(&mut self) -> Vec<Poisoned> {
        std::mem::take(&mut self.poisoned)
    }
}

impl super::BuildSink for OtlpSinkConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn build(&self, name: &str) -> Box<dyn super::Sink> {
        Box::new(OtlpSink::new(name, self.clone()))
    }
}
