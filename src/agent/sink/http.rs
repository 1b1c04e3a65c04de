//! The `http` sink (Flume 1.8's `HttpSink`): each event body is POSTed to `endpoint` with
//! `contentTypeHeader` / `acceptHeader`, one event per take transaction as in Flume. The
//! status code decides through `rollback.CODE` / `backoff.CODE` / `incrementMetrics.CODE`
//! (CODE an exact code like `503` or a class like `5XX`; the exact code wins), falling back
//! to `defaultRollback` / `defaultBackoff` / `defaultIncrementMetrics`. Where no rule names
//! it, a 2XX answer is a success (Sluice: Flume's defaults would roll a 200 back). Rollback
//! fails the batch (the runner rolls back and backs off); backoff without rollback commits
//! and then backs off ([`Delivery::CommitAndBackOff`], Flume's `BACKOFF`).
//!
//! Sluice: an answer in [`POISON_CODES`] (400 Bad Request, 413 Content Too Large) that no
//! `rollback.CODE` rule names (exact or class) refuses the event itself, so it is a poison
//! event ([`super::poison`]): counted, logged and dropped or dead-lettered, never retried
//! (Flume rolls it back and retries it forever).
//!
//! Built on hyper's client with rustls (ring; Mozilla's roots) for `https://`: hyper is the
//! project's HTTP stack already, and rustls needs no system OpenSSL. Connecting is bounded
//! by `connectTimeout`, the whole exchange (request and reading the answer) by
//! `requestTimeout`; an answer body is read up to [`RESPONSE_BYTES_MAX`].

use std::collections::BTreeMap;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::{Delivery, Poisoned, SinkError, SinkErrorKind};
use crate::agent::config::ctx::Ctx;
use crate::agent::config::limits::DURATION_MS_MAX;
use sluice_core::Event;

/// Most bytes of an answer body read (the rest is dropped with the connection).
pub(crate) const RESPONSE_BYTES_MAX: usize = 1024 * 1024;

/// Status codes that refuse the event itself (unless a `rollback.CODE` rule names them).
pub(crate) const POISON_CODES: [u16; 2] = [400, 413];

/// What to do for a status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decision {
    /// Roll the take back (the event is sent again).
    pub rollback: bool,
    /// Back off before the next attempt.
    pub backoff: bool,
    /// Count the event as drained in the metrics.
    pub increment_metrics: bool,
}

/// `http` sink settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// `endpoint`: an `http://` or `https://` URL.
    pub endpoint: String,
    /// `connectTimeout` (default 5000 ms).
    pub connect_timeout: Duration,
    /// `requestTimeout` (default 5000 ms).
    pub request_timeout: Duration,
    /// `contentTypeHeader` (default `text/plain`).
    pub content_type: String,
    /// `acceptHeader` (default `text/plain`).
    pub accept: String,
    /// `defaultBackoff` (default true).
    pub default_backoff: bool,
    /// `defaultRollback` (default true).
    pub default_rollback: bool,
    /// `defaultIncrementMetrics` (default false).
    pub default_increment_metrics: bool,
    /// `backoff.CODE`, `rollback.CODE`, `incrementMetrics.CODE`: (kind, code) -> value.
    pub rules: BTreeMap<(String, String), bool>,
}

impl HttpConfig {
    fn rule(&self, kind: &str, code: u16) -> Option<bool> {
        let exact = code.to_string();
        let class = format!("{}XX", code / 100);
        self.rules
            .get(&(kind.to_owned(), exact))
            .or_else(|| self.rules.get(&(kind.to_owned(), class)))
            .copied()
    }

    /// Whether an answer `code` makes the event poison: a code of [`POISON_CODES`] that no
    /// `rollback` rule names.
    pub(crate) fn poisons(&self, code: u16) -> bool {
        POISON_CODES.contains(&code) && self.rule("rollback", code).is_none()
    }

    /// The decision for a status code.
    pub(crate) fn decide(&self, code: u16) -> Decision {
        let ok = (200..300).contains(&code);
        Decision {
            rollback: self
                .rule("rollback", code)
                .unwrap_or(!ok && self.default_rollback),
            backoff: self
                .rule("backoff", code)
                .unwrap_or(!ok && self.default_backoff),
            increment_metrics: self
                .rule("incrementMetrics", code)
                .unwrap_or(ok || self.default_increment_metrics),
        }
    }
}

/// Reads an `http` sink's properties.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<HttpConfig> {
    let endpoint = cx
        .required("endpoint")
        .and_then(|e| match e.parse::<hyper::Uri>() {
            Ok(u)
                if matches!(u.scheme_str(), Some("http") | Some("https")) && u.host().is_some() =>
            {
                Some(e)
            }
            _ => {
                cx.error(
                    "endpoint",
                    format!("expected an http:// or https:// URL, got {e:?}"),
                );
                None
            }
        });
    let mut rules = BTreeMap::new();
    let keys: Vec<String> = cx.comp().props.keys().cloned().collect();
    for k in keys {
        let Some((kind, code)) = k.split_once('.') else {
            continue;
        };
        if !matches!(kind, "backoff" | "rollback" | "incrementMetrics") {
            continue;
        }
        let valid = code.len() == 3
            && code.as_bytes()[0].is_ascii_digit()
            && (code[1..].eq_ignore_ascii_case("XX")
                || code[1..].bytes().all(|b| b.is_ascii_digit()));
        if !valid {
            cx.get(&k);
            cx.error(&k, format!("expected a status code like 503 or a class like 5XX after {kind}., got {code:?}"));
            continue;
        }
        let v = cx.bool(&k, false);
        rules.insert((kind.to_owned(), code.to_ascii_uppercase()), v);
    }
    // Every key is read before a refused endpoint ends the build (fields run in order).
    Some(HttpConfig {
        connect_timeout: Duration::from_millis(cx.u64("connectTimeout", 5000, 1, DURATION_MS_MAX)),
        request_timeout: Duration::from_millis(cx.u64("requestTimeout", 5000, 1, DURATION_MS_MAX)),
        content_type: cx
            .get("contentTypeHeader")
            .unwrap_or_else(|| "text/plain".into()),
        accept: cx
            .get("acceptHeader")
            .unwrap_or_else(|| "text/plain".into()),
        default_backoff: cx.bool("defaultBackoff", true),
        default_rollback: cx.bool("defaultRollback", true),
        default_increment_metrics: cx.bool("defaultIncrementMetrics", false),
        rules,
        endpoint: endpoint?,
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(rules: &[(&str, &str, bool)]) -> HttpConfig {
        HttpConfig {
            endpoint: "http://127.0.0.1:1/".into(),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            content_type: "text/plain".into(),
            accept: "text/plain".into(),
            default_backoff: true,
            default_rollback: true,
            default_increment_metrics: false,
            rules: rules
                .iter()
                .map(|(k, c, v)| ((k.to_string(), c.to_string()), *v))
                .collect(),
        }
    }

    #[test]
    fn an_exact_code_rule_wins_over_its_class_and_the_defaults() {
        let c = cfg(&[
            ("rollback", "4XX", false),
            ("rollback", "429", true),
            ("backoff", "4XX", false),
        ]);
        assert!(!c.decide(400).rollback);
        assert!(c.decide(429).rollback);
        assert!(!c.decide(404).backoff);
        assert!(
            c.decide(503).rollback && c.decide(503).backoff,
            "defaults for 5XX"
        );
        let ok = c.decide(200);
        assert!(!ok.rollback && !ok.backoff && ok.increment_metrics);
        let c = cfg(&[("rollback", "2XX", true)]);
        assert!(c.decide(204).rollback, "a rule can make even 2XX roll back");
    }

    #[test]
    fn a_400_or_413_poisons_the_event_unless_a_rollback_rule_names_it() {
        let c = cfg(&[]);
        assert!(c.poisons(400) && c.poisons(413));
        assert!(!c.poisons(404) && !c.poisons(503) && !c.poisons(200));
        assert!(!cfg(&[("rollback", "400", true)]).poisons(400));
        assert!(!cfg(&[("rollback", "4XX", false)]).poisons(413));
        assert!(cfg(&[("backoff", "4XX", false)]).poisons(413));
    }
}
