//! One HTTP serving path for the sources that speak HTTP (the `http` source and the `otlp`
//! source, HTTP/1 and gRPC over HTTP/2), as the RPC sources share `source/rpc/` (model:
//! vector's `sources/util/http`). A source implements [`HttpService`] (one request in, one
//! answer out) and hands [`serve`] its [`Serve`] settings; everything around the requests is
//! here: listening, `ipFilterRules` (`ip:` rules, decided before a byte is read),
//! `maxConnections` and `maxConnectionsPerPeer` (peer_conns.rs: at either limit the
//! connection whose request body is furthest behind its least pace (body_pace.rs), else the
//! one idle longest, is closed for the new one; when none is slow or idle, the new one is
//! closed at once, counted as `ConnectionRefusedCount`; both logged at most every 10 s), the
//! TLS handshake (`rpc::transport::tls`: a PEM or PKCS12 keystore, ALPN as the source says,
//! within [`HANDSHAKE_TIMEOUT`], in the connection's task), and each connection on hyper
//! (conn.rs: HTTP/1 with its header and keep-alive time, or HTTP/2 with its stream and reset
//! limits, its idle time and first-request deadline, and the abandoned-call budget
//! (abandon.rs)). A stop ends
//! the accept loop; open connections finish the requests they serve within the source's
//! `requestTimeout`. Request bodies, their budgets and the commit are the source's own.
//!
//! Imports flow down: nothing here names the http or otlp source.

mod abandon;
mod conn;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::body_pace::BODY_BYTES_PER_S_MIN;
use super::peer_conns::{Activity, ConnSlot, ConnTable, Evicted, Limit, Unused};
use super::refusals::RefusalLog;
use super::{SourceCtx, SourceError};
use crate::agent::metrics::SourceCounter;
use crate::agent::rpc::ipfilter::{Decision, IpFilter};
use crate::agent::rpc::transport::settings::TlsServerSettings;
use crate::agent::rpc::transport::tls;
pub use abandon::ABANDONED_CALLS_MAX;
pub(crate) use conn::{H2Limits, Version};

/// Longest TLS handshake of an accepted connection.
pub(crate) const HANDSHAKE_TIMEOUT: Duration =
    crate::agent::rpc::transport::settings::HANDSHAKE_TIMEOUT_DEFAULT;

/// A source's protocol on the serving path: one request to one answer.
pub(crate) trait HttpService: Send + Sync + 'static {
    /// The answers' body.
    type Body: hyper::body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + 'static;

    /// Answers one request from `peer`. Cancel safety: dropped when the peer resets the
    /// request's stream or the connection ends; it then counts as abandoned.
    fn answer(
        self: Arc<Self>,
        req: Request<Incoming>,
        peer: SocketAddr,
    ) -> impl Future<Output = Answer<Self::Body>> + Send;

    /// The connection from `peer` was cut for abandoning more calls than it let finish
    /// (abandon.rs): `answered` and `abandoned` so far. Logged by the source.
    fn cut(&self, peer: SocketAddr, answered: u64, abandoned: u64);
}

/// A request's answer, and whether its request was abandoned (its body failed: a reset, or
/// not whole by `requestTimeout`), which counts against the connection's budget.
#[derive(Debug)]
pub(crate) struct Answer<B> {
    /// What is sent back.
    pub(crate) response: Response<B>,
    /// The request's body failed.
    pub(crate) abandoned: bool,
}

impl<B> Answer<B> {
    /// An answer to a request that was received.
    pub(crate) fn answered(response: Response<B>) -> Self {
        Answer {
            response,
            abandoned: false,
        }
    }
}

/// How a source listens and serves its connections.
#[derive(Clone, Debug)]
pub(crate) struct Serve {
    /// `http source`, `otlp source`: the start of its log lines.
    pub(crate) what: &'static str,
    /// `bind`.
    pub(crate) bind: String,
    /// `port`.
    pub(crate) port: u16,
    /// `ssl = true`: the keystore and protocols.
    pub(crate) tls: Option<TlsServerSettings>,
    /// ALPN protocols offered in the TLS handshake (none when empty).
    pub(crate) alpn: &'static [&'static [u8]],
    /// `ipFilterRules` when `ipFilter = true` (checked when read: `ip:` rules only).
    pub(crate) ip_filter_rules: Option<String>,
    /// `maxConnections`.
    pub(crate) max_connections: usize,
    /// `maxConnectionsPerPeer` (`usize::MAX`: no share per peer address).
    pub(crate) max_connections_per_peer: usize,
    /// `requestTimeout`: at a stop, the time a connection has to finish its requests.
    pub(crate) request_timeout: Duration,
    /// HTTP/1 or HTTP/2, with its limits.
    pub(crate) version: Version,
}

/// Listens until stopped, serving each connection with `service`; open connections finish
/// the request they are serving.
pub(crate) async fn serve<S: HttpService>(
    cfg: Serve,
    service: Arc<S>,
    ctx: &SourceCtx,
) -> Result<(), SourceError> {
    // The keystore first (read off the async workers): the port opens once it can serve.
    let acceptor = match &cfg.tls {
        Some(t) => Some(tls::acceptor(t, cfg.alpn).map_err(|e| ctx.error(e))?),
        None => None,
    };
    let listener = TcpListener::bind((cfg.bind.as_str(), cfg.port))
        .await
        .map_err(|e| ctx.error(format!("cannot listen on {}:{}: {e}", cfg.bind, cfg.port)))?;
    tracing::info!(source = %ctx.name, bind = %cfg.bind, port = cfg.port, "{} listening", cfg.what);
    let mut gate = Gate::new(&cfg, ctx)?;
    ctx.ready.accepting();
    let cfg = Arc::new(cfg);
    let mut conns = JoinSet::new();
    let mut stop = ctx.stop.clone();
    loop {
        tokio::select! {
            _ = stop.wait() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Some(slot) = gate.admit(peer, ctx) else { continue };
                    let _ = stream.set_nodelay(true);
                    let (cfg, service, ctx) = (cfg.clone(), service.clone(), ctx.clone());
                    let acceptor = acceptor.clone();
                    conns.spawn(async move {
                        let activity = slot.activity().clone();
                        match acceptor {
                            None => conn::serve(stream, peer, service, activity, &cfg, &ctx).await,
                            Some(a) => handshake(a, stream, peer, service, activity, &cfg, &ctx).await,
                        }
                        drop(slot);
                    });
                }
                Err(e) => {
                    tracing::warn!(source = %ctx.name, error = %e, "accept failed");
                    if stop.sleep(Duration::from_millis(100)).await {
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

/// A TLS handshake (bounded by [`HANDSHAKE_TIMEOUT`], the stop and the table closing the
/// connection), then the connection.
async fn handshake<S: HttpService>(
    a: TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    service: Arc<S>,
    activity: Arc<Activity>,
    cfg: &Serve,
    ctx: &SourceCtx,
) {
    let mut stop = ctx.stop.clone();
    let shake = tokio::select! {
        _ = stop.wait() => return,
        _ = activity.closed() => return,
        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, a.accept(stream)) => r,
    };
    match shake {
        Ok(Ok(s)) => conn::serve(s, peer, service, activity, cfg, ctx).await,
        Ok(Err(e)) => {
            tracing::warn!(source = %ctx.name, %peer, error = %e, "TLS handshake failed")
        }
        Err(_) => tracing::warn!(source = %ctx.name, %peer, "TLS handshake timed out"),
    }
}

/// Who may connect: `ipFilterRules`, `maxConnections`, `maxConnectionsPerPeer`.
struct Gate {
    filter: Option<IpFilter>,
    table: ConnTable,
    refusals: RefusalLog,
    peer_refusals: RefusalLog,
    slow_evictions: RefusalLog,
    idle_evictions: RefusalLog,
}

impl Gate {
    fn new(cfg: &Serve, ctx: &SourceCtx) -> Result<Gate, SourceError> {
        let filter = match &cfg.ip_filter_rules {
            Some(r) => Some(IpFilter::parse(r).map_err(|e| ctx.error(e))?),
            None => None,
        };
        Ok(Gate {
            filter,
            table: ConnTable::new(cfg.max_connections, cfg.max_connections_per_peer),
            refusals: RefusalLog::default(),
            peer_refusals: RefusalLog::default(),
            slow_evictions: RefusalLog::default(),
            idle_evictions: RefusalLog::default(),
        })
    }

    /// The connection's slot (a slow or idle connection closed for it at a limit), or `None`: close
    /// it (counted and logged here).
    fn admit(&mut self, peer: SocketAddr, ctx: &SourceCtx) -> Option<ConnSlot> {
        // The rules are `ip:` ones only, so no name is looked up.
        let denied = self
            .filter
            .as_ref()
            .is_some_and(|f| matches!(f.decide(peer.ip(), None), Decision::Deny { .. }));
        if denied {
            tracing::debug!(source = %ctx.name, %peer, "connection refused by ipFilterRules");
            return None;
        }
        let now = std::time::Instant::now();
        let limit = match self.table.admit(peer.ip()) {
            Ok((slot, evicted)) => {
                for e in evicted {
                    self.evicted(e, now, ctx);
                }
                return Some(slot);
            }
            Err(l) => l,
        };
        let max = self.table.limit(limit);
        match limit {
            Limit::Connections => {
                if let Some(refused) = self.refusals.refused(now) {
                    tracing::warn!(source = %ctx.name, %peer, max, refused, "too many connections, none of them idle or slow; closing new ones (maxConnections)");
                }
            }
            Limit::PerPeer => {
                if let Some(refused) = self.peer_refusals.refused(now) {
                    tracing::warn!(source = %ctx.name, %peer, max, refused, "too many connections from one peer address, none of them idle or slow; closing its new ones (maxConnectionsPerPeer)");
                }
            }
        }
        ctx.counters.add(SourceCounter::ConnectionRefused, 1);
        None
    }

    /// Logs (at most every 10 s for slow bodies, and for idle connections) a connection
    /// closed for a new one.
    fn evicted(&mut self, e: Evicted, now: std::time::Instant, ctx: &SourceCtx) {
        let (key, max) = match e.limit {
            Limit::Connections => ("maxConnections", self.table.limit(e.limit)),
            Limit::PerPeer => ("maxConnectionsPerPeer", self.table.limit(e.limit)),
        };
        match e.why {
            Unused::SlowBody(behind) => {
                let Some(closed) = self.slow_evictions.refused(now) else {
                    return;
                };
                let behind_ms = behind.as_millis() as u64;
                tracing::warn!(source = %ctx.name, peer = %e.peer, behind_ms, max, closed, "at {key}: closed the connection whose request body is furthest behind {BODY_BYTES_PER_S_MIN} bytes/s for a new one (slow bodies go first, then idle connections)");
            }
            Unused::Idle(unused) | Unused::YoungBody(unused) => {
                let Some(closed) = self.idle_evictions.refused(now) else {
                    return;
                };
                let unused_ms = unused.as_millis() as u64;
                tracing::warn!(source = %ctx.name, peer = %e.peer, unused_ms, max, closed, "at {key}: closed the connection idle longest for a new one (slow bodies go first, then idle connections and young bodies, oldest first)");
            }
        }
    }
}
