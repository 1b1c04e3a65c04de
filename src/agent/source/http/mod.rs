//! The `http` source (Flume's `HTTPSource`) on hyper's HTTP/1 server: a POST's body goes
//! through the handler (handler.rs) and its events are put in **one transaction**; the
//! answer is 200 only after every required channel committed them, 400 with the reason for
//! a body the handler refuses, 413 for a body over `maxBodyBytes`, 503 when a channel did
//! not accept the batch (the client should resend), 408 when the body does not arrive
//! within `requestTimeout`. Connections are kept alive; at most `maxConnections` are open
//! (more are closed at once), and `headerReadTimeout` bounds both reading a request's
//! headers and an idle keep-alive connection.
//!
//! With `ssl = true` each connection first completes a TLS handshake (../tls.rs), bounded by
//! [`HANDSHAKE_TIMEOUT`].
//!
//! Delivery: at-least-once for clients that resend on anything but 200 (a 200 is sent only
//! after the commit; a crash before it loses nothing the client was told was accepted).

pub mod config;
pub mod handler;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::tls::{self, HANDSHAKE_TIMEOUT};
use super::{SourceCtx, SourceError};
use crate::agent::metrics::SourceCounter;
pub use config::{HttpConfig, HttpHandler};
use sluice_core::Event;

/// Listens until stopped; open connections finish the request they are serving.
pub async fn run(cfg: HttpConfig, ctx: SourceCtx) -> Result<(), SourceError> {
    let listener = TcpListener::bind((cfg.bind.as_str(), cfg.port))
        .await
        .map_err(|e| ctx.error(format!("cannot listen on {}:{}: {e}", cfg.bind, cfg.port)))?;
    tracing::info!(source = %ctx.name, bind = %cfg.bind, port = cfg.port, "http source listening");
    let acceptor = match &cfg.tls {
        Some(t) => Some(tls::acceptor(t).map_err(|e| ctx.error(e))?),
        None => None,
    };
    let cfg = Arc::new(cfg);
    let permits = Arc::new(Semaphore::new(cfg.max_connections));
    let mut conns = JoinSet::new();
    let mut stop = ctx.stop.clone();
    loop {
        tokio::select! {
            _ = stop.wait() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match permits.clone().try_acquire_owned() {
                    Ok(permit) => {
                        let (cfg, ctx) = (cfg.clone(), ctx.clone());
                        let acceptor = acceptor.clone();
                        let _ = stream.set_nodelay(true);
                        conns.spawn(async move {
                            match acceptor {
                                None => connection(stream, peer, cfg, ctx).await,
                                Some(a) => {
                                    let mut stop = ctx.stop.clone();
                                    let shake = tokio::select! {
                                        _ = stop.wait() => None,
                                        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, a.accept(stream)) => Some(r),
                                    };
                                    match shake {
                                        Some(Ok(Ok(s))) => connection(s, peer, cfg, ctx).await,
                                        Some(Ok(Err(e))) => tracing::warn!(source = %ctx.name, %peer, error = %e, "TLS handshake failed"),
                                        Some(Err(_)) => tracing::warn!(source = %ctx.name, %peer, "TLS handshake timed out"),
                                        None => {}
                                    }
                                }
                            }
                            drop(permit);
                        });
                    }
                    Err(_) => {
                        tracing::warn!(source = %ctx.name, %peer, max = cfg.max_connections, "too many connections; closing the new one");
                    }
                },
                Err(e) => {
                    tracing::warn!(source = %ctx.name, error = %e, "accept failed");
                    if stop.sleep(std::time::Duration::from_millis(100)).await {
                        break;
                    }
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
    Ok(())
}

async fn connection<S>(stream: S, peer: SocketAddr, cfg: Arc<HttpConfig>, ctx: SourceCtx)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut stop = ctx.stop.clone();
    let name = ctx.name.clone();
    let svc_cfg = cfg.clone();
    let service = service_fn(move |req| {
        let (cfg, ctx) = (svc_cfg.clone(), ctx.clone());
        async move { Ok::<_, Infallible>(answer(req, &cfg, &ctx).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(cfg.header_read_timeout)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = stop.wait() => {
            conn.as_mut().graceful_shutdown();
            match tokio::time::timeout(cfg.request_timeout, conn.as_mut()).await {
                Ok(r) => r,
                Err(_) => return,
            }
        }
    };
    if let Err(e) = result {
        tracing::debug!(source = %name, %peer, error = %e, "http connection ended with an error");
    }
}

fn reply(status: StatusCode, text: impl Into<String>) -> Response<Full<Bytes>> {
    let text: String = text.into();
    let mut resp = Response::new(Full::new(Bytes::from(text)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// One request: read the body (bounded in size and time), decode it, commit it, answer.
async fn answer(
    req: Request<Incoming>,
    cfg: &HttpConfig,
    ctx: &SourceCtx,
) -> Response<Full<Bytes>> {
    if req.method() != Method::POST && req.method() != Method::GET {
        let mut r = reply(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("method {} not allowed; POST events\n", req.method()),
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cfg.max_body_bytes as u64) {
        return too_large(cfg, ctx);
    }
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let query = req.uri().query().map(str::to_owned);
    let body = Limited::new(req.into_body(), cfg.max_body_bytes);
    let bytes = match tokio::time::timeout(cfg.request_timeout, body.collect()).await {
        Err(_) => {
            return reply(
                StatusCode::REQUEST_TIMEOUT,
                "request body not received in time\n",
            )
        }
        Ok(Err(e)) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return too_large(cfg, ctx);
            }
            return reply(
                StatusCode::BAD_REQUEST,
                format!("cannot read request body: {e}\n"),
            );
        }
        Ok(Ok(c)) => c.to_bytes(),
    };
    let events: Vec<Event> = match &cfg.handler {
        HttpHandler::Json => match handler::json_events(&bytes, content_type.as_deref()) {
            Ok(ev) => ev,
            Err(reason) => {
                ctx.counters.add(SourceCounter::EventReadFail, 1);
                tracing::warn!(source = %ctx.name, %reason, "bad request");
                return reply(
                    StatusCode::BAD_REQUEST,
                    format!("Bad request from client. {reason}\n"),
                );
            }
        },
        HttpHandler::Blob { max_blob_length } => {
            vec![handler::blob_event(
                &bytes,
                query.as_deref(),
                *max_blob_length,
            )]
        }
    };
    let n = events.len() as u64;
    ctx.counters.add(SourceCounter::AppendBatchReceived, 1);
    ctx.counters.add(SourceCounter::EventReceived, n);
    if n > 0 {
        if let Err(e) = ctx.router.process(events).await {
            ctx.counters.add(SourceCounter::ChannelWriteFail, 1);
            tracing::warn!(source = %ctx.name, error = %e, "batch not accepted; answering 503");
            return reply(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("Error appending event to channel. Channel might be full. {e}\n"),
            );
        }
    }
    ctx.counters.add(SourceCounter::AppendBatchAccepted, 1);
    ctx.counters.add(SourceCounter::EventAccepted, n);
    reply(StatusCode::OK, "")
}

fn too_large(cfg: &HttpConfig, ctx: &SourceCtx) -> Response<Full<Bytes>> {
    ctx.counters.add(SourceCounter::EventReadFail, 1);
    reply(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "request body exceeds maxBodyBytes ({} bytes)\n",
            cfg.max_body_bytes
        ),
    )
}

impl crate::agent::source::BuildSource for HttpConfig {
    fn batch_size(&self) -> usize {
        // One request is one transaction of whatever size the client sent.
        1
    }

    fn run(&self, ctx: crate::agent::source::SourceCtx) -> crate::agent::source::SourceTask {
        Box::pin(run(self.clone(), ctx))
    }
}
