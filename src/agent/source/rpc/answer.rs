//! The last step of an `avro` or `thrift` call on the source's side: its answer written and
//! flushed (TLS and deflate hold bytes until flushed) within `request-timeout`, or the
//! connection ended with one log line naming why.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Writes `answer` to `stream` within `timeout`; false when the connection must end: the
/// write failed (the peer is gone: debug) or the peer did not take the answer in time (warn).
/// `source` and `protocol` (`avro`, `thrift`) name the connection in the log line.
pub(crate) async fn write_answer<S>(
    stream: &mut S,
    answer: &[u8],
    timeout: Duration,
    (source, protocol, peer): (&str, &'static str, SocketAddr),
) -> bool
where
    S: AsyncWrite + Unpin,
{
    let write = async {
        stream.write_all(answer).await?;
        stream.flush().await
    };
    match tokio::time::timeout(timeout, write).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::debug!(source, %peer, error = %e, "{protocol} connection: write failed");
            false
        }
        Err(_) => {
            tracing::warn!(source, %peer, timeout_ms = timeout.as_millis() as u64, "{protocol} connection closed: answer not taken within request-timeout");
            false
        }
    }
}
