//! The connecting side of an RPC sink: [`ClientTransport::connect`] sets up TLS (verifying
//! the server as the sink's keys say) and deflate over a connected socket;
//! [`ClientTransport::dial`] connects the socket first, both within one deadline.

use std::io;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use super::settings::{ClientSecurity, Compression};
use super::{tls, Conn, Deflate, TransportError};

/// The connecting side of a sink, built once from its [`ClientSecurity`] (`default()`:
/// plain).
#[derive(Clone, Default)]
pub struct ClientTransport {
    tls: Option<TlsConnector>,
    deflate: Option<u32>,
}

impl std::fmt::Debug for ClientTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTransport")
            .field("tls", &self.tls.is_some())
            .field("deflate", &self.deflate)
            .finish()
    }
}

/// Why [`ClientTransport::dial`] failed.
#[derive(Debug)]
pub enum DialError {
    /// `connect` or `TLS handshake` did not finish by the deadline.
    Timeout(&'static str),
    /// The TCP connect failed.
    Connect(io::Error),
    /// The layers over the socket could not be set up.
    Handshake(HandshakeFailed),
}

/// The link to an RPC server failed, whatever protocol runs over it (the avro and thrift
/// clients' errors carry it). After any of these, drop the client.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The TCP connection could not be made.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The target.
        addr: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Connect, handshake or call took too long.
    #[error("{what} with {addr} timed out after {ms} ms")]
    Timeout {
        /// The target.
        addr: String,
        /// `connect`, `handshake`, `TLS handshake`, `appendBatch`, ...
        what: &'static str,
        /// The timeout.
        ms: u64,
    },
    /// Reading or writing the socket failed.
    #[error("i/o with {addr}: {source}")]
    Io {
        /// The target.
        addr: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The TLS handshake failed.
    #[error(transparent)]
    Handshake(#[from] HandshakeFailed),
}

impl LinkError {
    /// The error of a failed [`ClientTransport::dial`] to `addr` within `ms`.
    pub(crate) fn dial(addr: &str, e: DialError, ms: u64) -> Self {
        let addr = addr.to_owned();
        match e {
            DialError::Timeout(what) => LinkError::Timeout { addr, what, ms },
            DialError::Connect(source) => LinkError::Connect { addr, source },
            DialError::Handshake(h) => LinkError::Handshake(h),
        }
    }

    /// Socket I/O with `addr` failed.
    pub(crate) fn io(addr: &str, source: io::Error) -> Self {
        LinkError::Io {
            addr: addr.to_owned(),
            source,
        }
    }
}

/// Why a connection could not be set up after TCP connected.
#[derive(Debug, thiserror::Error)]
#[error("TLS handshake with {addr} failed: {reason}")]
pub struct HandshakeFailed {
    /// The target.
    pub addr: String,
    /// Why, with a hint.
    pub reason: String,
}

impl ClientTransport {
    /// Reads the truststore.
    pub fn new(sec: &ClientSecurity) -> Result<Self, TransportError> {
        let tls = match &sec.tls {
            None => None,
            Some(s) => Some(TlsConnector::from(Arc::new(tls::client_config(s)?))),
        };
        Ok(ClientTransport {
            tls,
            deflate: match sec.compression {
                Compression::None => None,
                Compression::Deflate { level } => Some(level),
            },
        })
    }

    /// Connects to `addr` (`host:port`) with `TCP_NODELAY` and sets up the layers over it,
    /// all before `deadline`.
    pub(crate) async fn dial(&self, addr: &str, deadline: Instant) -> Result<Conn, DialError> {
        let stream = match timeout_at(deadline, TcpStream::connect(addr)).await {
            Err(_) => return Err(DialError::Timeout("connect")),
            Ok(Err(e)) => return Err(DialError::Connect(e)),
            Ok(Ok(s)) => s,
        };
        let _ = stream.set_nodelay(true);
        let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
        match timeout_at(deadline, self.connect(stream, host, addr)).await {
            Err(_) => Err(DialError::Timeout("TLS handshake")),
            Ok(r) => r.map_err(DialError::Handshake),
        }
    }

    /// Sets up the layers over a connected socket to `host` (the name the server's
    /// certificate must carry). The caller bounds it with its connect timeout. Not cancel
    /// safe in a useful way: a cancelled connect leaves nothing to reuse.
    pub(crate) async fn connect(
        &self,
        stream: TcpStream,
        host: &str,
        addr: &str,
    ) -> Result<Conn, HandshakeFailed> {
        let failed = |reason: String| HandshakeFailed {
            addr: addr.to_owned(),
            reason,
        };
        match &self.tls {
            None => Ok(match self.deflate {
                None => Conn::new(stream, "plain"),
                Some(l) => Conn::new(Deflate::new(stream, l), "deflate"),
            }),
            Some(connector) => {
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let name = ServerName::try_from(host.to_owned())
                    .map_err(|e| failed(format!("{host:?} is not a valid server name: {e}")))?;
                let tls = connector.connect(name, stream).await.map_err(|e| {
                    let mut reason = tls::explain(&e);
                    if e.kind() == io::ErrorKind::UnexpectedEof
                        || e.kind() == io::ErrorKind::ConnectionReset
                    {
                        reason.push_str(
                            " (the downstream closed the connection during the handshake: does \
                             its source have ssl = true? its log says why)",
                        );
                    }
                    failed(reason)
                })?;
                Ok(match self.deflate {
                    None => Conn::new(tls, "tls"),
                    Some(l) => Conn::new(Deflate::new(tls, l), "tls+deflate"),
                })
            }
        }
    }
}
