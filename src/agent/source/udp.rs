//! What the UDP sources (`netcatudp`, `syslogudp`) share: binding their socket, and receiving
//! the next datagram while watching the stop signal, with a pause after a failed receive so a
//! persistent error never becomes a busy loop.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;

use super::{SourceCtx, SourceError, SourceErrorKind};
use crate::agent::stop::Stop;

/// Largest datagram read.
pub(crate) const DATAGRAM_BYTES_MAX: usize = 65_536;
/// Pause after a failed receive.
pub(crate) const RECV_ERROR_PAUSE: Duration = Duration::from_millis(10);

/// Binds `host:port`, naming both in the error.
/// The source then accepts input (`SourceCtx::ready`).
pub(crate) async fn bind(ctx: &SourceCtx, host: &str, port: u16) -> Result<UdpSocket, SourceError> {
    let sock = UdpSocket::bind((host, port)).await.map_err(|e| {
        ctx.fail(
            SourceErrorKind::Bind,
            format!("cannot bind UDP {host}:{port}: {e}"),
        )
    })?;
    ctx.ready.accepting();
    Ok(sock)
}

/// The next datagram's length and sender, or `None` once the source is stopped. Cancel
/// safety: cancel safe (a datagram is either returned or left in the socket).
pub(crate) async fn recv(
    sock: &UdpSocket,
    buf: &mut [u8],
    source: &str,
    stop: &mut Stop,
) -> Option<(usize, SocketAddr)> {
    loop {
        tokio::select! {
            _ = stop.wait() => return None,
            r = sock.recv_from(buf) => match r {
                Ok(x) => return Some(x),
                Err(e) => {
                    tracing::warn!(source = %source, error = %e, "receive failed");
                    if stop.sleep(RECV_ERROR_PAUSE).await {
                        return None;
                    }
                }
            },
        }
    }
}
