//! The `thrift` source (`org.apache.flume.source.ThriftSource`): Flume's
//! `ThriftSourceProtocol` over the framed transport, in the compact (default) or binary
//! protocol, so Flume's thrift sink, its `ThriftRpcClient`, applications using the IDL and
//! Sluice's own thrift sink can send to it.
//!
//! Connections are accepted by the shared [`Listener`](super::listener) (the
//! `max-connections` cap; connections beyond it are closed at once and counted as
//! `ConnectionRefusedCount`) and admitted by [`Gate`](super::rpc_admit).
//! One task per connection runs the RPC connection machine ([`crate::agent::source::rpc`]:
//! frames read within `request-timeout` of their first byte and reserved from the frame
//! budget before they are read, up to 8 calls read ahead of their answers, decoded off the
//! async workers when large and counted against the decoded budget, the calls that waited
//! behind a put joined into one transaction, `CallsJoinedCount`) with the thrift protocol
//! ([`protocol`]: the pure codec [`crate::wire::thrift`]); `append`/`appendBatch` go to the
//! channel processor as one batch (one transaction per channel per call, or per joined calls) and are answered
//! `OK` only after every required channel committed, `FAILED` otherwise. Calls are answered
//! in order, each with its seqid. Garbage closes its connection with a log line naming the
//! probable cause (rate-limited per source: a few per interval, then a count; a connection
//! is announced as "upstream connected" only after its first valid call) (TLS, HTTP, Avro, deflate, the other protocol: [`crate::wire::thrift::sniff`])
//! and `EventReadFail`; the source and its other connections go on. Limits as the avro
//! source's: `max-frame-size`, `max-events-per-call`, `max-connections`, `idle-timeout`,
//! `request-timeout`, `max-inflight-bytes`; `threads` bounds the calls decoded and put at once.
//! Below the protocol, [`crate::agent::rpc::transport`] applies `ipFilter`, checks the first
//! bytes, and runs the TLS and deflate layers (`ssl`, `compression-type`), each connection in
//! its own task, as for the avro source.

pub mod config;
mod protocol;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::listener::Listener;
use super::refusals::RefusalLog;
use super::rpc::RpcBase;
use super::rpc_admit::Gate;
use super::upstream_log::UpstreamLog;
use super::{SourceCtx, SourceError};
use crate::agent::metrics::SourceCounter;
use crate::agent::rpc::transport::{Protocol as Speaks, ServerTransport};
use crate::wire::thrift::sniff::probable_cause;
pub use config::ThriftSourceConfig;
use parking_lot::Mutex;

/// What the connections of one source share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) cfg: ThriftSourceConfig,
    pub(crate) open: AtomicUsize,
    /// Budgets, decoders, `threads`, timeouts ([`crate::agent::source::rpc`]).
    pub(crate) rpc: RpcBase,
    /// ipFilter, TLS and deflate ([`crate::agent::rpc::transport`]).
    pub(crate) transport: ServerTransport,
    /// The rate-limited warning about peers refused by `ipFilter`.
    pub(crate) filtered: Mutex<RefusalLog>,
    /// The rate-limited warning about connections closed for bad input.
    pub(crate) bad_input: Mutex<RefusalLog>,
}

/// Listens until stopped; each connection finishes the call it is putting.
pub async fn run(cfg: ThriftSourceConfig, ctx: SourceCtx) -> Result<(), SourceError> {
    let transport = ServerTransport::new(&cfg.security)
        .map_err(|e| ctx.error(e.to_string()))?
        .speaking(Speaks::Thrift);
    let listener = Listener::bind(&ctx, &cfg.bind, &[cfg.port], cfg.max_connections).await?;
    let local = listener.local_addr();
    tracing::info!(source = %ctx.name, bind = %cfg.bind, port = cfg.port, protocol = cfg.protocol.name(), ?local, transport = %transport.describe(), "thrift source listening");
    let shared = Arc::new(Shared {
        rpc: RpcBase::new(
            cfg.threads,
            cfg.max_inflight_bytes,
            cfg.request_timeout,
            cfg.idle_timeout,
        ),
        cfg,
        open: AtomicUsize::new(0),
        transport,
        filtered: Mutex::new(RefusalLog::default()),
        bad_input: Mutex::new(RefusalLog::bad_input()),
    });
    let g = shared.clone();
    ctx.counters.set_gauges(Box::new(move || {
        let mut v = vec![
            (
                "OpenConnectionCount",
                g.open.load(Ordering::Relaxed).to_string(),
            ),
            (
                "CallsJoinedCount",
                g.rpc.joined.load(Ordering::Relaxed).to_string(),
            ),
        ];
        v.extend(g.transport.gauges());
        v
    }));
    let c = ctx.clone();
    listener
        .serve(&ctx, move |stream, peer, _| {
            connection(stream, peer, c.clone(), shared.clone())
        })
        .await;
    Ok(())
}

/// One accepted connection: counted open from here, then (in its own task) the transport's
/// checks and the calls until the peer leaves or the source stops.
fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    ctx: SourceCtx,
    shared: Arc<Shared>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let _ = stream.set_nodelay(true);
    shared.open.fetch_add(1, Ordering::Relaxed);
    let local = stream.local_addr().ok();
    async move {
        let mut log = UpstreamLog::accepted(&ctx.name, peer, local);
        let gate = Gate {
            transport: &shared.transport,
            filtered: &shared.filtered,
            bad_input: &shared.bad_input,
            protocol: "thrift",
        };
        if let Some(conn) = gate.admit(&ctx, stream, peer).await {
            super::rpc::conn::serve(conn, peer, &ctx, &shared, &mut log).await;
        }
        drop(log);
        shared.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The metric and the rate-limited log line ([`RefusalLog::bad_input`]; the line counts the
/// connections closed since the last) of a connection closed for bad input; `first` (the
/// connection's first bytes) names the probable cause when they are not framed Thrift.
pub(crate) fn bad_input(
    ctx: &SourceCtx,
    shared: &Shared,
    peer: SocketAddr,
    first: &[u8],
    what: &str,
    kind: &str,
) {
    ctx.counters.add(SourceCounter::EventReadFail, 1);
    let Some(closed) = shared.bad_input.lock().refused(Instant::now()) else {
        tracing::debug!(source = %ctx.name, %peer, kind, "thrift connection closed: {what}");
        return;
    };
    match probable_cause(first, shared.cfg.protocol) {
        Some(cause) => {
            tracing::warn!(source = %ctx.name, %peer, kind, closed, protocol = shared.cfg.protocol.name(), "thrift connection closed: {what}; the peer probably sent {cause}")
        }
        None => {
            tracing::warn!(source = %ctx.name, %peer, kind, closed, protocol = shared.cfg.protocol.name(), "thrift connection closed: {what}")
        }
    }
}

impl crate::agent::source::BuildSource for ThriftSourceConfig {
    fn listens(&self) -> bool {
        true
    }

    fn batch_size(&self) -> usize {
        1
    }

    fn run(&self, ctx: SourceCtx) -> crate::agent::source::SourceTask {
        Box::pin(run(self.clone(), ctx))
    }
}
