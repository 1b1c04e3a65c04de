//! `syslogtcp` and `multiport_syslogtcp`: the sources' listener (listener.rs) on every port,
//! one task per connection, at most `maxConnections` connections over all ports (more are
//! closed at once and counted as `ConnectionRefusedCount`), each closed
//! after `idleTimeout` without data. Messages are framed by newline or octet count
//! (frame.rs); the messages already received, up to `batchSize`, go in one transaction, and
//! up to [`GROUP_BATCHES_MAX`](super::conn::GROUP_BATCHES_MAX) such transactions commit as one group (one fdatasync on a
//! file channel) while the connection parses the next group (conn.rs). Reads start at
//! `readBufferSize` and grow while they come back full (read_buf.rs), so a busy
//! connection's transactions fill up to `batchSize` instead of one 8 KiB read each.
//! All connections together hold at most `maxBufferedBytes` received and not yet committed
//! (conn.rs): past it they wait before reading.
//! With `ssl = true` each connection first completes a TLS handshake (the keystore read by
//! `rpc::transport`'s one reader, PEM or PKCS12), bounded by [`HANDSHAKE_TIMEOUT`].

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::AsyncRead;

use super::config::SyslogTcpConfig;
use crate::agent::peer::PeerHeaders;
use crate::agent::rpc::transport::settings::HANDSHAKE_TIMEOUT_DEFAULT as HANDSHAKE_TIMEOUT;
use crate::agent::rpc::transport::tls;
use crate::agent::source::budget::Budget;
use crate::agent::source::listener::Listener;
use crate::agent::source::{SourceCtx, SourceError, SourceErrorKind};

/// Listens on every configured port until stopped.
pub(crate) async fn run(cfg: SyslogTcpConfig, ctx: SourceCtx) -> Result<(), SourceError> {
    let listener = Listener::bind(&ctx, &cfg.host, &cfg.ports, cfg.max_connections).await?;
    for &port in &cfg.ports {
        tracing::info!(source = %ctx.name, host = %cfg.host, port, "syslog TCP source listening");
    }
    let acceptor = match &cfg.tls {
        Some(t) => Some(
            tls::acceptor(t, &[]).map_err(|e| ctx.fail(SourceErrorKind::Config, e.to_string()))?,
        ),
        None => None,
    };
    // One byte budget for all connections of all ports (conn.rs).
    let budget = Arc::new(Budget::new(cfg.max_buffered_bytes));
    let cfg = Arc::new(cfg);
    let peers = PeerHeaders::new(
        cfg.syslog.client_ip_header.clone(),
        cfg.syslog.client_hostname_header.clone(),
    );
    let conn_ctx = ctx.clone();
    listener
        .serve(&ctx, move |stream, peer, port| {
            let (cfg, ctx, peers) = (cfg.clone(), conn_ctx.clone(), peers.clone());
            let (acceptor, budget) = (acceptor.clone(), budget.clone());
            async move {
                match acceptor {
                    None => connection(stream, peer, port, cfg, ctx, peers, budget).await,
                    Some(a) => {
                        let mut stop = ctx.stop.clone();
                        let shake = tokio::select! {
                            _ = stop.wait() => None,
                            r = tokio::time::timeout(HANDSHAKE_TIMEOUT, a.accept(stream)) => Some(r),
                        };
                        match shake {
                            Some(Ok(Ok(s))) => connection(s, peer, port, cfg, ctx, peers, budget).await,
                            Some(Ok(Err(e))) => tracing::warn!(source = %ctx.name, %peer, error = %e, "TLS handshake failed"),
                            Some(Err(_)) => tracing::warn!(source = %ctx.name, %peer, "TLS handshake timed out"),
                            None => {}
                        }
                    }
                }
            }
        })
        .await;
    Ok(())
}

async fn connection<S: AsyncRead + Unpin>(
    stream: S,
    peer: SocketAddr,
    port: u16,
    cfg: Arc<SyslogTcpConfig>,
    ctx: SourceCtx,
    peers: PeerHeaders,
    budget: Arc<Budget>,
) {
    let mut extra = peers.for_peer(peer).await;
    if let Some(h) = &cfg.port_header {
        extra.push((h.clone(), port.to_string()));
    }
    super::conn::run(stream, peer, cfg, ctx, extra, budget).await;
}

impl crate::agent::source::BuildSource for SyslogTcpConfig {
    fn listens(&self) -> bool {
        true
    }

    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn run(&self, ctx: crate::agent::source::SourceCtx) -> crate::agent::source::SourceTask {
        Box::pin(run(self.clone(), ctx))
    }
}
