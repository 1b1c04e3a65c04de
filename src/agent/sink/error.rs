//! Why a sink failed ([`SinkError`]) and what kind of failure it was ([`SinkErrorKind`]): what
//! the runner, the poison handler and the operator need to know without reading its words.

/// What kind of failure a [`SinkError`] is: what the runner and the operator need to know
/// without reading its words (vector's `TcpError::can_continue`, redb's error enums).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SinkErrorKind {
    /// The peer answered but did not take the batch (an RPC `FAILED`, an HTTP 5xx, a broker
    /// error, a bad answer, the connection lost mid-call).
    Peer,
    /// No connection to the peer (refused, unreachable, backoff still running).
    Connect,
    /// The peer did not answer in time.
    Timeout,
    /// The remote store (HDFS, S3) failed an operation.
    Store,
    /// Local I/O failed (a file the sink writes, a dead letter).
    Disk,
    /// The sink's configuration cannot work (an unusable TLS setting, a bad path template):
    /// retrying without a change cannot help.
    Config,
    /// The peer refused the batch for good (an HTTP 4xx that is not retried, credentials
    /// refused).
    Refused,
    /// The agent is stopping: the work was abandoned, nothing is wrong with the sink.
    Stopped,
}

impl SinkErrorKind {
    /// Whether the same batch may go through later without a change (of configuration or
    /// of the peer): the failures of a peer, a connection, a time limit, a store or a disk.
    pub fn retryable(self) -> bool {
        match self {
            SinkErrorKind::Peer
            | SinkErrorKind::Connect
            | SinkErrorKind::Timeout
            | SinkErrorKind::Store
            | SinkErrorKind::Disk => true,
            SinkErrorKind::Config | SinkErrorKind::Refused | SinkErrorKind::Stopped => false,
        }
    }
}

pub use crate::agent::component::BoxError;

/// A sink could not deliver a batch (or could not get ready, or its acknowledgements
/// failed); the take is rolled back. Its [`SinkErrorKind`] says what failed; `Display` is
/// `sink NAME: WHY`.
#[derive(Debug, thiserror::Error)]
#[error("sink {sink}: {source}")]
pub struct SinkError {
    /// The sink.
    pub sink: String,
    /// What kind of failure.
    pub kind: SinkErrorKind,
    /// What happened.
    #[source]
    pub source: BoxError,
}

impl SinkError {
    /// An error of kind `kind` of sink `sink`, caused by `source` (an error or a sentence).
    pub fn new(sink: impl Into<String>, kind: SinkErrorKind, source: impl Into<BoxError>) -> Self {
        SinkError {
            sink: sink.into(),
            kind,
            source: source.into(),
        }
    }

    /// The peer answered but did not take the batch.
    pub fn peer(sink: impl Into<String>, source: impl Into<BoxError>) -> Self {
        SinkError::new(sink, SinkErrorKind::Peer, source)
    }

    /// No connection to the peer.
    pub fn connect(sink: impl Into<String>, source: impl Into<BoxError>) -> Self {
        SinkError::new(sink, SinkErrorKind::Connect, source)
    }

    /// The peer did not answer in time.
    pub fn timeout(sink: impl Into<String>, source: impl Into<BoxError>) -> Self {
        SinkError::new(sink, SinkErrorKind::Timeout, source)
    }

    /// The remote store failed.
    pub fn store(sink: impl Into<String>, source: impl Into<BoxError>) -> Self {
        SinkError::new(sink, SinkErrorKind::Store, source)
    }

    /// Local I/O failed.
    pub fn disk(sink: impl Into<String>, source: impl Into<BoxError>) -> Self {
        SinkError::new(sink, SinkErrorKind::Disk, source)
    }

    /// The configuration cannot work.
    pub fn config(sink: impl Into<String>, source: impl Into<BoxError>) -> Self {
        SinkError::new(sink, SinkErrorKind::Config, source)
    }

    /// The peer refused the batch for good.
    pub fn refused(sink: impl Into<String>, source: impl Into<BoxError>) -> Self {
        SinkError::new(sink, SinkErrorKind::Refused, source)
    }

    /// The agent is stopping.
    pub fn stopped(sink: impl Into<String>, source: impl Into<BoxError>) -> Self {
        SinkError::new(sink, SinkErrorKind::Stopped, source)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> SinkErrorKind {
        self.kind
    }

    /// Whether the batch may go through later without a change ([`SinkErrorKind::retryable`]).
    pub fn retryable(&self) -> bool {
        self.kind.retryable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_connect_is_retryable_and_a_configuration_error_is_not() {
        let e = SinkError::connect("k1", "connection refused");
        assert_eq!(e.kind(), SinkErrorKind::Connect);
        assert!(e.retryable());
        assert!(!SinkError::config("k1", "bad truststore").retryable());
        assert!(!SinkError::refused("k1", "401").retryable());
        assert!(!SinkError::stopped("k1", "stopping").retryable());
        for e in [
            SinkError::peer("k1", "FAILED"),
            SinkError::timeout("k1", "no answer"),
            SinkError::store("k1", "namenode"),
            SinkError::disk("k1", "ENOSPC"),
        ] {
            assert!(e.retryable(), "{e}");
        }
    }

    #[test]
    fn a_sink_error_says_the_sink_and_keeps_its_source() {
        let io = std::io::Error::other("disk full");
        let e = SinkError::disk("k1", io);
        assert_eq!(e.to_string(), "sink k1: disk full");
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("disk full"));
    }
}
