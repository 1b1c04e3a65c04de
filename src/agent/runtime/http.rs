//! Flume's JSON metrics reporter (`-Dflume.monitoring.type=http`): `GET /metrics` returns
//! every component's counters as `{"SOURCE.r1": {"EventReceivedCount": "3", ...}}`.
//!
//! Served with hyper's HTTP/1 server connection on the agent's tokio runtime: request parsing,
//! keep-alive and pipelining are hyper's, not ours.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::agent::metrics::Registry;
use crate::agent::stop::Stop;

/// Binds the metrics server (port 0 picks a free port); returns the bound address and the
/// serving task, which ends when `stop` is set.
pub async fn serve(
    port: u16,
    registry: Arc<Registry>,
    mut stop: Stop,
) -> std::io::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(("0.0.0.0", port)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.wait() => return,
                r = listener.accept() => if let Ok((s, _)) = r {
                    let registry = registry.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |req| answer(req, registry.clone()));
                        // One request per connection, as before: scrapers reconnect anyway.
                        if let Err(e) = http1::Builder::new()
                            .keep_alive(false)
                            .serve_connection(TokioIo::new(s), service)
                            .await
                        {
                            tracing::debug!(error = %e, "metrics connection ended with an error");
                        }
                    });
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
