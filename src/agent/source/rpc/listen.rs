//! The accepting side of an RPC source: its gauges (`OpenConnectionCount`,
//! `CallsJoinedCount`, the protocol's own and the transport's), and for each connection the
//! listener accepts, in its own task: counted open, admitted by the [`Gate`] (`ipFilter`,
//! TLS, deflate), served by [`super::conn::serve`] until the peer leaves or the source stops,
//! counted closed. The connection is announced as "upstream connected" once it made a valid
//! call ([`UpstreamLog`]).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::RpcProtocol;
use crate::agent::invariant;
use crate::agent::source::listener::Listener;
use crate::agent::source::rpc::admit::Gate;
use crate::agent::source::upstream_log::UpstreamLog;
use crate::agent::source::SourceCtx;

/// Serves the connections `listener` accepts until the source stops; each connection
/// finishes the call it is putting.
pub(crate) async fn accept<P: RpcProtocol>(listener: Listener, ctx: &SourceCtx, shared: Arc<P>) {
    let g = shared.clone();
    ctx.counters.set_gauges(Box::new(move || {
        let base = g.base();
        let mut v = vec![
            (
                "OpenConnectionCount",
                base.open.load(Ordering::Relaxed).to_string(),
            ),
            (
                "CallsJoinedCount",
                base.joined.load(Ordering::Relaxed).to_string(),
            ),
        ];
        v.extend(g.gauges());
        v.extend(base.transport.gauges());
        v
    }));
    let c = ctx.clone();
    listener
        .serve(ctx, move |stream, peer, _| {
            connection(stream, peer, c.clone(), shared.clone())
        })
        .await;
}

/// One accepted connection: counted open from here, then (in its own task) the transport's
/// checks and the calls until the peer leaves or the source stops.
fn connection<P: RpcProtocol>(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    ctx: SourceCtx,
    shared: Arc<P>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let _ = stream.set_nodelay(true);
    shared.base().open.fetch_add(1, Ordering::Relaxed);
    shared.seen(peer);
    let local = stream.local_addr().ok();
    async move {
        let mut log = UpstreamLog::accepted(&ctx.name, peer, local);
        let base = shared.base();
        let gate = Gate {
            transport: &base.transport,
            filtered: &base.filtered,
            bad_input: &base.bad_input,
            protocol: P::NAME,
        };
        if let Some(conn) = gate.admit(&ctx, stream, peer).await {
            super::conn::serve(conn, peer, &ctx, &shared, &mut log).await;
        }
        drop(log);
        invariant::release(&base.open, 1, "an RPC source's open connections");
        shared.seen(peer);
    }
}
