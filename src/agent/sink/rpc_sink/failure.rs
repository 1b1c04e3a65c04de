//! How an RPC sink's failures read: an RPC failure's kind as the sink's ([`sink_kind`]), a
//! call that got no `OK` (the client's failure, or the stop's grace ran out) and a failed
//! connect, each a typed error naming what was tried.

use super::STOP_GRACE;
use crate::agent::rpc::error::{RpcError, RpcErrorKind};
use crate::agent::sink::{SinkError, SinkErrorKind};

/// The sink's kind of an RPC failure: a failed handshake or a peer speaking another protocol
/// is the configuration's ([`SinkErrorKind::Config`]: a reconnect cannot fix it), a closed
/// connection or a `FAILED` the peer's.
pub fn sink_kind(kind: RpcErrorKind) -> SinkErrorKind {
    match kind {
        RpcErrorKind::Connect => SinkErrorKind::Connect,
        RpcErrorKind::Timeout => SinkErrorKind::Timeout,
        RpcErrorKind::Handshake | RpcErrorKind::Codec => SinkErrorKind::Config,
        _ => SinkErrorKind::Peer,
    }
}

/// Why a call got no `OK`: the client's failure, or the stop signal's grace ran out.
#[derive(Debug, thiserror::Error)]
pub(super) enum CallFailed {
    /// The client's failure.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// Stopping, and no answer within [`STOP_GRACE`].
    #[error("stopping: no answer within {ms} ms")]
    Stopping { ms: u64 },
}

/// A failed call, with what it was (`appendBatch of N events to ADDR`).
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub(super) struct Call {
    pub(super) what: String,
    #[source]
    pub(super) source: CallFailed,
}

impl Call {
    pub(super) fn into_sink_error(self, sink: impl Into<String>) -> SinkError {
        let kind = match &self.source {
            CallFailed::Rpc(e) => sink_kind(e.kind()),
            CallFailed::Stopping { .. } => SinkErrorKind::Stopped,
        };
        SinkError::new(sink, kind, self)
    }
}

/// A connect attempt failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to {addr}: {source}")]
pub(super) struct ConnectFailed {
    pub(super) addr: String,
    #[source]
    pub(super) source: RpcError,
}

/// What to say when the stop signal's grace ran out.
pub(super) fn stopping() -> CallFailed {
    CallFailed::Stopping {
        ms: STOP_GRACE.as_millis() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rpc_failure_keeps_its_retryability_as_a_sink_error() {
        for kind in [
            RpcErrorKind::Connect,
            RpcErrorKind::Handshake,
            RpcErrorKind::Timeout,
            RpcErrorKind::Peer,
            RpcErrorKind::Codec,
            RpcErrorKind::Closed,
        ] {
            assert_eq!(sink_kind(kind).retryable(), kind.retryable(), "{kind:?}");
        }
        assert_eq!(sink_kind(RpcErrorKind::Connect), SinkErrorKind::Connect);
        assert_eq!(sink_kind(RpcErrorKind::Handshake), SinkErrorKind::Config);
    }

    #[test]
    fn a_call_cut_by_the_stop_is_a_stop_not_a_failure() {
        let call = Call {
            what: "appendBatch of 3 events to h:1".into(),
            source: stopping(),
        };
        let e = call.into_sink_error("k1");
        assert_eq!(e.kind(), SinkErrorKind::Stopped);
        assert_eq!(
            e.to_string(),
            "sink k1: appendBatch of 3 events to h:1: stopping: no answer within 2000 ms"
        );
    }
}
