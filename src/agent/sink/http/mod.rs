//! The `http` sink (Flume 1.8's `HttpSink`): each event body is POSTed to `endpoint` with
//! `contentTypeHeader` / `acceptHeader`, one event per take transaction as in Flume. The
//! status code decides through `rollback.CODE` / `backoff.CODE` / `incrementMetrics.CODE`
//! (CODE an exact code like `503` or a class like `5XX`; the exact code wins), falling back
//! to `defaultRollback` / `defaultBackoff` / `defaultIncrementMetrics`. Where no rule names
//! it, a 2XX answer is a success (Sluice: Flume's defaults would roll a 200 back). Rollback
//! fails the batch (the runner rolls back and backs off); backoff without rollback commits
//! and then backs off ([`Delivery::CommitAndBackOff`], Flume's `BACKOFF`).
//!
//! Sluice: an answer in [`POISON_CODES`](config::POISON_CODES) (400 Bad Request, 413 Content Too Large) that no
//! `rollback.CODE` rule names (exact or class) refuses the event itself, so it is a poison
//! event ([`super::poison`]): counted, logged and dropped or dead-lettered, never retried
//! (Flume rolls it back and retries it forever).
//!
//! Built on hyper's client with rustls (ring; Mozilla's roots) for `https://`: hyper is the
//! project's HTTP stack already, and rustls needs no system OpenSSL. Connecting is bounded
//! by `connectTimeout`, the whole exchange (request and reading the answer) by
//! `requestTimeout`; an answer body is read up to [`RESPONSE_BYTES_MAX`].

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::{Delivery, Poisoned, SinkError, SinkErrorKind};
use sluice_core::Event;

mod config;

pub(crate) use config::parse;
pub use config::HttpConfig;

/// Most bytes of an answer body read (the rest is dropped with the connection).
pub(crate) const RESPONSE_BYTES_MAX: usize = 1024 * 1024;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The `http` sink.
pub struct HttpSink {
    name: String,
    cfg: HttpConfig,
    client: HttpsClient,
    poisoned: Vec<Poisoned>,
}

impl std::fmt::Debug for HttpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSink")
            .field("name", &self.name)
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl HttpSink {
    /// A sink posting to `cfg.endpoint`.
    pub fn new(name: &str, cfg: HttpConfig) -> HttpSink {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(cfg.connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).build(https);
        HttpSink {
            name: name.to_owned(),
            cfg,
            client,
            poisoned: Vec::new(),
        }
    }

    async fn post(&self, e: &Event) -> Result<u16, PostError> {
        let endpoint = || self.cfg.endpoint.clone();
        let mut req = hyper::Request::post(&self.cfg.endpoint)
            .header(hyper::header::CONTENT_TYPE, &self.cfg.content_type)
            .header(hyper::header::ACCEPT, &self.cfg.accept);
        // A resend after a crash carries the same key: the receiver can drop it
        // (docs/exactly-once.md).
        if let Some(id) = e.headers.get(sluice_core::dedup::EVENT_ID_HEADER) {
            req = req.header("Idempotency-Key", id);
        }
        let req = req
            .body(Full::new(e.body.clone()))
            .map_err(|source| PostError::Request {
                endpoint: endpoint(),
                source,
            })?;
        let exchange = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|source| PostError::Exchange {
                    endpoint: endpoint(),
                    source,
                })?;
            let code = resp.status().as_u16();
            // Read (a bounded part of) the answer so the connection can be reused.
            let _ = Limited::new(resp.into_body(), RESPONSE_BYTES_MAX)
                .collect()
                .await;
            Ok::<u16, PostError>(code)
        };
        match tokio::time::timeout(self.cfg.request_timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(PostError::Timeout {
                endpoint: endpoint(),
                ms: self.cfg.request_timeout.as_millis() as u64,
            }),
        }
    }

    /// Posts each event. Returns `Ok` (the take commits) unless a status code's rule says
    /// roll back, or the request failed or timed out; `Ok(CommitAndBackOff)` when a status's
    /// rule says back off without rolling back (Flume's `BACKOFF` after a commit; the http
    /// sink's batch is one event, as in Flume). Cancel safety: cancelling may leave an event
    /// delivered whose take then rolls back (sent again: at least once).
    pub async fn deliver(&mut self, events: &[Event]) -> Result<Delivery, SinkError> {
        let mut delivery = Delivery::Done;
        self.poisoned.clear();
        for e in events {
            let code = self
                .post(e)
                .await
                .map_err(|e| e.into_sink_error(&self.name))?;
            if self.cfg.poisons(code) {
                self.poisoned.push(Poisoned {
                    event: e.clone(),
                    reason: format!(
                        "{} answered {code}: the event itself is refused (set rollback.{code} = true to retry it instead)",
                        self.cfg.endpoint
                    ),
                });
                continue;
            }
            let d = self.cfg.decide(code);
            if d.rollback {
                return Err(SinkError::peer(
                    self.name.clone(),
                    format!(
                        "{} answered {code}; rolling back (rollback.{code} or defaultRollback)",
                        self.cfg.endpoint
                    ),
                ));
            }
            if d.backoff {
                tracing::debug!(sink = %self.name, code, "committing, then backing off (backoff.{code} or defaultBackoff)");
                delivery = Delivery::CommitAndBackOff;
            }
            if !(200..300).contains(&code) {
                tracing::warn!(sink = %self.name, code, "answer is not 2XX; committed as the rules say");
            }
        }
        Ok(delivery)
    }

    /// The poison events of the last `deliver`.
    pub fn take_poisoned(&mut self) -> Vec<Poisoned> {
        std::mem::take(&mut self.poisoned)
    }
}

/// Why a POST got no status code.
#[derive(Debug, thiserror::Error)]
enum PostError {
    /// The request could not be built from the event.
    #[error("bad request for {endpoint}: {source}")]
    Request {
        endpoint: String,
        #[source]
        source: hyper::http::Error,
    },
    /// Connecting, sending or reading the answer failed.
    #[error("POST {endpoint}: {source}")]
    Exchange {
        endpoint: String,
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    /// No answer within `requestTimeout`.
    #[error("POST {endpoint}: no answer within requestTimeout ({ms} ms)")]
    Timeout { endpoint: String, ms: u64 },
}

impl PostError {
    /// The sink's error: a bad request is the event's configuration (it never goes), a
    /// failed connect is [`SinkErrorKind::Connect`], any other failed exchange the peer's.
    fn into_sink_error(self, sink: &str) -> SinkError {
        let kind = match &self {
            PostError::Request { .. } => SinkErrorKind::Config,
            PostError::Exchange { source, .. } if source.is_connect() => SinkErrorKind::Connect,
            PostError::Exchange { .. } => SinkErrorKind::Peer,
            PostError::Timeout { .. } => SinkErrorKind::Timeout,
        };
        SinkError::new(sink, kind, self)
    }
}

impl crate::agent::sink::Sink for HttpSink {
    fn take_poisoned(&mut self) -> Vec<crate::agent::sink::Poisoned> {
        HttpSink::take_poisoned(self)
    }

    fn deliver(
        &mut self,
        events: Vec<Event>,
    ) -> crate::agent::channel::BoxFuture<'_, Result<Delivery, SinkError>> {
        Box::pin(async move { HttpSink::deliver(self, &events).await })
    }
}

impl crate::agent::sink::BuildSink for HttpConfig {
    /// One event per take transaction, as in Flume.
    fn batch_size(&self) -> usize {
        1
    }

    fn build(&self, name: &str) -> Box<dyn crate::agent::sink::Sink> {
        Box::new(HttpSink::new(name, self.clone()))
    }
}
