//! The `otlp` source: OpenTelemetry's logs service, over gRPC (`protocol = grpc`, HTTP/2,
//! default port 4317) or HTTP (`protocol = http`, `POST /v1/logs`, HTTP/1.1, default port
//! 4318), as the Collector's OTLP receiver has them; a source serves one of them, so a
//! Collector user who wants both configures two sources. Each `LogRecord` becomes an event
//! (`agent::otlp`'s mapping); a request's events are put in **one call** of the channel
//! processor and the answer is sent only after every required channel committed them
//! (export.rs): with the file channel, an OTLP `OK` means "on disk".
//!
//! config.rs reads the keys; grpc.rs serves `LogsService/Export` (its request decoded into
//! `agent::otlp::borrowed`'s types), http.rs the `/v1/logs` handler; both read bodies through
//! body.rs (charged to the body budget as read, half of it at most per peer address), gunzip
//! through inflate.rs (off the async workers, half the CPUs at most) and export through
//! export.rs (the events' cost charged before they are built). This file accepts
//! connections (at most `maxConnections`, and `maxConnectionsPerPeer` per peer address:
//! `agent::source::peer_conns`; TLS with `ssl = true`) and serves each on hyper's HTTP/2 or
//! HTTP/1 connection, whose limits (64 streams per connection, 16 KiB of headers, and the
//! reset budgets that end a rapid-reset or refused-stream flood with `GOAWAY`:
//! [`h2_builder`]; the abandoned-call budget that cuts a connection resetting the calls it
//! opened: abandon.rs; `idleTimeout` for a gRPC connection without calls: idle.rs; the
//! header and keep-alive time of an HTTP/1 one, `requestTimeout`) bound what one peer can
//! hold.
//!
//! Delivery: at-least-once for exporters that retry on `UNAVAILABLE` / 503 (all OTLP
//! exporters do, with backoff); records rejected through `partial_success` are never put.

mod abandon;
mod body;
pub mod config;
mod export;
mod grpc;
mod http;
mod idle;
mod inflate;
mod json;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::peer_conns::PeerConns;
use super::refusals::RefusalLog;
use super::{SourceCtx, SourceError};
use crate::agent::metrics::SourceCounter;
use crate::agent::otlp::proto::GRPC_LOGS_SERVICE;
use crate::agent::rpc::ipfilter::{Decision, IpFilter};
use crate::agent::rpc::transport::settings::HANDSHAKE_TIMEOUT_DEFAULT as HANDSHAKE_TIMEOUT;
use crate::agent::rpc::transport::tls;
pub use abandon::ABANDONED_CALLS_MAX;
pub use body::PEER_SHARE_DIVISOR;
pub use config::{OtlpSourceConfig, Protocol, STREAMS_PER_CONNECTION_MAX};
pub use http::RETRY_AFTER_S;
pub use inflate::inflaters_max;

/// Most bytes of request headers a peer may send (HTTP/1 and HTTP/2).
pub const HEADER_BYTES_MAX: u32 = 16 << 10;
/// HTTP/2 flow-control window of one gRPC stream: a 1 MiB export arrives without waiting
/// for a window update (hyper's default is 1 MiB; the client's batches are often larger).
pub const STREAM_WINDOW_BYTES: u32 = 4 << 20;
/// HTTP/2 flow-control window of one connection (all its streams).
pub const CONNECTION_WINDOW_BYTES: u32 = 16 << 20;
/// Largest HTTP/2 frame a peer may send: small next to an export, so a body is charged to the
/// body budget (body.rs) in steps of at most this much. (Under tonic's server, which copied
/// each frame into its message buffer, it also kept the copies down: docs/otlp.md#throughput.)
pub const FRAME_BYTES_MAX: u32 = 64 << 10;
/// Streams a peer may reset before the connection accepted them; one more and the connection
/// ends with `GOAWAY` (`ENHANCE_YOUR_CALM`): the HTTP/2 rapid-reset flood (CVE-2023-44487),
/// whose HEADERS + RST_STREAM pairs cost the server work but never count as open streams.
/// h2's own default, set here so it is ours and documented.
pub const RESETS_PENDING_ACCEPT_MAX: usize = 20;
/// Streams this side may reset for a peer's errors (malformed frames or headers) on one
/// connection; one more ends it with `GOAWAY` (the "made you reset" flood,
/// RUSTSEC-2024-0003 / CVE-2025-8671). hyper's default is 1024; an exporter makes none.
pub const LOCAL_ERROR_RESETS_MAX: usize = 64;

/// Listens until stopped; open connections finish the request they are serving.
pub async fn run(cfg: OtlpSourceConfig, ctx: SourceCtx) -> Result<(), SourceError> {
    let listener = TcpListener::bind((cfg.bind.as_str(), cfg.port))
        .await
        .map_err(|e| ctx.error(format!("cannot listen on {}:{}: {e}", cfg.bind, cfg.port)))?;
    tracing::info!(source = %ctx.name, bind = %cfg.bind, port = cfg.port, protocol = ?cfg.protocol, "otlp source listening");
    let acceptor = match &cfg.tls {
        Some(t) => {
            let alpn: &[&[u8]] = match cfg.protocol {
                Protocol::Grpc => &[b"h2"],
                Protocol::Http => &[b"http/1.1"],
            };
            Some(tls::acceptor(t, alpn).map_err(|e| ctx.error(e))?)
        }
        None => None,
    };
    let filter = match &cfg.ip_filter_rules {
        Some(r) => Some(IpFilter::parse(r).map_err(|e| ctx.error(e))?),
        None => None,
    };
    ctx.ready.accepting();
    let max_connections = cfg.max_connections;
    let per_peer = PeerConns::new(cfg.max_connections_per_peer);
    let mut peer_refusals = RefusalLog::default();
    let shared = Arc::new(export::Shared::new(cfg, ctx.clone()));
    let permits = Arc::new(Semaphore::new(max_connections));
    let mut conns = JoinSet::new();
    let mut stop = ctx.stop.clone();
    let mut refusals = RefusalLog::default();
    loop {
        tokio::select! {
            _ = stop.wait() => break,
            accepted = listener.accept() => match accepted {
                Ok((_, peer)) if denied(filter.as_ref(), peer) => {
                    tracing::debug!(source = %ctx.name, %peer, "connection refused by ipFilterRules");
                }
                Ok((stream, peer)) => match (permits.clone().try_acquire_owned(), per_peer.admit(peer.ip())) {
                    (Ok(permit), Some(slot)) => {
                        let (shared, acceptor) = (shared.clone(), acceptor.clone());
                        let _ = stream.set_nodelay(true);
                        conns.spawn(async move {
                            match acceptor {
                                None => connection(stream, peer, shared).await,
                                Some(a) => handshake(a, stream, peer, shared).await,
                            }
                            drop((permit, slot));
                        });
                    }
                    (Err(_), _) => {
                        ctx.counters.add(SourceCounter::ConnectionRefused, 1);
                        if let Some(refused) = refusals.refused(std::time::Instant::now()) {
                            tracing::warn!(source = %ctx.name, %peer, max = max_connections, refused, "too many connections; closing new ones (maxConnections)");
                        }
                    }
                    (Ok(_), None) => {
                        ctx.counters.add(SourceCounter::ConnectionRefused, 1);
                        if let Some(refused) = peer_refusals.refused(std::time::Instant::now()) {
                            tracing::warn!(source = %ctx.name, %peer, max = per_peer.per_peer_max(), refused, "too many connections from one peer address; closing its new ones (maxConnectionsPerPeer)");
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

/// Whether `ipFilterRules` refuse `peer` (the rules are `ip:` ones only, so no name is
/// looked up).
fn denied(filter: Option<&IpFilter>, peer: SocketAddr) -> bool {
    filter.is_some_and(|f| matches!(f.decide(peer.ip(), None), Decision::Deny { .. }))
}

/// A TLS handshake (bounded by [`HANDSHAKE_TIMEOUT`]), then the connection.
async fn handshake(
    a: tokio_rustls::TlsAcceptor,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    shared: Arc<export::Shared>,
) {
    let mut stop = shared.ctx.stop.clone();
    let shake = tokio::select! {
        _ = stop.wait() => return,
        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, a.accept(stream)) => r,
    };
    let name = &shared.ctx.name;
    match shake {
        Ok(Ok(s)) => connection(s, peer, shared).await,
        Ok(Err(e)) => tracing::warn!(source = %name, %peer, error = %e, "TLS handshake failed"),
        Err(_) => tracing::warn!(source = %name, %peer, "TLS handshake timed out"),
    }
}

/// Serves one connection until it closes or the source stops (then it finishes its
/// requests, within `requestTimeout`).
async fn connection<S>(stream: S, peer: SocketAddr, shared: Arc<export::Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut stop = shared.ctx.stop.clone();
    let name = shared.ctx.name.clone();
    let timeout = shared.cfg.request_timeout;
    let (sh, calls) = (shared.clone(), Arc::new(abandon::Calls::default()));
    let activity = Arc::new(idle::Activity::default());
    let (c2, a2) = (calls.clone(), activity.clone());
    let service = service_fn(move |req: Request<Incoming>| {
        let (sh, call, busy) = (sh.clone(), c2.start(), a2.busy());
        async move {
            let failed = Arc::new(AtomicBool::new(false));
            let resp = match sh.cfg.protocol {
                Protocol::Http => http::answer(req, peer, sh).await,
                Protocol::Grpc if req.uri().path().starts_with(GRPC_LOGS_SERVICE) => {
                    grpc::call(sh, req, peer, failed.clone()).await
                }
                Protocol::Grpc => grpc::unimplemented(req.uri().path()),
            };
            if !failed.load(Ordering::Relaxed) {
                call.answered();
            }
            drop(busy);
            Ok::<_, Infallible>(resp)
        }
    });
    let io = TokioIo::new(stream);
    let result = match shared.cfg.protocol {
        Protocol::Grpc => {
            let conn = h2_builder().serve_connection(io, service);
            tokio::pin!(conn);
            let closing = tokio::select! {
                r = conn.as_mut() => Err(r),
                _ = calls.cut() => return shared.cut(peer, calls.counts()),
                _ = activity.idle_for(shared.cfg.idle_timeout) => {
                    tracing::debug!(source = %name, %peer, "otlp connection idle for idleTimeout; closing it");
                    Ok(())
                }
                _ = stop.wait() => Ok(()),
            };
            match closing {
                Err(r) => r,
                Ok(()) => {
                    conn.as_mut().graceful_shutdown();
                    match tokio::time::timeout(timeout, conn.as_mut()).await {
                        Ok(r) => r,
                        Err(_) => return,
                    }
                }
            }
        }
        Protocol::Http => {
            let conn = h1_builder(timeout).serve_connection(io, service);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => r,
                _ = stop.wait() => {
                    conn.as_mut().graceful_shutdown();
                    match tokio::time::timeout(timeout, conn.as_mut()).await {
                        Ok(r) => r,
                        Err(_) => return,
                    }
                }
            }
        }
    };
    if let Err(e) = result {
        tracing::debug!(source = %name, %peer, error = %e, "otlp connection ended with an error");
    }
}

/// The HTTP/1 side of an HTTP connection: headers within `timeout` and 4 × 16 KiB.
fn h1_builder(timeout: std::time::Duration) -> hyper::server::conn::http1::Builder {
    let mut b = hyper::server::conn::http1::Builder::new();
    b.timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .max_buf_size(HEADER_BYTES_MAX as usize * 4)
        .keep_alive(true);
    b
}

/// The HTTP/2 side of a gRPC connection, with its limits: a flood of streams costs one
/// connection at most [`STREAMS_PER_CONNECTION_MAX`] open streams (more are refused with
/// `REFUSED_STREAM`), [`RESETS_PENDING_ACCEPT_MAX`] resets before accept and
/// [`LOCAL_ERROR_RESETS_MAX`] error resets (past either, `GOAWAY` and the close).
fn h2_builder() -> hyper::server::conn::http2::Builder<TokioExecutor> {
    let mut b = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    b.timer(TokioTimer::new())
        .max_concurrent_streams(STREAMS_PER_CONNECTION_MAX)
        .max_pending_accept_reset_streams(RESETS_PENDING_ACCEPT_MAX)
        .max_local_error_reset_streams(LOCAL_ERROR_RESETS_MAX)
        .initial_stream_window_size(STREAM_WINDOW_BYTES)
        .initial_connection_window_size(CONNECTION_WINDOW_BYTES)
        .max_frame_size(FRAME_BYTES_MAX)
        .max_header_list_size(HEADER_BYTES_MAX);
    b
}

impl crate::agent::source::BuildSource for OtlpSourceConfig {
    fn listens(&self) -> bool {
        true
    }

    fn batch_size(&self) -> usize {
        // One request is one transaction of whatever size the exporter sent.
        1
    }

    fn run(&self, ctx: SourceCtx) -> crate::agent::source::SourceTask {
        Box::pin(run(self.clone(), ctx))
    }
}
