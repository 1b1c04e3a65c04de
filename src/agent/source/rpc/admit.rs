//! What the `avro` and `thrift` sources do with an accepted connection before their protocol
//! sees it: [`ServerTransport::accept`] (`ipFilter`, the first bytes, the TLS handshake and the
//! deflate layer), bounded by the source's stop, with one log line and one count per refusal.
//! `ipFilter` refusals count as `ConnectionRefusedCount` (one warning per
//! [`REFUSAL_LOG_INTERVAL`](crate::agent::source::refusals::REFUSAL_LOG_INTERVAL)); the others (wrong first
//! bytes, a failed TLS handshake) as `EventReadFail`, warned through the source's bad-input
//! log ([`RefusalLog::bad_input`]: a few lines per interval, then a count). A handshake over
//! the source's TLS budget counts as `ConnectionRefusedCount` (and the transport's
//! `TlsHandshakeRefusedCount`), warned through the same bad-input log.

use std::net::SocketAddr;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::net::TcpStream;

use crate::agent::metrics::SourceCounter;
use crate::agent::rpc::transport::{Conn, Refusal, ServerTransport};
use crate::agent::source::refusals::RefusalLog;
use crate::agent::source::SourceCtx;

/// A source's transport and its rate-limited `ipFilter` warning.
#[derive(Clone, Copy)]
pub(crate) struct Gate<'a> {
    pub transport: &'a ServerTransport,
    pub filtered: &'a Mutex<RefusalLog>,
    /// The source's rate-limited bad-input warning.
    pub bad_input: &'a Mutex<RefusalLog>,
    /// `avro` or `thrift`, for the log lines.
    pub protocol: &'static str,
}

impl Gate<'_> {
    /// The connection once the transport accepted it; `None` when it refused it (logged and
    /// counted) or the source stopped first.
    pub async fn admit(self, ctx: &SourceCtx, stream: TcpStream, peer: SocketAddr) -> Option<Conn> {
        let mut stop = ctx.stop.clone();
        let screened = tokio::select! {
            _ = stop.wait() => return None,
            r = self.transport.screen(peer) => r,
        };
        if let Err(refusal) = screened {
            // Counted and logged before the socket closes (dropped at the end of this scope).
            self.refused(ctx, peer, &refusal);
            drop(stream);
            return None;
        }
        tokio::select! {
            _ = stop.wait() => None,
            r = self.transport.accept(stream, peer) => match r {
                Ok(c) => Some(c),
                Err(refusal) => {
                    self.refused(ctx, peer, &refusal);
                    None
                }
            },
        }
    }

    fn refused(self, ctx: &SourceCtx, peer: SocketAddr, refusal: &Refusal) {
        let protocol = self.protocol;
        match refusal {
            Refusal::Filtered { rule } => {
                ctx.counters.add(SourceCounter::ConnectionRefused, 1);
                if let Some(refused) = self.filtered.lock().refused(Instant::now()) {
                    tracing::warn!(source = %ctx.name, %peer, rule = %rule, refused, "connection refused by ipFilter");
                }
            }
            r @ Refusal::OverBudget(_) => {
                ctx.counters.add(SourceCounter::ConnectionRefused, 1);
                self.warn_bad_input(ctx, peer, r);
            }
            r if r.is_quiet() => {
                tracing::debug!(source = %ctx.name, %peer, "{protocol} connection closed: {r}");
            }
            r => {
                ctx.counters.add(SourceCounter::EventReadFail, 1);
                self.warn_bad_input(ctx, peer, r);
            }
        }
    }

    /// A warning through the source's rate-limited bad-input log (debug beyond its rate).
    fn warn_bad_input(self, ctx: &SourceCtx, peer: SocketAddr, r: &Refusal) {
        let protocol = self.protocol;
        match self.bad_input.lock().refused(Instant::now()) {
            Some(closed) => {
                tracing::warn!(source = %ctx.name, %peer, kind = "transport", closed, "{protocol} connection closed: {r}")
            }
            None => {
                tracing::debug!(source = %ctx.name, %peer, kind = "transport", "{protocol} connection closed: {r}")
            }
        }
    }
}
