//! One JetStream atomic batch (ADR-50, nats-server 2.12+, a stream with `allow_atomic`):
//! every message carries `Nats-Batch-Id` and `Nats-Batch-Sequence`, the last also
//! `Nats-Batch-Commit: 1`; all but the last go out as plain publishes and the last as a
//! request whose answer is the batch's one PubAck. The server stores all of the batch or
//! none of it, and checks `Nats-Expected-Last-Subject-Sequence` against the stream as it was
//! before the batch, at the commit. [`PubAck`] is that answer, parsed.

use async_nats::{Client, HeaderMap};
use bytes::Bytes;
use serde::Deserialize;

/// The server's limit on messages in one atomic batch (ADR-50).
pub(crate) const BATCH_MESSAGES_MAX: usize = 1000;

/// JetStream's error codes for a failed `Nats-Expected-Last-Subject-Sequence` check ("wrong
/// last sequence: N", and "wrong last sequence" when the subject had no message): another
/// writer stored a record for the origin since it was read.
pub(crate) const ERR_WRONG_LAST_SEQUENCE: [u64; 2] = [10071, 10164];

/// One message of a batch.
#[derive(Debug)]
pub(crate) struct Msg {
    pub subject: String,
    pub headers: HeaderMap,
    pub payload: Bytes,
}

/// Why a batch was not stored (as far as the sink knows: after [`BatchError::NoAnswer`] it
/// may have been).
#[derive(Debug, thiserror::Error)]
pub(crate) enum BatchError {
    /// The server refused the batch: nothing of it is stored.
    #[error("the server refused the batch (JetStream error {err_code}: {description})")]
    Refused { err_code: u64, description: String },
    /// No answer in time, or the connection failed meanwhile: the batch may or may not be
    /// stored.
    #[error("no answer to the batch's commit: {0}")]
    NoAnswer(String),
    /// The answer is not a PubAck.
    #[error("the answer to the batch's commit is not a PubAck: {0}")]
    BadAnswer(String),
}

/// The answer to a committed batch.
#[derive(Debug, Deserialize)]
pub(crate) struct PubAck {
    /// The stream sequence of the batch's last message.
    #[serde(default)]
    pub seq: u64,
    /// Messages stored.
    #[serde(default)]
    pub count: u64,
    #[serde(default)]
    error: Option<ApiError>,
}

#[derive(Debug, Deserialize)]
struct ApiError {
    #[serde(default)]
    err_code: u64,
    #[serde(default)]
    description: String,
}

/// Publishes `msgs` as one atomic batch named `id` and waits for its PubAck. Cancel safety:
/// not cancel safe (a batch dropped before its commit is abandoned by the server after 10 s;
/// one dropped after may still be stored).
pub(crate) async fn publish(
    client: &Client,
    id: &str,
    msgs: Vec<Msg>,
) -> Result<PubAck, BatchError> {
    let n = msgs.len();
    for (i, mut m) in msgs.into_iter().enumerate() {
        m.headers.insert("Nats-Batch-Id", id);
        m.headers
            .insert("Nats-Batch-Sequence", (i + 1).to_string().as_str());
        if i + 1 < n {
            client
                .publish_with_headers(m.subject, m.headers, m.payload)
                .await
                .map_err(|e| BatchError::NoAnswer(e.to_string()))?;
            continue;
        }
        m.headers.insert("Nats-Batch-Commit", "1");
        let answer = client
            .request_with_headers(m.subject, m.headers, m.payload)
            .await
            .map_err(|e| BatchError::NoAnswer(e.to_string()))?;
        return parse(&answer.payload);
    }
    Err(BatchError::BadAnswer("an empty batch".into()))
}

/// The PubAck in `payload`, or the error it carries.
pub(crate) fn parse(payload: &[u8]) -> Result<PubAck, BatchError> {
    let ack: PubAck = serde_json::from_slice(payload)
        .map_err(|e| BatchError::BadAnswer(format!("{e}: {}", String::from_utf8_lossy(payload))))?;
    if let Some(e) = ack.error {
        return Err(BatchError::Refused {
            err_code: e.err_code,
            description: e.description,
        });
    }
    if ack.count == 0 || ack.seq < ack.count {
        return Err(BatchError::BadAnswer(format!(
            "seq {} count {}: not a committed batch",
            ack.seq, ack.count
        )));
    }
    Ok(PubAck { error: None, ..ack })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_committed_batch_names_its_last_sequence_and_count() {
        let ack = parse(br#"{"stream":"S","seq":5003,"batch":"b1","count":3}"#).unwrap();
        assert_eq!((ack.seq, ack.count), (5003, 3));
    }

    #[test]
    fn a_refused_batch_carries_the_servers_error_code() {
        let e = parse(br#"{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 5001"},"stream":"S","seq":0}"#)
            .unwrap_err();
        assert!(matches!(
            e,
            BatchError::Refused {
                err_code: 10071,
                ..
            }
        ));
        assert!(parse(b"not json").is_err());
        assert!(parse(br#"{"stream":"S","seq":7}"#).is_err());
    }
}
