//! The metrics HTTP server (`-Dflume.monitoring.type=http`).
//!
//! Routes ([`super::http_answer`]):
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

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::history::{History, SAMPLE_INTERVAL};
use super::http_answer::{answer, State};
use super::http_slots::{Budget, Slot, Slots};
pub(crate) use super::http_slots::{CONNECTIONS_MAX, PROBE_CONNECTIONS_MAX};
use super::own_host::OwnHost;
use super::scrape::Renders;
use super::telemetry::Telemetry;
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
/// Pause after a failed accept (e.g. EMFILE) so the loop does not spin.
pub(crate) const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

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
