//! `syslogtcp` and `multiport_syslogtcp`: one listener per port, one task per connection, at
//! most `maxConnections` connections over all ports (more are closed at once), each closed
//! after `idleTimeout` without data. Messages are framed by newline or octet count
//! (frame.rs); the messages already received, up to `batchSize`, go in one transaction.
//! With `ssl = true` each connection first completes a TLS handshake (tls.rs), bounded by
//! [`HANDSHAKE_TIMEOUT`].

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::config::SyslogTcpConfig;
use super::frame::Framer;
use crate::agent::source::peer::PeerHeaders;
use crate::agent::source::tls::{self, HANDSHAKE_TIMEOUT};
use crate::agent::source::{SourceCtx, SourceError};

/// Listens on every configured port until stopped.
pub async fn run(cfg: SyslogTcpConfig, ctx: SourceCtx) -> Result<(), SourceError> {
    let mut listeners = Vec::new();
    for &port in &cfg.ports {
        let l = TcpListener::bind((cfg.host.as_str(), port))
            .await
            .map_err(|e| ctx.error(format!("cannot listen on {}:{port}: {e}", cfg.host)))?;
        tracing::info!(source = %ctx.name, host = %cfg.host, port, "syslog TCP source listening");
        listeners.push((port, l));
    }
    let acceptor = match &cfg.tls {
        Some(t) => Some(tls::acceptor(t).map_err(|e| ctx.error(e))?),
        None => None,
    };
    let cfg = Arc::new(cfg);
    let permits = Arc::new(Semaphore::new(cfg.max_connections));
    let peers = PeerHeaders::new(
        cfg.syslog.client_ip_header.clone(),
        cfg.syslog.client_hostname_header.clone(),
    );
    let mut loops = JoinSet::new();
    for (port, l) in listeners {
        loops.spawn(accept_loop(
            l,
            port,
            cfg.clone(),
            ctx.clone(),
            permits.clone(),
            peers.clone(),
            acceptor.clone(),
        ));
    }
    while loops.join_next().await.is_some() {}
    Ok(())
}

async fn accept_loop(
    listener: TcpListener,
    port: u16,
    cfg: Arc<SyslogTcpConfig>,
    ctx: SourceCtx,
    permits: Arc<Semaphore>,
    peers: PeerHeaders,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) {
    let mut conns = JoinSet::new();
    let mut stop = ctx.stop.clone();
    loop {
        tokio::select! {
            _ = stop.wait() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match permits.clone().try_acquire_owned() {
                    Ok(permit) => {
                        let (cfg, ctx, peers) = (cfg.clone(), ctx.clone(), peers.clone());
                        let acceptor = acceptor.clone();
                        conns.spawn(async move {
                            match acceptor {
                                None => connection(stream, peer, port, cfg, ctx, peers).await,
                                Some(a) => {
                                    let mut stop = ctx.stop.clone();
                                    let shake = tokio::select! {
                                        _ = stop.wait() => None,
                                        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, a.accept(stream)) => Some(r),
                                    };
                                    match shake {
                                        Some(Ok(Ok(s))) => connection(s, peer, port, cfg, ctx, peers).await,
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
                        drop(stream);
                    }
                },
                Err(e) => {
                    tracing::warn!(source = %ctx.name, error = %e, "accept failed");
                    // Out of file descriptors and the like: do not spin.
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
}

async fn connection<S: AsyncRead + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    port: u16,
    cfg: Arc<SyslogTcpConfig>,
    mut ctx: SourceCtx,
    peers: PeerHeaders,
) {
    let mut extra = peers.for_peer(peer).await;
    if let Some(h) = &cfg.port_header {
        extra.push((h.clone(), port.to_string()));
    }
    let mut framer = Framer::new(cfg.syslog.event_size, true);
    let mut chunk = vec![0u8; cfg.read_buffer_size];
    let mut stop = ctx.stop.clone();
    let mut eof = false;
    loop {
        let mut frames = Vec::new();
        while frames.len() < cfg.batch_size {
            let f = if eof {
                framer.finish()
            } else {
                framer.next_frame()
            };
            match f {
                Some(f) => frames.push(f),
                None => break,
            }
        }
        if !frames.is_empty() {
            let batch = super::events(frames, &cfg.syslog, &extra);
            if !ctx.put_with_retry(batch).await {
                return;
            }
            continue;
        }
        if eof {
            return;
        }
        let read = tokio::select! {
            _ = stop.wait() => return,
            r = tokio::time::timeout(cfg.idle_timeout, stream.read(&mut chunk)) => r,
        };
        match read {
            Err(_) => {
                tracing::debug!(source = %ctx.name, %peer, "idle connection closed");
                eof = true;
            }
            Ok(Ok(0)) => eof = true,
            Ok(Ok(n)) => framer.push(chunk.get(..n).unwrap_or_default()),
            Ok(Err(e)) => {
                tracing::debug!(source = %ctx.name, %peer, error = %e, "read failed");
                eof = true;
            }
        }
    }
}

impl crate::agent::source::BuildSource for SyslogTcpConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn run(&self, ctx: crate::agent::source::SourceCtx) -> crate::agent::source::SourceTask {
        Box::pin(run(self.clone(), ctx))
    }
}
