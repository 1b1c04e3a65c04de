//! The metrics HTTP server (`-Dflume.monitoring.type=http`).
//!
//! Routes ([`route`]):
//! - `GET /metrics`: Flume's JSON (`{"SOURCE.r1": {"EventReceivedCount": "3", ...}}`),
//!   byte for byte as Flume's tools expect, unless the `Accept` header asks for the
//!   Prometheus text format 0.0.4 or OpenMetrics: then the [Prometheus exposition](crate::agent::prometheus).
//! - `GET /prometheus`: the Prometheus exposition always (OpenMetrics when asked for, else 0.0.4).
//! - `GET /`: the status page (one HTML file, no external assets).
//! - `GET /history`: the recent samples the status page charts ([`History`]).
//! - `GET /health`: 200 while every channel and sink is healthy, else 503 naming each
//!   unhealthy component and why; `GET /ready`: 503 until the agent has started, then 200
//!   ([`super::health`]).
//! - `GET /tap`: the live tap's sample of events as JSON lines ([`super::tap_http`]; off unless
//!   `-Dflume.monitoring.tap=loopback|any`).
//! - `POST /reload`: re-read the configuration now ([`super::reload`]; loopback peers only
//!   unless `-Dflume.monitoring.reload=any`).
//!
//! Every request, reads included, must name this server in its `Host` header (a page of
//! another site reaching the server through DNS rebinding names its own host), and one that
//! changes state (`POST /reload`) must not come from another site's page (`Origin`):
//! [`OwnHost`]. Reads check the name only, so a port-mapped or proxied server keeps answering
//! its scrapers; the tap and `POST`s check the port too.
//!
//! Served with hyper's HTTP/1 server connection on the agent's tokio runtime: request parsing,
//! keep-alive and pipelining are hyper's, not ours.
//!
//! Limits: the server binds where `flume.monitoring.bind` says ([`BIND_DEFAULT`]: loopback,
//! because the endpoint has no authentication and a port open to the network is a way to
//! use up the agent's descriptors). At most [`CONNECTIONS_MAX`] connections are served at
//! once, plus [`PROBE_CONNECTIONS_MAX`] kept for `/health` and `/ready`; a new connection
//! takes the slot of the connection idle the longest rather than being refused
//! ([`super::http_slots`]), so idle and kept-alive connections never keep a probe out. A
//! request's headers must arrive within [`HEADER_READ_TIMEOUT`] (a kept-alive connection is
//! closed after that long without a request); a connection is kept alive for at most
//! [`REQUESTS_PER_CONNECTION_MAX`] requests and [`CONNECTION_TIME_MAX`], then closed
//! gracefully (the request in progress is answered, within [`CLOSE_GRACE`]). `/metrics`,
//! `/prometheus` and `/history` are rendered one at a time on a blocking thread, taking at
//! most a twentieth of one core, never stale ([`super::scrape`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ACCEPT, CACHE_CONTROL, CONNECTION, CONTENT_TYPE, HOST};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::health::{self, Readiness};
use super::history::{History, SAMPLE_INTERVAL};
use super::http_slots::{Budget, Slot, Slots};
pub(crate) use super::http_slots::{CONNECTIONS_MAX, PROBE_CONNECTIONS_MAX};
use super::own_host::OwnHost;
use super::scrape::{Kind, Renders};
use super::telemetry::Telemetry;
use crate::agent::alarm::AlarmBoard;
use crate::agent::log_text;
use crate::agent::metrics::Registry;
use crate::agent::prometheus::{self, Format};
use crate::agent::stop::Stop;

/// Where the metrics server listens unless `flume.monitoring.bind` says otherwise.
pub const BIND_DEFAULT: &str = "127.0.0.1";
/// Flume's default `flume.monitoring.port`.
pub const PORT_DEFAULT: u16 = 41414;
/// Time a client has to send a request's headers.
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest life of one keep-alive connection; then it is closed gracefully.
pub(crate) const CONNECTION_TIME_MAX: Duration = Duration::from_secs(60);
/// Requests answered on one connection; the last answer says `Connection: close`.
pub(crate) const REQUESTS_PER_CONNECTION_MAX: u32 = 1_000;
/// Time a connection closed gracefully has to finish the request in progress.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// The most characters of a refused request's `Host` or path a log line shows.
const SHOWN_MAX: usize = 128;
/// Pause after a failed accept (e.g. EMFILE) so the loop does not spin.
pub(crate) const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The status page (inline CSS and JavaScript; it polls `/metrics`, `/history`, `/alarms`).
pub(crate) const STATUS_PAGE: &str = include_str!("status.html");

/// What the request handlers read.
#[derive(Debug)]
struct State {
    registry: Arc<Registry>,
    alarms: Arc<AlarmBoard>,
    ready: Arc<Readiness>,
    history: History,
    own: OwnHost,
    renders: Arc<Renders>,
    /// Requests refused for their `Host` or `Origin` (logged at powers of two).
    refused_own: AtomicU64,
}

/// Binds the metrics server on `bind:port` (port 0 picks a free port); returns the bound
/// address and the serving task, which ends when `stop` is set (open connections end too).
/// A sampler task fills the status page's history every [`SAMPLE_INTERVAL`] meanwhile.
/// `hosts` is `flume.monitoring.hosts`: more names the server answers to ([`OwnHost`]).
pub async fn serve(
    bind: &str,
    port: u16,
    hosts: Option<&str>,
    telemetry: impl Into<Telemetry>,
    mut stop: Stop,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let Telemetry {
        metrics,
        alarms,
        ready,
    } = telemetry.into();
    let listener = TcpListener::bind((bind, port)).await?;
    let addr = listener.local_addr()?;
    let own = OwnHost::new(bind, addr.port(), hosts);
    let slots = Arc::new(Slots::default());
    let state = Arc::new(State {
        registry: metrics,
        alarms,
        ready,
        history: History::default(),
        own,
        renders: Arc::new(Renders::default()),
        refused_own: AtomicU64::new(0),
    });
    let sampler = {
        let state = state.clone();
        let mut stop = stop.clone();
        async move {
            loop {
                state.history.sample(&state.registry);
                if stop.sleep(SAMPLE_INTERVAL).await {
                    return;
                }
            }
        }
    };
    let task = tokio::spawn(async move {
        let sampler = tokio::spawn(sampler);
        let mut refused = 0u64;
        loop {
            tokio::select! {
                _ = stop.wait() => break,
                r = listener.accept() => match r {
                    Ok((s, peer)) => {
                        let Some(slot) = slots.admit() else {
                            drop(s);
                            refused += 1;
                            if refused.is_power_of_two() {
                                tracing::warn!(%peer, refused, max = CONNECTIONS_MAX, probes = PROBE_CONNECTIONS_MAX, "metrics server busy: every connection has a request in progress; closing new connections");
                            }
                            continue;
                        };
                        let state = state.clone();
                        let stop = stop.clone();
                        tokio::spawn(connection(s, peer, state, stop, Arc::new(slot)));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "metrics server: accept failed");
                        if stop.sleep(ACCEPT_ERROR_PAUSE).await {
                            break;
                        }
                    }
                },
            }
        }
        sampler.abort();
    });
    Ok((addr, task))
}

/// Serves one connection: keep-alive within [`REQUESTS_PER_CONNECTION_MAX`] and
/// [`CONNECTION_TIME_MAX`] (one request on a probe slot), ended at once by `stop` or when a
/// new connection takes its slot while it is idle.
async fn connection(
    s: tokio::net::TcpStream,
    peer: SocketAddr,
    state: Arc<State>,
    mut stop: Stop,
    slot: Arc<Slot>,
) {
    let served = Arc::new(AtomicU32::new(0));
    let probe = slot.budget() == Budget::Probe;
    let per_connection = if probe {
        1
    } else {
        REQUESTS_PER_CONNECTION_MAX
    };
    let on = slot.clone();
    let service = service_fn(move |req| {
        let n = served.fetch_add(1, Ordering::Relaxed) + 1;
        let busy = on.busy();
        let (state, last) = (state.clone(), n >= per_connection);
        async move {
            let (resp, streams) = answer(req, peer, state, last, probe).await;
            if streams {
                busy.keep();
            }
            Ok::<_, Infallible>(resp)
        }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(!probe)
        .serve_connection(TokioIo::new(s), service);
    let mut conn = std::pin::pin!(conn);
    let ended = tokio::select! {
        _ = stop.wait() => return,
        // Taken only while idle: no request is cut.
        _ = slot.evicted() => return,
        r = tokio::time::timeout(CONNECTION_TIME_MAX, conn.as_mut()) => r.ok(),
    };
    let r = match ended {
        Some(r) => r,
        None => {
            conn.as_mut().graceful_shutdown();
            match tokio::time::timeout(CLOSE_GRACE, conn).await {
                Ok(r) => r,
                Err(_) => {
                    tracing::debug!("metrics connection did not close in time; dropped");
                    return;
                }
            }
        }
    };
    if let Err(e) = r {
        tracing::debug!(error = %e, "metrics connection ended with an error");
    }
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
async fn answer(
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
