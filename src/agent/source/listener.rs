//! The TCP listener of the line, syslog and RPC sources (`netcat`, `syslogtcp`,
//! `multiport_syslogtcp`, `avro`, `thrift`): binds every port, accepts until the source is stopped, caps the
//! connections open over all its ports at `max_connections` (one beyond the cap is closed at
//! once, counted as `ConnectionRefusedCount` and logged at most every
//! [`REFUSAL_LOG_INTERVAL`](super::refusals::REFUSAL_LOG_INTERVAL)), pauses [`ACCEPT_ERROR_PAUSE`] after a failed accept (out of file
//! descriptors) instead of spinning, and runs each connection as a task of its own. On stop it
//! closes its ports and waits for the connections, which watch the same stop signal and end
//! after the batch they are putting.
//!
//! What a connection does (framing, idle time-outs, TLS handshakes, replies) is the source's
//! own: the listener hands it the stream, its peer and the local port.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::contract::{SourceCtx, SourceError, SourceErrorKind};
use super::refusals::RefusalLog;
use crate::agent::metrics::SourceCounter;

/// Pause after a failed accept (e.g. EMFILE) so the loop does not spin.
pub(crate) const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The bound ports of a source, not yet accepting.
#[derive(Debug)]
pub(crate) struct Listener {
    ports: Vec<(u16, TcpListener)>,
    max_connections: usize,
}

impl Listener {
    /// Binds `host` on every port of `ports`; an error names the address that failed.
    pub(crate) async fn bind(
        ctx: &SourceCtx,
        host: &str,
        ports: &[u16],
        max_connections: usize,
    ) -> Result<Listener, SourceError> {
        let mut bound = Vec::with_capacity(ports.len());
        for &port in ports {
            let l = TcpListener::bind((host, port)).await.map_err(|e| {
                ctx.fail(
                    SourceErrorKind::Bind,
                    format!("cannot listen on {host}:{port}: {e}"),
                )
            })?;
            bound.push((port, l));
        }
        Ok(Listener {
            ports: bound,
            max_connections,
        })
    }

    /// The address the first port is bound to (its real port when 0 was asked for).
    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        self.ports.first().and_then(|(_, l)| l.local_addr().ok())
    }

    /// Accepts on every port until `ctx.stop` is set, running `connection(stream, peer,
    /// local port)` as one task per connection; returns once the ports are closed and every
    /// connection task has ended.
    pub(crate) async fn serve<F, Fut>(self, ctx: &SourceCtx, connection: F)
    where
        F: Fn(TcpStream, SocketAddr, u16) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        // Every port is bound: the source accepts input from here on.
        ctx.ready.accepting();
        let slots = Arc::new(Semaphore::new(self.max_connections));
        let refusals = Arc::new(Mutex::new(RefusalLog::default()));
        let mut loops = JoinSet::new();
        for (port, listener) in self.ports {
            let accept = AcceptLoop {
                listener,
                port,
                max_connections: self.max_connections,
                slots: slots.clone(),
                refusals: refusals.clone(),
                ctx: ctx.clone(),
            };
            loops.spawn(accept.run(connection.clone()));
        }
        while loops.join_next().await.is_some() {}
    }
}

/// One port's accept loop.
struct AcceptLoop {
    listener: TcpListener,
    port: u16,
    max_connections: usize,
    slots: Arc<Semaphore>,
    refusals: Arc<Mutex<RefusalLog>>,
    ctx: SourceCtx,
}

impl AcceptLoop {
    async fn run<F, Fut>(self, connection: F)
    where
        F: Fn(TcpStream, SocketAddr, u16) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut conns = JoinSet::new();
        let mut stop = self.ctx.stop.clone();
        loop {
            tokio::select! {
                _ = stop.wait() => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => match self.slots.clone().try_acquire_owned() {
                        Ok(slot) => {
                            tracing::debug!(source = %self.ctx.name, %peer, port = self.port, "connection");
                            let task = connection(stream, peer, self.port);
                            conns.spawn(async move {
                                task.await;
                                drop(slot);
                            });
                        }
                        Err(_) => {
                            drop(stream);
                            self.refused(peer);
                        }
                    },
                    Err(e) => {
                        tracing::warn!(source = %self.ctx.name, error = %e, "accept failed");
                        if stop.sleep(ACCEPT_ERROR_PAUSE).await {
                            break;
                        }
                    }
                },
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
        drop(self.listener);
        while conns.join_next().await.is_some() {}
    }

    /// Counts a connection closed at the cap; logs at most once per refusal interval.
    fn refused(&self, peer: SocketAddr) {
        self.ctx.counters.add(SourceCounter::ConnectionRefused, 1);
        let due = self.refusals.lock().refused(std::time::Instant::now());
        if let Some(refused) = due {
            tracing::warn!(source = %self.ctx.name, %peer, refused, max_connections = self.max_connections, "too many connections; closing new ones (maxConnections)");
        }
    }
}
