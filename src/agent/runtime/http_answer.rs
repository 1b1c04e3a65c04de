//! Answering one request of the metrics server ([`super::http`]): the `Host`/`Origin` check
//! ([`OwnHost`]), the probe slot's `/health`-and-`/ready`-only answer, the tap's stream and
//! `POST /reload`, then the routes ([`route`]): the alarms, `/metrics` and `/prometheus`
//! (rendered paced, [`super::scrape`]), `/history`, `/health`, `/ready` and the status page.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ACCEPT, CACHE_CONTROL, CONNECTION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Response, StatusCode};

use super::health::{self, Readiness};
use super::history::History;
use super::own_host::OwnHost;
use super::scrape::{Kind, Renders};
use crate::agent::alarm::AlarmBoard;
use crate::agent::log_text;
use crate::agent::metrics::Registry;
use crate::agent::prometheus::{self, Format};

/// The most characters of a refused request's `Host` or path a log line shows.
const SHOWN_MAX: usize = 128;

/// The status page (inline CSS and JavaScript; it polls `/metrics`, `/history`, `/alarms`).
pub(crate) const STATUS_PAGE: &str = include_str!("status.html");

/// What the request handlers read.
#[derive(Debug)]
pub(super) struct State {
    pub(super) registry: Arc<Registry>,
    pub(super) alarms: Arc<AlarmBoard>,
    pub(super) ready: Arc<Readiness>,
    pub(super) history: History,
    pub(super) own: OwnHost,
    pub(super) renders: Arc<Renders>,
    /// Requests refused for their `Host` or `Origin` (logged at powers of two).
    pub(super) refused_own: AtomicU64,
}

/// What a request gets: status, content type, body.
async fn route(req: &Request<Incoming>, state: &Arc<State>) -> (StatusCode, &'static str, Bytes) {
    let accept = req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some((status, ctype, body)) = crate::agent::alarm::http::answer(
        req.method(),
        req.uri().path(),
        req.uri().query(),
        &state.alarms,
    ) {
        return (status, ctype, Bytes::from(body));
    }
    let (status, ctype, body) = match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => {
            let f = Format::from_accept(accept);
            let ctype = f.map_or("application/json", Format::content_type);
            return rendered(state, f.map_or(Kind::Json, kind_of), ctype).await;
        }
        (&Method::GET, "/prometheus") => {
            let f = Format::from_accept(accept).unwrap_or(Format::Text004);
            return rendered(state, kind_of(f), f.content_type()).await;
        }
        (&Method::GET, "/history") => {
            return rendered(state, Kind::History, "application/json").await;
        }
        (&Method::GET, "/health") => health::health_answer(&state.registry),
        (&Method::GET, "/ready") => health::ready_answer(&state.ready),
        (&Method::GET, "/") => {
            return (
                StatusCode::OK,
                "text/html; charset=utf-8",
                Bytes::from_static(STATUS_PAGE.as_bytes()),
            )
        }
        (&Method::TRACE, _) | (&Method::OPTIONS, _) => {
            (StatusCode::FORBIDDEN, "text/plain", String::new())
        }
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found\n".to_owned(),
        ),
    };
    (status, ctype, Bytes::from(body))
}

/// The render kind of an exposition format.
fn kind_of(f: Format) -> Kind {
    match f {
        Format::OpenMetrics => Kind::OpenMetrics,
        Format::Text004 => Kind::Text004,
    }
}

/// A body rendered through [`Renders`] (one at a time, paced, on a blocking thread).
async fn rendered(
    state: &Arc<State>,
    kind: Kind,
    ctype: &'static str,
) -> (StatusCode, &'static str, Bytes) {
    let s = state.clone();
    let render = move || match kind {
        Kind::Json => s.registry.to_json(),
        Kind::OpenMetrics => prometheus::render(&s.registry, Format::OpenMetrics),
        Kind::Text004 => prometheus::render(&s.registry, Format::Text004),
        Kind::History => s.history.to_json(),
    };
    match state.renders.body(kind, render).await {
        Ok(body) => (StatusCode::OK, ctype, body),
        Err(e) => {
            tracing::error!(error = %e, "metrics server");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain",
                Bytes::from(format!("{e}\n")),
            )
        }
    }
}

/// What a connection on a probe slot answers: `/health` and `/ready`, else that the server
/// is busy.
fn probe_only(req: &Request<Incoming>) -> Option<(StatusCode, &'static str, Bytes)> {
    let path = req.uri().path();
    let probe = matches!(*req.method(), Method::GET | Method::HEAD)
        && (path == "/health" || path == "/ready");
    (!probe).then(|| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            Bytes::from_static(
                b"the metrics server is busy: every connection has a request in progress; \
                  this connection answers only /health and /ready\n",
            ),
        )
    })
}

/// A full answer or the tap's stream.
type AnswerBody = http_body_util::Either<Full<Bytes>, super::tap_http::TapBody>;

/// The answer to one request, and whether it is a stream that keeps the connection busy.
pub(super) async fn answer(
    req: Request<Incoming>,
    peer: SocketAddr,
    state: Arc<State>,
    last: bool,
    probe: bool,
) -> (Response<AnswerBody>, bool) {
    use super::tap_http::TapAnswer;
    // Every request must name this server; reads only by name (a scraper through a mapped
    // port keeps working), the tap (events) and anything that changes state by port too.
    let reads = matches!(*req.method(), Method::GET | Method::HEAD)
        && !req.uri().path().starts_with("/tap")
        && !req.uri().path().starts_with("/reload");
    let own = if reads {
        state.own.check_name(req.headers())
    } else {
        state.own.check(req.method(), req.headers())
    };
    if let Err(why) = own {
        let n = state.refused_own.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            let host = req.headers().get(HOST).map_or(&b""[..], |h| h.as_bytes());
            let (host, path) = (shown(host), shown(req.uri().path().as_bytes()));
            tracing::warn!(%peer, %host, %path, refused = n, "metrics server: {why}; refused (403)");
        }
        let body = Bytes::from(format!("{why}\n"));
        return (full(StatusCode::FORBIDDEN, "text/plain", body, true), false);
    }
    if probe {
        if let Some((status, ctype, body)) = probe_only(&req) {
            return (full(status, ctype, body, true), false);
        }
    }
    let tap = super::tap_http::answer(req.method(), req.uri().path(), req.uri().query(), peer);
    let reload = match tap {
        Some(_) => None,
        None => super::reload::answer(req.method(), req.uri().path(), Some(peer)).await,
    };
    let (status, ctype, body) = match (tap, reload) {
        (Some(TapAnswer::Stream(body)), _) => {
            let mut resp = Response::new(http_body_util::Either::Right(body));
            let h = resp.headers_mut();
            h.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            );
            h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(CONNECTION, HeaderValue::from_static("close"));
            return (resp, true);
        }
        (Some(TapAnswer::Refused(status, text)), _) => (status, "text/plain", Bytes::from(text)),
        (None, Some((status, ctype, text))) => (status, ctype, Bytes::from(text)),
        (None, None) => route(&req, &state).await,
    };
    (full(status, ctype, body, last), false)
}

/// Peer text for a log line: escaped, at most [`SHOWN_MAX`] characters.
fn shown(text: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(text)
        .chars()
        .take(SHOWN_MAX)
        .collect();
    log_text::escape(&text).into_owned()
}

/// A whole answer; `last` closes the connection after it.
fn full(status: StatusCode, ctype: &'static str, body: Bytes, last: bool) -> Response<AnswerBody> {
    let mut resp = Response::new(http_body_util::Either::Left(Full::new(body)));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if last {
        h.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}
