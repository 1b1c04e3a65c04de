//! `syslogudp`: each datagram holds one message (RFC 5426); a datagram with several lines
//! gives one event per line, and one longer than `eventSize` is cut as on TCP. At-most-once:
//! datagrams that arrive while a batch is retried wait in the socket buffer, and the kernel
//! drops what does not fit.

use super::config::SyslogUdpConfig;
use super::frame::Framer;
use crate::agent::peer::PeerHeaders;
use crate::agent::source::udp::{self, DATAGRAM_BYTES_MAX};
use crate::agent::source::{SourceCtx, SourceError};

/// Receives datagrams until stopped.
pub(crate) async fn run(cfg: SyslogUdpConfig, mut ctx: SourceCtx) -> Result<(), SourceError> {
    let sock = udp::bind(&ctx, &cfg.host, cfg.port).await?;
    tracing::info!(source = %ctx.name, host = %cfg.host, port = cfg.port, "syslog UDP source listening");
    let peers = PeerHeaders::new(
        cfg.syslog.client_ip_header.clone(),
        cfg.syslog.client_hostname_header.clone(),
    );
    let mut buf = vec![0u8; DATAGRAM_BYTES_MAX];
    let mut stop = ctx.stop.clone();
    while let Some((n, peer)) = udp::recv(&sock, &mut buf, &ctx.name, &mut stop).await {
        let mut framer = Framer::new(cfg.syslog.event_size, false);
        framer.push(buf.get(..n).unwrap_or_default());
        let frames: Vec<_> = std::iter::from_fn(|| framer.finish()).collect();
        if frames.is_empty() {
            continue;
        }
        let extra = peers.for_peer(peer).await;
        let batch = super::events(frames, &cfg.syslog, &extra);
        if !ctx.put_with_retry(batch).await {
            return Ok(());
        }
    }
    Ok(())
}

impl crate::agent::source::BuildSource for SyslogUdpConfig {
    fn listens(&self) -> bool {
        true
    }

    fn batch_size(&self) -> usize {
        1
    }

    fn run(&self, ctx: crate::agent::source::SourceCtx) -> crate::agent::source::SourceTask {
        Box::pin(run(self.clone(), ctx))
    }
}
