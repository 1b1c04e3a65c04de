//! The otlp sink's connector, for tonic's channel (gRPC) and hyper's pooled client (HTTP)
//! alike: TCP to the endpoint's host and port (`TCP_NODELAY`), then with `ssl = true` a
//! rustls handshake whose configuration is the RPC sinks' own
//! ([`crate::agent::rpc::transport::tls::client_config`]: the truststore, `trust-all-certs`,
//! `verify-hostname`, protocols and suites), offering ALPN `h2` for gRPC (gRPC servers such
//! as the Collector's require it) or `http/1.1` for HTTP. Both steps together are bounded by
//! `connectTimeout`. A failure is an `io::Error` whose text names the endpoint and, for a
//! handshake, the certificate problem and what to change: the sink logs it as it is.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use super::config::{OtlpSinkConfig, Protocol};
use crate::agent::rpc::transport::boxed::Boxed;
use crate::agent::rpc::transport::settings::Trust;
use crate::agent::rpc::transport::{tls, TransportError};

/// Connects to an otlp sink's endpoint (cheap to clone: the TLS configuration is shared).
#[derive(Clone)]
pub(crate) struct Dialer {
    tls: Option<TlsConnector>,
    /// Whether only the public web roots are trusted (no `truststore`): said on a failure.
    public_roots: bool,
    connect_timeout: Duration,
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dialer")
            .field("tls", &self.tls.is_some())
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl Dialer {
    /// Reads the truststore; an error names it.
    pub(crate) fn new(cfg: &OtlpSinkConfig) -> Result<Dialer, TransportError> {
        let tls = match &cfg.tls {
            None => None,
            Some(s) => {
                let mut c = tls::client_config(s)?;
                c.alpn_protocols = vec![match cfg.protocol {
                    Protocol::Grpc => b"h2".to_vec(),
                    Protocol::Http => b"http/1.1".to_vec(),
                }];
                Some(TlsConnector::from(Arc::new(c)))
            }
        };
        Ok(Dialer {
            tls,
            public_roots: cfg.tls.as_ref().is_some_and(|s| s.trust == Trust::Public),
            connect_timeout: cfg.connect_timeout,
        })
    }

    /// Connects to `uri`'s host and port; TLS over it when configured.
    pub(crate) async fn dial(self, uri: Uri) -> io::Result<TokioIo<Link>> {
        let host = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("{uri}: no host"))
            })?;
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("https") {
                443
            } else {
                80
            });
        let ms = self.connect_timeout.as_millis();
        let timed_out = |what: &str| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{what} {host}:{port} took longer than connectTimeout ({ms} ms)"),
            )
        };
        let deadline = tokio::time::Instant::now() + self.connect_timeout;
        let tcp = tokio::time::timeout_at(deadline, TcpStream::connect((host.as_str(), port)))
            .await
            .map_err(|_| timed_out("connecting to"))?
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot connect to {host}:{port}: {e}"))
            })?;
        let _ = tcp.set_nodelay(true);
        let Some(connector) = &self.tls else {
            return Ok(TokioIo::new(Link::new(tcp, Alpn { h2: false })));
        };
        let name = ServerName::try_from(host.clone()).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{host:?} is not a valid TLS server name: {e}"),
            )
        })?;
        let stream = tokio::time::timeout_at(deadline, connector.connect(name, tcp))
            .await
            .map_err(|_| timed_out("the TLS handshake with"))?
            .map_err(|e| self.handshake_failed(&host, port, &e))?;
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        Ok(TokioIo::new(Link::new(stream, Alpn { h2 })))
    }

    fn handshake_failed(&self, host: &str, port: u16, e: &io::Error) -> io::Error {
        let mut reason = tls::explain(e);
        if self.public_roots && reason.contains("truststore") {
            reason.push_str(
                "; no truststore is set, so only the public web roots are trusted: set \
                 truststore = the receiver's CA (PEM or PKCS12)",
            );
        }
        if matches!(
            e.kind(),
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset
        ) {
            reason.push_str(
                " (the receiver closed the connection during the handshake: does its source \
                 have ssl = true? its log says why)",
            );
        }
        io::Error::new(
            e.kind(),
            format!("TLS handshake with {host}:{port} failed: {reason}"),
        )
    }
}

impl tonic::codegen::Service<Uri> for Dialer {
    type Response = TokioIo<Link>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<TokioIo<Link>>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        Box::pin(self.clone().dial(uri))
    }
}

/// What a [`Link`] negotiated: whether ALPN chose `h2`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Alpn {
    h2: bool,
}

/// One connection to the receiver, plain or TLS.
pub(crate) type Link = Boxed<Alpn>;

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link").field("h2", &self.tag().h2).finish()
    }
}

impl Connection for Link {
    fn connected(&self) -> Connected {
        let c = Connected::new();
        if self.tag().h2 {
            c.negotiated_h2()
        } else {
            c
        }
    }
}
