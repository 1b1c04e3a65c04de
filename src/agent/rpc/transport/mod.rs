//! The transport layer of every RPC hop (Avro today, Thrift next): what sits between the TCP
//! socket and the protocol's frames. A connection is plain, TLS (rustls), deflate (a zlib
//! stream over the whole connection, as Flume's), or TLS carrying deflate (Flume's pipeline
//! order: TLS outermost), the same way on the accepting side ([`ServerTransport::accept`]) and
//! the connecting side ([`ClientTransport::connect`]). The protocol code only sees a [`Conn`]
//! (`AsyncRead + AsyncWrite`) and must `flush` after writing a frame.
//!
//! Accepting, in order, all bounded by one handshake deadline (`ssl-handshake-timeout`):
//! 1. `ipFilter`: the rules decide before a byte is read (a `name:` rule waits for a reverse
//!    lookup, at most [`crate::agent::peer::LOOKUP_TIMEOUT`]); a refused peer is
//!    closed at once.
//! 2. The first bytes are peeked ([`sniff`]): a peer that speaks TLS to a plain port, plain
//!    text to a TLS port, deflate to an uncompressed port, or plain data to a deflate port is
//!    refused with a [`Refusal`] that says so.
//! 3. The TLS handshake, within the source's handshake budget ([`handshake_budget`]:
//!    `ssl-max-handshakes` at once, `ssl-handshake-rate-per-peer` per peer address; a
//!    handshake over it is refused before any cryptography and counted in
//!    `TlsHandshakeRefusedCount`); 4. the deflate wrapper: its inflated bytes fill frames
//!    under `max-frame-size` and `max-inflight-bytes` like any others, and, when
//!    `max-inflate-ratio` is set, are capped per compressed byte ([`Deflate::with_ratio_cap`];
//!    a connection over it counted in `InflateRatioRefusedCount`).
//!
//! Every step runs in the connection's own task: a slow or failing peer never stalls the
//! listener or other connections. Each refusal is one [`Refusal`], for one log line.

pub(crate) mod boxed;
mod client;
pub(crate) mod config;
mod conn;
pub(crate) mod deflate;
pub(crate) mod handshake_budget;
pub(crate) mod keystore;
pub mod settings;
pub(crate) mod sniff;
pub(crate) mod tls;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use handshake_budget::HandshakeBudget;

pub use client::{ClientTransport, DialError, HandshakeFailed, LinkError};
pub(crate) use conn::Conn;
pub(crate) use deflate::Deflate;
pub use settings::{ClientSecurity, Compression, ServerSecurity};
pub(crate) use sniff::Opening;

use crate::agent::peer::PeerHeaders;
use crate::agent::rpc::ipfilter::{Decision, IpFilter};

/// A configuration that cannot be turned into a transport.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A keystore or truststore.
    #[error(transparent)]
    Store(#[from] keystore::StoreError),
    /// rustls refused the settings.
    #[error("TLS: {0}")]
    Tls(String),
    /// `ipFilterRules`.
    #[error(transparent)]
    IpFilter(#[from] crate::agent::rpc::ipfilter::IpFilterError),
}

/// Why an accepted connection was closed before the protocol saw it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    /// `ipFilter`: a `deny` rule matched first.
    #[error("refused by ipFilter rule {rule:?}")]
    Filtered {
        /// The rule as written.
        rule: String,
    },
    /// The first bytes are not what this port speaks.
    #[error("{0}")]
    WrongOpening(String),
    /// The TLS handshake failed.
    #[error("TLS handshake failed: {0}")]
    Handshake(String),
    /// The source's handshake budget had no room for it.
    #[error("TLS handshake refused: {0}")]
    OverBudget(#[from] handshake_budget::OverBudget),
    /// Nothing (or no whole handshake) within the deadline.
    #[error("no {what} within ssl-handshake-timeout ({ms} ms)")]
    Timeout {
        /// What was awaited.
        what: &'static str,
        /// The timeout.
        ms: u64,
    },
    /// The peer closed the connection before sending anything.
    #[error("closed by the peer before the first byte")]
    Closed,
    /// The socket failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}

impl Refusal {
    /// Whether it is worth a warning (a peer that connects and leaves is not).
    pub(crate) fn is_quiet(&self) -> bool {
        matches!(self, Refusal::Closed)
    }
}

/// The protocol a port speaks above the transport (what a first-bytes mismatch names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// Flume's Avro RPC (Netty framing).
    Avro,
    /// Flume's Thrift RPC (framed).
    Thrift,
}

/// The accepting side of a source, built once from its [`ServerSecurity`].
pub(crate) struct ServerTransport {
    protocol: Protocol,
    tls: Option<TlsAcceptor>,
    deflate: Option<u32>,
    filter: Option<IpFilter>,
    names: PeerHeaders,
    handshake_timeout: Duration,
    handshakes: HandshakeBudget,
    handshakes_refused: AtomicU64,
    inflate_ratio_max: u64,
    inflate_refused: Arc<AtomicU64>,
}

impl std::fmt::Debug for ServerTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTransport")
            .field("tls", &self.tls.is_some())
            .field("deflate", &self.deflate)
            .field("filter", &self.filter)
            .finish()
    }
}

impl ServerTransport {
    /// The same, for a port that speaks `protocol` (Avro by default).
    pub(crate) fn speaking(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Reads the keystore and the rules (for an Avro port; see [`Self::speaking`]).
    pub(crate) fn new(sec: &ServerSecurity) -> Result<Self, TransportError> {
        let tls = match &sec.tls {
            None => None,
            Some(s) => Some(TlsAcceptor::from(Arc::new(tls::server_config(s)?))),
        };
        let filter = match &sec.ip_filter {
            None => None,
            Some(rules) => Some(IpFilter::parse(rules)?),
        };
        Ok(ServerTransport {
            protocol: Protocol::Avro,
            tls,
            deflate: match sec.compression {
                Compression::None => None,
                Compression::Deflate { level } => Some(level),
            },
            filter,
            names: PeerHeaders::default(),
            handshake_timeout: sec.handshake_timeout,
            handshakes: HandshakeBudget::new(
                sec.handshakes.concurrent_max,
                sec.handshakes.per_peer_per_s,
            ),
            handshakes_refused: AtomicU64::new(0),
            inflate_ratio_max: sec.inflate_ratio_max,
            inflate_refused: Arc::default(),
        })
    }

    /// The transport's gauges for the source's metrics: `TlsHandshakesInProgress` and
    /// `TlsHandshakeRefusedCount` on a TLS port, `InflateRatioRefusedCount` on a deflate one.
    pub(crate) fn gauges(&self) -> Vec<(&'static str, String)> {
        let mut g = Vec::new();
        if self.tls.is_some() {
            g.push((
                "TlsHandshakesInProgress",
                self.handshakes.in_progress().to_string(),
            ));
            g.push((
                "TlsHandshakeRefusedCount",
                self.handshakes_refused.load(Ordering::Relaxed).to_string(),
            ));
        }
        if self.deflate.is_some() {
            g.push((
                "InflateRatioRefusedCount",
                self.inflate_refused.load(Ordering::Relaxed).to_string(),
            ));
        }
        g
    }

    fn inflating<S>(&self, inner: S, level: u32) -> Deflate<S> {
        let d = Deflate::new(inner, level);
        if self.inflate_ratio_max == 0 {
            return d;
        }
        d.with_ratio_cap(self.inflate_ratio_max, self.inflate_refused.clone())
    }

    /// The TLS handshake within the budget (a slot held while it runs) and the deadline.
    async fn handshake(
        &self,
        acceptor: &TlsAcceptor,
        stream: TcpStream,
        peer: SocketAddr,
        deadline: Instant,
    ) -> Result<TlsStream<TcpStream>, Refusal> {
        let _slot = match self.handshakes.admit(peer.ip(), std::time::Instant::now()) {
            Ok(slot) => slot,
            Err(over) => {
                self.handshakes_refused.fetch_add(1, Ordering::Relaxed);
                return Err(over.into());
            }
        };
        match tokio::time::timeout_at(deadline, acceptor.accept(stream)).await {
            Err(_) => Err(Refusal::Timeout {
                what: "whole TLS handshake",
                ms: self.handshake_timeout.as_millis() as u64,
            }),
            Ok(Err(e)) => Err(Refusal::Handshake(tls::explain(&e))),
            Ok(Ok(s)) => Ok(s),
        }
    }

    /// What a log line at start says about it (`tls+deflate, ipFilter allow:ip:10.*,...`).
    pub(crate) fn describe(&self) -> String {
        let mut s = self.layers().to_owned();
        if let Some(f) = &self.filter {
            s.push_str(&format!(", ipFilter {}", f.describe()));
        }
        s
    }

    fn layers(&self) -> &'static str {
        match (self.tls.is_some(), self.deflate.is_some()) {
            (false, false) => "plain",
            (true, false) => "tls",
            (false, true) => "deflate",
            (true, true) => "tls+deflate",
        }
    }

    /// The `ipFilter` verdict on a peer (a name lookup when a rule needs one). The caller
    /// records a refusal before it closes the socket, so the peer never sees the close of a
    /// refusal that is not yet counted and logged.
    pub(crate) async fn screen(&self, peer: SocketAddr) -> Result<(), Refusal> {
        if let Some(f) = &self.filter {
            let mut d = f.decide(peer.ip(), None);
            if d == Decision::NeedName {
                let name = self.names.host_name(peer.ip()).await;
                d = f.decide(peer.ip(), Some(&name));
            }
            if let Decision::Deny { rule } = d {
                return Err(Refusal::Filtered { rule });
            }
        }
        Ok(())
    }

    /// Takes a socket [`screen`](Self::screen) let through the first-bytes check and the
    /// handshakes. Cancel safe (dropping it drops the socket).
    pub(crate) async fn accept(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> Result<Conn, Refusal> {
        let deadline = Instant::now() + self.handshake_timeout;
        let ms = self.handshake_timeout.as_millis() as u64;
        let first = match tokio::time::timeout_at(deadline, peek(&stream)).await {
            Ok(r) => Some(r?),
            Err(_) => None,
        };
        let opening = match first.as_deref() {
            Some([]) => return Err(Refusal::Closed),
            Some(bytes) => Some(sniff::classify(bytes)),
            // A silent plain peer is the protocol's business (its idle-timeout).
            None if self.layers() == "plain" => None,
            None => {
                return Err(Refusal::Timeout {
                    what: "first bytes from the peer",
                    ms,
                })
            }
        };
        if let Some(o) = opening {
            if let Err(e) = self.check_opening(o) {
                close_gently(stream, deadline).await;
                return Err(e);
            }
        }
        let level = self.deflate;
        match &self.tls {
            None => Ok(match level {
                None => Conn::new(stream, "plain"),
                Some(l) => Conn::new(self.inflating(stream, l), "deflate"),
            }),
            Some(acceptor) => {
                let tls = self.handshake(acceptor, stream, peer, deadline).await?;
                Ok(match level {
                    None => Conn::new(tls, "tls"),
                    Some(l) => Conn::new(self.inflating(tls, l), "tls+deflate"),
                })
            }
        }
    }

    fn check_opening(&self, o: Opening) -> Result<(), Refusal> {
        let wrong = |msg: String| Err(Refusal::WrongOpening(msg));
        let tls = self.tls.is_some();
        let deflate = self.deflate.is_some();
        match o {
            Opening::Tls if !tls => wrong(format!(
                "the peer speaks TLS to this plain port: its first bytes are {}; set ssl = true \
                 here too, or ssl = false on the peer",
                o.describe()
            )),
            Opening::Tls => Ok(()),
            _ if tls => wrong(format!(
                "the peer does not speak TLS to this TLS port (ssl = true): its first bytes are \
                 {}; set ssl = true on the peer",
                o.describe()
            )),
            Opening::Deflate if !deflate => wrong(format!(
                "the peer sends a deflate stream to this uncompressed port: its first bytes are \
                 {}; set compression-type = deflate here too, or none on the peer",
                o.describe()
            )),
            Opening::Deflate => Ok(()),
            _ if deflate => wrong(format!(
                "the peer sends uncompressed data to this deflate port (compression-type = \
                 deflate): its first bytes are {}; set compression-type = deflate on the peer",
                o.describe()
            )),
            Opening::Thrift if self.protocol == Protocol::Thrift => Ok(()),
            Opening::Http | Opening::Thrift => wrong(format!(
                "the peer speaks another protocol than {:?}: its first bytes are {}",
                self.protocol,
                o.describe()
            )),
            Opening::Other => Ok(()),
        }
    }
}

/// Most bytes read from a refused peer before its socket is dropped.
const REFUSED_DRAIN_BYTES_MAX: usize = 64 << 10;
/// Longest wait for a refused peer's bytes in flight (within the handshake deadline).
const REFUSED_DRAIN_TIME: Duration = Duration::from_millis(200);

/// Closes a refused connection with a FIN, then reads (bounded in bytes and time) what the
/// peer already sent, so it sees the connection closed rather than reset (a socket dropped
/// with unread bytes sends a reset).
async fn close_gently(mut stream: TcpStream, deadline: Instant) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = stream.shutdown().await;
    let until = deadline.min(Instant::now() + REFUSED_DRAIN_TIME);
    let mut buf = [0u8; 4096];
    let mut left = REFUSED_DRAIN_BYTES_MAX;
    while left > 0 {
        match tokio::time::timeout_at(until, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => left = left.saturating_sub(n),
            _ => break,
        }
    }
}

/// The first bytes the peer sent, without taking them (empty: the peer closed).
async fn peek(stream: &TcpStream) -> io::Result<Vec<u8>> {
    let mut buf = [0u8; sniff::SNIFF_BYTES];
    let n = stream.peek(&mut buf).await?;
    Ok(buf.get(..n).unwrap_or_default().to_vec())
}
