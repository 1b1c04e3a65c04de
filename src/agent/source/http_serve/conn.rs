//! One connection of an HTTP source on hyper: HTTP/1 (its header and keep-alive time, its
//! buffer) or HTTP/2 (its stream and reset limits, its idle time and first-request deadline,
//! and the abandoned-call budget of abandon.rs), each request answered by the source's
//! [`HttpService`] and counted in the connection's [`Activity`] (peer_conns.rs), its body
//! pace in the request's extensions (body_pace.rs). A connection the table closed for a new
//! one (idle, or its bodies slow, at the limit) ends at once. At a stop the connection shuts
//! down gracefully: its requests in progress have the source's `requestTimeout` to finish.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};

use super::abandon::Calls;
use super::{Answer, HttpService, Serve};
use crate::agent::source::peer_conns::Activity;
use crate::agent::source::SourceCtx;

/// The HTTP version a source serves, with its limits.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Version {
    /// HTTP/1.1 with keep-alive.
    Http1 {
        /// A request's headers, and an idle keep-alive connection, within this time.
        header_read_timeout: Duration,
        /// hyper's read buffer (bounds a request's headers); `None`: hyper's default.
        buf_bytes_max: Option<usize>,
    },
    /// HTTP/2 (gRPC).
    Http2 {
        /// The connection's limits.
        limits: H2Limits,
        /// A connection without a request in progress this long is closed (`GOAWAY`).
        idle_timeout: Duration,
    },
}

/// What one HTTP/2 connection may cost: a flood of streams costs at most `streams_max` open
/// streams (more are refused with `REFUSED_STREAM`), `resets_pending_accept_max` resets
/// before accept and `local_error_resets_max` error resets (past either, `GOAWAY` and the
/// close).
#[derive(Clone, Copy, Debug)]
pub(crate) struct H2Limits {
    /// Concurrent streams.
    pub(crate) streams_max: u32,
    /// Streams reset by the peer before they were accepted (rapid reset).
    pub(crate) resets_pending_accept_max: usize,
    /// Streams this side resets for the peer's errors.
    pub(crate) local_error_resets_max: usize,
    /// Flow-control window of one stream.
    pub(crate) stream_window_bytes: u32,
    /// Flow-control window of the connection.
    pub(crate) connection_window_bytes: u32,
    /// Largest frame the peer may send.
    pub(crate) frame_bytes_max: u32,
    /// Most bytes of a request's headers.
    pub(crate) header_bytes_max: u32,
}

/// Serves one connection, whose requests are counted in `activity`, until it closes, the
/// table closes it or the source stops.
pub(super) async fn serve<S, IO>(
    io: IO,
    peer: SocketAddr,
    service: Arc<S>,
    activity: Arc<Activity>,
    cfg: &Serve,
    ctx: &SourceCtx,
) where
    S: HttpService,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    let result = match cfg.version {
        Version::Http1 {
            header_read_timeout,
            buf_bytes_max,
        } => {
            let mut b = hyper::server::conn::http1::Builder::new();
            b.timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .keep_alive(true);
            if let Some(max) = buf_bytes_max {
                b.max_buf_size(max);
            }
            let calls = Arc::default();
            let conn = b.serve_connection(io, answering(service, peer, &calls, &activity));
            tokio::pin!(conn);
            let mut stop = ctx.stop.clone();
            tokio::select! {
                r = conn.as_mut() => Some(r),
                _ = activity.closed() => None,
                _ = stop.wait() => {
                    conn.as_mut().graceful_shutdown();
                    tokio::time::timeout(cfg.request_timeout, conn.as_mut()).await.ok()
                }
            }
        }
        Version::Http2 {
            limits,
            idle_timeout,
        } => {
            h2(
                io,
                peer,
                service,
                activity,
                (limits, idle_timeout),
                cfg,
                ctx,
            )
            .await
        }
    };
    if let Some(Err(e)) = result {
        tracing::debug!(source = %ctx.name, %peer, error = %e, "{} connection ended with an error", cfg.what);
    }
}

/// Each request answered by `service`, counted in `calls` (answered or abandoned) and
/// `activity` (in progress), with the connection's body pace in its extensions
/// (`body_pace::receiving` reads it).
fn answering<S: HttpService>(
    service: Arc<S>,
    peer: SocketAddr,
    calls: &Arc<Calls>,
    activity: &Arc<Activity>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = hyper::Response<S::Body>,
    Error = Infallible,
    Future: Send + 'static,
> + Send
       + 'static {
    let (calls, activity) = (calls.clone(), activity.clone());
    service_fn(move |mut req: Request<Incoming>| {
        let (service, call, busy) = (service.clone(), calls.start(), activity.busy());
        req.extensions_mut().insert(activity.pace());
        async move {
            let Answer {
                response,
                abandoned,
            } = service.answer(req, peer).await;
            if !abandoned {
                call.answered();
            }
            drop(busy);
            Ok::<_, Infallible>(response)
        }
    })
}

/// An HTTP/2 connection: closed when idle for `idle_timeout` (for `requestTimeout` before its
/// first call, if shorter: the first-frame deadline), ended at once when the table closes it,
/// cut when it abandons too many calls, shut down gracefully at a stop. `None`: its requests
/// did not finish in time.
async fn h2<S, IO>(
    io: TokioIo<IO>,
    peer: SocketAddr,
    service: Arc<S>,
    activity: Arc<Activity>,
    (limits, idle_timeout): (H2Limits, Duration),
    cfg: &Serve,
    ctx: &SourceCtx,
) -> Option<Result<(), hyper::Error>>
where
    S: HttpService,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let calls = Arc::new(Calls::default());
    let first = idle_timeout.min(cfg.request_timeout);
    let svc = answering(service.clone(), peer, &calls, &activity);
    let conn = h2_builder(limits).serve_connection(io, svc);
    tokio::pin!(conn);
    let mut stop = ctx.stop.clone();
    tokio::select! {
        r = conn.as_mut() => return Some(r),
        _ = calls.cut() => {
            let (answered, abandoned) = calls.counts();
            service.cut(peer, answered, abandoned);
            return None;
        }
        _ = activity.closed() => return None,
        _ = activity.idle_for(first, idle_timeout) => {
            tracing::debug!(source = %ctx.name, %peer, "{} connection idle for idleTimeout; closing it", cfg.what);
        }
        _ = stop.wait() => {}
    }
    conn.as_mut().graceful_shutdown();
    tokio::time::timeout(cfg.request_timeout, conn.as_mut())
        .await
        .ok()
}

/// The HTTP/2 side of a connection, with its limits.
fn h2_builder(l: H2Limits) -> hyper::server::conn::http2::Builder<TokioExecutor> {
    let mut b = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    b.timer(TokioTimer::new())
        .max_concurrent_streams(l.streams_max)
        .max_pending_accept_reset_streams(l.resets_pending_accept_max)
        .max_local_error_reset_streams(l.local_error_resets_max)
        .initial_stream_window_size(l.stream_window_bytes)
        .initial_connection_window_size(l.connection_window_bytes)
        .max_frame_size(l.frame_bytes_max)
        .max_header_list_size(l.header_bytes_max);
    b
}
