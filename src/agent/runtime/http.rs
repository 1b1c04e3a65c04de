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
//! Every request must name this server in its `Host` header, and one that changes state
//! (`POST /reload`) must not come from another site's page (`Origin`): [`OwnHost`].
//!
//! Served with hyper's HTTP/1 server connection on the agent's tokio runtime: request parsing,
//! keep-alive and pipelining are hyper's, not ours.
//!
//! Limits: the server binds where `flume.monitoring.bind` says ([`BIND_DEFAULT`]: loopback,
//! because the endpoint has no authentication and a port open to the network is a way to
//! use up the agent's descriptors); at most [`CONNECTIONS_MAX`] connections are served at
//! once (more are closed at once); a request's headers must arrive within
//! [`HEADER_READ_TIMEOUT`]; a connection is kept alive for at most
//! [`REQUESTS_PER_CONNECTION_MAX`] requests and [`CONNECTION_TIME_MAX`], then closed
//! gracefully (the request in progress is answered, within [`CLOSE_GRACE`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ACCEPT, CACHE_CONTROL, CONNECTION, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::health::{self, Readiness};
use super::history::{History, SAMPLE_INTERVAL};
use super::own_host::OwnHost;
use super::telemetry::Telemetry;
use crate::agent::alarm::AlarmBoard;
use crate::agent::metrics::Registry;
use crate::agent::prometheus::{self, Format};
use crate::agent::stop::Stop;

/// Where the metrics server listens unless `flume.monitoring.bind` says otherwise.
pub const BIND_DEFAULT: &str = "127.0.0.1";
/// Flume's default `flume.monitoring.port`.
pub const PORT_DEFAULT: u16 = 41414;
/// Connections served at once; scrapers and status pages need one or two each.
pub(crate) const CONNECTIONS_MAX: usize = 16;
/// Time a client has to send a request's headers.
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest life of one keep-alive connection; then it is closed gracefully.
pub(crate) const CONNECTION_TIME_MAX: Duration = Duration::from_secs(60);
/// Requests answered on one connection; the last answer says `Connection: close`.
pub(crate) const REQUESTS_PER_CONNECTION_MAX: u32 = 1_000;
/// Time a connection closed gracefully has to finish the request in progress.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(2);
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
    let slots = Arc::new(Semaphore::new(CONNECTIONS_MAX));
    let state = Arc::new(State {
        registry: metrics,
        alarms,
        ready,
        history: History::default(),
        own,
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
                        let Ok(permit) = slots.clone().try_acquire_owned() else {
                            drop(s);
                            refused += 1;
                            if refused.is_power_of_two() {
                                tracing::warn!(%peer, refused, max = CONNECTIONS_MAX, "metrics server busy; closing new connections");
                            }
                            continue;
                        };
                        let state = state.clone();
                        let stop = stop.clone();
                        tokio::spawn(async move {
                            let _permit = permit;
                            connection(s, peer, state, stop).await;
                        });
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
/// [`CONNECTION_TIME_MAX`], ended at once by `stop`.
async fn connection(s: tokio::net::TcpStream, peer: SocketAddr, state: Arc<State>, mut stop: Stop) {
    let served = Arc::new(AtomicU32::new(0));
    let service = service_fn(move |req| {
        let n = served.fetch_add(1, Ordering::Relaxed) + 1;
        answer(req, peer, state.clone(), n >= REQUESTS_PER_CONNECTION_MAX)
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true)
        .serve_connection(TokioIo::new(s), service);
    let mut conn = std::pin::pin!(conn);
    let ended = tokio::select! {
        _ = stop.wait() => return,
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
fn route(req: &Request<Incoming>, state: &State) -> (StatusCode, &'static str, String) {
    let accept = req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(r) = crate::agent::alarm::http::answer(
        req.method(),
        req.uri().path(),
        req.uri().query(),
        &state.alarms,
    ) {
        return r;
    }
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => match Format::from_accept(accept) {
            Some(f) => (
                StatusCode::OK,
                f.content_type(),
                prometheus::render(&state.registry, f),
            ),
            None => (StatusCode::OK, "application/json", state.registry.to_json()),
        },
        (&Method::GET, "/prometheus") => {
            let f = Format::from_accept(accept).unwrap_or(Format::Text004);
            (
                StatusCode::OK,
                f.content_type(),
                prometheus::render(&state.registry, f),
            )
        }
        (&Method::GET, "/health") => health::health_answer(&state.registry),
        (&Method::GET, "/ready") => health::ready_answer(&state.ready),
        (&Method::GET, "/history") => (StatusCode::OK, "application/json", state.history.to_json()),
        (&Method::GET, "/") => (
            StatusCode::OK,
            "text/html; charset=utf-8",
            STATUS_PAGE.to_owned(),
        ),
        (&Method::TRACE, _) | (&Method::OPTIONS, _) => {
            (StatusCode::FORBIDDEN, "text/plain", String::new())
        }
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found\n".to_owned(),
        ),
    }
}

/// A full answer or the tap's stream.
type AnswerBody = http_body_util::Either<Full<Bytes>, super::tap_http::TapBody>;

async fn answer(
    req: Request<Incoming>,
    peer: SocketAddr,
    state: Arc<State>,
    last: bool,
) -> Result<Response<AnswerBody>, Infallible> {
    use super::tap_http::TapAnswer;
    // The read-only pages (metrics, the status page, health) answer any Host, so a scrape
    // by any name keeps working; the tap (events) and anything that changes state answer
    // only requests meant for this server.
    let guarded = !matches!(*req.method(), Method::GET | Method::HEAD)
        || req.uri().path().starts_with("/tap")
        || req.uri().path().starts_with("/reload");
    let own = if guarded {
        state.own.check(req.method(), req.headers())
    } else {
        Ok(())
    };
    if let Err(why) = own {
        return Ok(full(
            StatusCode::FORBIDDEN,
            "text/plain",
            format!("{why}\n"),
            true,
        ));
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
            return Ok(resp);
        }
        (Some(TapAnswer::Refused(status, text)), _) => (status, "text/plain", text),
        (None, Some(r)) => r,
        (None, None) => route(&req, &state),
    };
    Ok(full(status, ctype, body, last))
}

/// A whole answer; `last` closes the connection after it.
fn full(status: StatusCode, ctype: &'static str, body: String, last: bool) -> Response<AnswerBody> {
    let mut resp = Response::new(http_body_util::Either::Left(Full::new(Bytes::from(body))));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if last {
        h.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}
