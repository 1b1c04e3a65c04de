//! The `http` source (Flume's `HTTPSource`) on hyper's HTTP/1 server: a POST's body goes
//! through the handler (handler.rs, json.rs; request.rs reads, decodes and commits it) and
//! its events are put in **one transaction**; the answer is 200 only after every required
//! channel committed them, 400 with the reason for a body the handler refuses, 413 for a
//! body over `maxBodyBytes` or a JSON body over `maxEventsPerRequest` or whose events would
//! take more than half of `maxInflightBytes`, 503 when a channel did not accept the batch or
//! the source's in-flight budget stayed taken (the client should resend), 408 when the body
//! does not arrive within `requestTimeout`. Connections are kept alive; at most `maxConnections` are open
//! (more are closed at once, with one warning at most every 10 s), and `headerReadTimeout`
//! bounds both reading a request's headers and an idle keep-alive connection.
//!
//! With `ssl = true` each connection first completes a TLS handshake (`rpc::transport::tls`: a PEM or PKCS12 keystore), bounded by
//! [`HANDSHAKE_TIMEOUT`].
//!
//! Delivery: at-least-once for clients that resend on anything but 200 (a 200 is sent only
//! after the commit; a crash before it loses nothing the client was told was accepted).

pub(crate) mod config;
pub(crate) mod handler;
pub(crate) mod json;
mod request;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::refusals::RefusalLog;
use super::{SourceCtx, SourceError};
use crate::agent::rpc::transport::settings::HANDSHAKE_TIMEOUT_DEFAULT as HANDSHAKE_TIMEOUT;
use crate::agent::rpc::transport::tls;
pub(crate) use config::HttpConfig;

/// Listens until stopped; open connections finish the request they are serving.
pub(crate) async fn run(cfg: HttpConfig, ctx: SourceCtx) -> Result<(), SourceError> {
    let listener = TcpListener::bind((cfg.bind.as_str(), cfg.port))
        .await
        .map_err(|e| ctx.error(format!("cannot listen on {}:{}: {e}", cfg.bind, cfg.port)))?;
    tracing::info!(source = %ctx.name, bind = %cfg.bind, port = cfg.port, "http source listening");
    let acceptor = match &cfg.tls {
        Some(t) => Some(tls::acceptor(t, &[]).map_err(|e| ctx.error(e))?),
        None => None,
    };
    ctx.ready.accepting();
    let shared = Arc::new(request::Shared::new(cfg));
    let cfg = &shared.cfg;
    let permits = Arc::new(Semaphore::new(cfg.max_connections));
    let mut conns = JoinSet::new();
    let mut stop = ctx.stop.clone();
    let mut refusals = RefusalLog::default();
    loop {
        tokio::select! {
            _ = stop.wait() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match permits.clone().try_acquire_owned() {
                    Ok(permit) => {
                        let (shared, ctx) = (shared.clone(), ctx.clone());
                        let acceptor = acceptor.clone();
                        let _ = stream.set_nodelay(true);
                        conns.spawn(async move {
                            match acceptor {
                                None => connection(stream, peer, shared, ctx).await,
                                Some(a) => {
                                    let mut stop = ctx.stop.clone();
                                    let shake = tokio::select! {
                                        _ = stop.wait() => None,
                                        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, a.accept(stream)) => Some(r),
                                    };
                                    match shake {
                                        Some(Ok(Ok(s))) => connection(s, peer, shared, ctx).await,
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
                        if let Some(refused) = refusals.refused(std::time::Instant::now()) {
                            tracing::warn!(source = %ctx.name, %peer, max = cfg.max_connections, refused, "too many connections; closing new ones (maxConnections)");
                        }
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

async fn connection<S>(stream: S, peer: SocketAddr, shared: Arc<request::Shared>, ctx: SourceCtx)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut stop = ctx.stop.clone();
    let name = ctx.name.clone();
    let cfg = &shared.cfg;
    let svc_shared = shared.clone();
    let service = service_fn(move |req| {
        let (shared, ctx) = (svc_shared.clone(), ctx.clone());
        async move { Ok::<_, Infallible>(request::answer(req, &shared, &ctx).await) }
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

impl crate::agent::source::BuildSource for HttpConfig {
    fn listens(&self) -> bool {
        true
    }

    fn batch_size(&self) -> usize {
        // One request is one transaction of whatever size the client sent.
        1
    }

    fn run(&self, ctx: crate::agent::source::SourceCtx) -> crate::agent::source::SourceTask {
        Box::pin(run(self.clone(), ctx))
    }
}
