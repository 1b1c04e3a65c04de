//! The `netcatudp` source: each line of a datagram is one event (a trailing `\r` is removed,
//! empty lines are skipped), with the sender as `/ip:port` in the `remoteAddressHeader`
//! header when one is named. Flume keeps only a datagram's first line; Sluice keeps them all.
//! A datagram's events go in one transaction (retried with Flume's backoff while the channel
//! refuses them). At-most-once: UDP has no acknowledgement, and what the kernel drops or this
//! process had not committed at a crash is lost.

use super::udp::{self, DATAGRAM_BYTES_MAX};
use super::{SourceCtx, SourceError};
use crate::agent::config::Ctx;
use sluice_core::Event;

/// `netcatudp` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetcatUdpConfig {
    /// `bind` (default all interfaces).
    pub bind: String,
    /// `port`.
    pub port: u16,
    /// `remoteAddressHeader` (Flume's code reads `remoteAddress`; both are accepted): header
    /// that gets the sender as `/ip:port`.
    pub remote_address_header: Option<String>,
}

/// Reads a `netcatudp` source's keys.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<NetcatUdpConfig> {
    let port = cx.port("port");
    let header = cx
        .get("remoteAddressHeader")
        .or_else(|| cx.get("remoteAddress"));
    Some(NetcatUdpConfig {
        bind: cx.get("bind").unwrap_or_else(|| "0.0.0.0".into()),
        remote_address_header: header,
        port: port?,
    })
}

/// Receives datagrams until stopped.
pub(crate) async fn run(cfg: NetcatUdpConfig, mut ctx: SourceCtx) -> Result<(), SourceError> {
    let sock = udp::bind(&ctx, &cfg.bind, cfg.port).await?;
    tracing::info!(source = %ctx.name, bind = %cfg.bind, port = cfg.port, "netcatudp source listening");
    let mut buf = vec![0u8; DATAGRAM_BYTES_MAX];
    let mut stop = ctx.stop.clone();
    while let Some((n, peer)) = udp::recv(&sock, &mut buf, &ctx.name, &mut stop).await {
        let addr = format!("/{peer}");
        let batch = lines(buf.get(..n).unwrap_or_default())
            .map(|l| {
                let e = Event::new(l.to_vec());
                match &cfg.remote_address_header {
                    Some(h) => e.header(h.clone(), addr.clone()),
                    None => e,
                }
            })
            .collect::<Vec<_>>();
        if batch.is_empty() {
            continue;
        }
        if !ctx.put_with_retry(batch).await {
            return Ok(());
        }
    }
    Ok(())
}

/// The non-empty lines of a datagram, without `\n` or a trailing `\r`.
pub(crate) fn lines(datagram: &[u8]) -> impl Iterator<Item = &[u8]> {
    datagram
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
}

impl crate::agent::source::BuildSource for NetcatUdpConfig {
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
