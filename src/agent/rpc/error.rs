//! Why an RPC connection or call failed ([`RpcError`]), and what kind of failure it is
//! ([`RpcErrorKind`]): connect, handshake, time-out, the peer's `FAILED` or error, a bad
//! answer (codec), the connection closed. The RPC sinks map the kind into their
//! [`SinkErrorKind`](crate::agent::sink::SinkErrorKind); [`RpcErrorKind::retryable`] says
//! whether a new connection may succeed without a change of configuration.

use std::sync::Arc;

use crate::agent::rpc::thrift_client::ThriftRpcError;
use crate::agent::rpc::transport::LinkError;
use crate::wire::avro::{AvroError, Status};

/// What kind of failure an [`RpcError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RpcErrorKind {
    /// The TCP connection could not be made.
    Connect,
    /// The TLS or protocol handshake failed (certificates, a peer of another protocol or
    /// compression).
    Handshake,
    /// Connect, handshake or call took too long.
    Timeout,
    /// The peer answered that it did not take the events (`FAILED`, an error).
    Peer,
    /// The peer's bytes are not a valid answer.
    Codec,
    /// The connection was closed or broke (reset, socket I/O failed).
    Closed,
}

impl RpcErrorKind {
    /// Whether a new connection may succeed without a change of configuration: a refused or
    /// broken connection, a time-out or a peer's refusal may pass; a failed handshake or a
    /// peer speaking another protocol will not.
    pub fn retryable(self) -> bool {
        match self {
            RpcErrorKind::Connect
            | RpcErrorKind::Timeout
            | RpcErrorKind::Peer
            | RpcErrorKind::Closed => true,
            RpcErrorKind::Handshake | RpcErrorKind::Codec => false,
        }
    }
}

/// Why a connection or a call failed. After any of these, drop the client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The connection failed: connect, time-out, socket I/O or TLS handshake.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The server closed the connection.
    #[error("{addr} closed the connection")]
    Closed {
        /// The target.
        addr: String,
    },
    /// The server's bytes are not a valid answer.
    #[error("bad answer from {addr}: {source}")]
    Protocol {
        /// The target.
        addr: String,
        /// What is wrong.
        #[source]
        source: AvroError,
    },
    /// The server answered `FAILED` or `UNKNOWN` (the events were not accepted).
    #[error("{addr} answered {status:?}")]
    Status {
        /// The target.
        addr: String,
        /// The answer.
        status: Status,
    },
    /// The connection failed during the handshake on a deflate connection: the most common
    /// cause is a peer that does not use `compression-type = deflate` (a plain source closes a
    /// connection whose first bytes are a deflate stream), so the error says so.
    #[error("{inner} (during the handshake on a deflate connection: the peer may not be using compression-type = deflate; both ends must set the same compression-type)")]
    NotDeflate {
        /// What failed.
        inner: Box<RpcError>,
    },
    /// The server answered with an Avro system error.
    #[error("{addr} answered with an error: {message}")]
    Remote {
        /// The target.
        addr: String,
        /// Its message (control characters escaped: it is the peer's text).
        message: String,
    },
    /// A connection with several calls in flight ([`super::avro_pipe`]) was made from a
    /// client whose handshake is not done.
    #[error("{addr}: the handshake is not done")]
    NotHandshaken {
        /// The target.
        addr: String,
    },
    /// A Thrift client's failure.
    #[error(transparent)]
    Thrift(#[from] ThriftRpcError),
    /// The failure that broke a connection with several calls in flight, as each call still
    /// waiting on it sees it.
    #[error(transparent)]
    Broken(Arc<RpcError>),
}

impl RpcError {
    /// What kind of failure this is.
    pub fn kind(&self) -> RpcErrorKind {
        match self {
            RpcError::Link(l) => l.kind(),
            RpcError::Closed { .. } => RpcErrorKind::Closed,
            RpcError::Protocol { .. } => RpcErrorKind::Codec,
            RpcError::Status { .. } | RpcError::Remote { .. } => RpcErrorKind::Peer,
            RpcError::NotDeflate { .. } | RpcError::NotHandshaken { .. } => RpcErrorKind::Handshake,
            RpcError::Thrift(t) => t.kind(),
            RpcError::Broken(e) => e.kind(),
        }
    }

    /// Whether a new connection may succeed without a change ([`RpcErrorKind::retryable`]).
    pub fn retryable(&self) -> bool {
        self.kind().retryable()
    }

    /// Whether the peer went away or stopped answering (closed, reset, timed out) rather than
    /// answering something.
    pub(crate) fn is_link_loss(&self) -> bool {
        matches!(
            self,
            RpcError::Closed { .. }
                | RpcError::Link(LinkError::Io { .. } | LinkError::Timeout { .. })
        )
    }
}

impl LinkError {
    /// What kind of failure this is: connect, time-out, the connection broken, or the TLS
    /// handshake.
    pub fn kind(&self) -> RpcErrorKind {
        match self {
            LinkError::Connect { .. } => RpcErrorKind::Connect,
            LinkError::Timeout { .. } => RpcErrorKind::Timeout,
            LinkError::Io { .. } => RpcErrorKind::Closed,
            LinkError::Handshake(_) => RpcErrorKind::Handshake,
        }
    }
}

impl ThriftRpcError {
    /// What kind of failure this is.
    pub fn kind(&self) -> RpcErrorKind {
        match self {
            ThriftRpcError::Link(l) => l.kind(),
            ThriftRpcError::Closed { .. } => RpcErrorKind::Closed,
            ThriftRpcError::Protocol { .. } => RpcErrorKind::Codec,
            ThriftRpcError::Status { .. } => RpcErrorKind::Peer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link_timeout() -> RpcError {
        RpcError::Link(LinkError::Timeout {
            addr: "h:1".into(),
            what: "connect",
            ms: 10,
        })
    }

    #[test]
    fn a_refused_connect_is_retryable() {
        let e = RpcError::Link(LinkError::Connect {
            addr: "h:1".into(),
            source: std::io::ErrorKind::ConnectionRefused.into(),
        });
        assert_eq!(e.kind(), RpcErrorKind::Connect);
        assert!(e.retryable());
        assert!(link_timeout().retryable());
    }

    #[test]
    fn a_peer_answering_failed_is_retryable_and_a_bad_answer_is_not() {
        let failed = RpcError::Status {
            addr: "h:1".into(),
            status: Status::Failed,
        };
        assert_eq!(failed.kind(), RpcErrorKind::Peer);
        assert!(failed.retryable());
        let bad = RpcError::Protocol {
            addr: "h:1".into(),
            source: AvroError::UnexpectedResponse { reason: "x".into() },
        };
        assert_eq!(bad.kind(), RpcErrorKind::Codec);
        assert!(!bad.retryable());
    }

    #[test]
    fn a_deflate_mismatch_is_a_handshake_failure_that_a_retry_cannot_fix() {
        let e = RpcError::NotDeflate {
            inner: Box::new(link_timeout()),
        };
        assert_eq!(e.kind(), RpcErrorKind::Handshake);
        assert!(!e.retryable());
    }

    #[test]
    fn a_broken_pipe_keeps_the_kind_of_what_broke_it() {
        let e = RpcError::Broken(Arc::new(link_timeout()));
        assert_eq!(e.kind(), RpcErrorKind::Timeout);
        assert_eq!(e.to_string(), link_timeout().to_string());
    }
}
