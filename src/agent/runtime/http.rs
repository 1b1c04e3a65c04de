//! Flume's JSON metrics reporter (`-Dflume.monitoring.type=http`): `GET /metrics` returns
//! every component's counters as `{"SOURCE.r1": {"EventReceivedCount": "3", ...}}`.
//!
//! Served with hyper's HTTP/1 server connection on the agent's tokio runtime: request parsing,
//! keep-alive and pipelining are hyper's, not ours.
//!
//! Limits: the server binds where `flume.monitoring.bind` says ([`BIND_DEFAULT`]: loopback,
//! because the endpoint has no authentication and a port open to the network is a way to
//! use up the agent's descriptors); at most [`CONNECTIONS_MAX`] connections are served at
//! once (more are closed at once); a request's headers must arrive within
//! [`HEADER_READ_TIMEOUT`] and a whole connection ends after [`CONNECTION_TIME_MAX`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::agent::metrics::Registry;
use crate::agent::stop::Stop;

/// Where the metrics server listens unless `flume.monitoring.bind` says otherwise.
pub const BIND_DEFAULT: &str = "127.0.0.1";
/// Flume's default `flume.monitoring.port`.
pub const PORT_DEFAULT: u16 = 41414;
/// Connections served at once; scrapers need one or two.
pub const CONNECTIONS_MAX: usize = 16;
/// Time a client has to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest life of one connection (request and response).
pub const CONNECTION_TIME_MAX: Duration = Duration::from_secs(15);
/// Pause after a failed accept (e.g. EMFILE) so the loop does not spin.
pub const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Binds the metrics server on `bind:port` (port 0 picks a free port); returns the bound
/// address and the serving task, which ends when `stop` is set (open connections end too).
pub async fn serve(
    bind: &str,
    port: u16,
    registry: Arc<Registry>,
    mut stop: Stop,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind((bind, port)).await?;
    let addr = listener.local_addr()?;
    let slots = Arc::new(Semaphore::new(CONNECTIONS_MAX));
    let task = tokio::spawn(async move {
        let mut refused = 0u64;
        loop {
            tokio::select! {
                _ = stop.wait() => return,
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
                        let registry = registry.clone();
                        let mut stop = stop.clone();
                        tokio::spawn(async move {
                            let _permit = permit;
                            let service = service_fn(move |req| answer(req, registry.clone()));
                            // One request per connection, as before: scrapers reconnect anyway.
                            let conn = http1::Builder::new()
                                .timer(TokioTimer::new())
                                .header_read_timeout(HEADER_READ_TIMEOUT)
                                .keep_alive(false)
                                .serve_connection(TokioIo::new(s), service);
                            tokio::select! {
                                _ = stop.wait() => {}
                                r = tokio::time::timeout(CONNECTION_TIME_MAX, conn) => match r {
                                    Ok(Ok(())) => {}
                                    Ok(Err(e)) => tracing::debug!(error = %e, "metrics connection ended with an error"),
                                    Err(_) => tracing::debug!("metrics connection took too long; closed"),
                                },
                            }
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "metrics server: accept failed");
                        if stop.sleep(ACCEPT_ERROR_PAUSE).await {
                            return;
                        }
                    }
                },
            }
        }
    });
    Ok((addr, task))
}

async fn answer(
    req: Request<Incoming>,
    registry: Arc<Registry>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if let Some((status, ctype, body)) = crate::agent::alarm::http::answer(
        req.method(),
        req.uri().path(),
        req.uri().query(),
        &registry,
    ) {
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        *resp.status_mut() = status;
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
        return Ok(resp);
    }
    let (status, ctype, body) = match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => (StatusCode::OK, "application/json", registry.to_json()),
        (&Method::GET, "/") => (
            StatusCode::OK,
            "text/html",
            "<a href=\"/metrics\">metrics</a>".to_owned(),
        ),
        (&Method::TRACE, _) | (&Method::OPTIONS, _) => {
            (StatusCode::FORBIDDEN, "text/plain", String::new())
        }
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found\n".to_owned(),
        ),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    Ok(resp)
}
