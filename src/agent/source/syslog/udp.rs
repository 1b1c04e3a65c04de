//! `syslogudp`: each datagram holds one message (RFC 5426); a datagram with several lines
//! gives one event per line, and one longer than `eventSize` is cut as on TCP. At-most-once:
//! datagrams that arrive while a batch is retried wait in the socket buffer, and the kernel
//! drops what does not fit.

use tokio::net::UdpSocket;

use super::frame::Framer;
use crate::agent::config::net::SyslogUdpConfig;
use crate::agent::source::peer::PeerHeaders;
use crate::agent::source::{SourceCtx, SourceError};

/// Largest datagram read.
pub const DATAGRAM_BYTES_MAX: usize = 65_536;
/// Pause after a failed receive.
pub const RECV_ERROR_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

/// Receives datagrams until stopped.
pub async fn run(cfg: SyslogUdpConfig, mut ctx: SourceCtx) -> Result<(), SourceError> {
    let sock = UdpSocket::bind((cfg.host.as_str(), cfg.port))
        .await
        .map_err(|e| ctx.error(format!("cannot bind UDP {}:{}: {e}", cfg.host, cfg.port)))?;
    tracing::info!(source = %ctx.name, host = %cfg.host, port = cfg.port, "syslog UDP source listening");
    let peers = PeerHeaders::new(
        cfg.syslog.client_ip_header.clone(),
        cfg.syslog.client_hostname_header.clone(),
    );
    let mut buf = vec![0u8; DATAGRAM_BYTES_MAX];
    let mut stop = ctx.stop.clone();
    loop {
        let (n, peer) = tokio::select! {
            _ = stop.wait() => return Ok(()),
            r = sock.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(source = %ctx.name, error = %e, "receive failed");
                    // A persistent error must not turn into a busy loop.
                    if stop.sleep(RECV_ERROR_PAUSE).await {
                        return Ok(());
                    }
                    continue;
                }
            },
        };
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
}
