//! What can be wrong with bytes received from an Avro RPC peer. Every variant names the part
//! of the message and the offset (within the frame's payload, or the stream for framing).

/// A frame or datum that cannot be accepted. The connection that sent it is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvroError {
    /// The frame announced more buffers than allowed.
    #[error("frame announces {count} buffers, more than the limit of {max}")]
    TooManyBuffers {
        /// Announced count.
        count: i64,
        /// The limit.
        max: usize,
    },
    /// The frame's buffers add up to more bytes than allowed.
    #[error("frame of at least {len} bytes exceeds the limit of {max} bytes (max-frame-size)")]
    FrameTooLarge {
        /// Bytes announced so far.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A negative buffer count or length in the frame header.
    #[error("frame announces a negative {what} ({value}) at stream offset {offset}")]
    NegativeFrameField {
        /// `buffer count` or `buffer length`.
        what: &'static str,
        /// The value.
        value: i64,
        /// Offset in the received bytes.
        offset: usize,
    },
    /// The data ended inside a field.
    #[error("{what} truncated at offset {offset}")]
    Truncated {
        /// The field.
        what: &'static str,
        /// Where it started.
        offset: usize,
    },
    /// A varint longer than 10 bytes.
    #[error("{what}: varint longer than 10 bytes at offset {offset}")]
    BadVarint {
        /// The field.
        what: &'static str,
        /// Where it started.
        offset: usize,
    },
    /// A negative length of bytes or a string.
    #[error("{what}: negative length {len} at offset {offset}")]
    NegativeLength {
        /// The field.
        what: &'static str,
        /// The value.
        len: i64,
        /// Where it started.
        offset: usize,
    },
    /// A count or length over its limit.
    #[error("{what}: {len} exceeds the limit of {max} (offset {offset})")]
    TooLong {
        /// The field.
        what: &'static str,
        /// The value.
        len: u64,
        /// The limit.
        max: u64,
        /// Where it started.
        offset: usize,
    },
    /// An enum, union or boolean value out of range.
    #[error("{what}: invalid index {index} at offset {offset}")]
    BadIndex {
        /// The field.
        what: &'static str,
        /// The value.
        index: i64,
        /// Where it started.
        offset: usize,
    },
    /// Bytes left after the datum.
    #[error("{what}: {count} unexpected trailing bytes at offset {offset}")]
    TrailingBytes {
        /// The datum.
        what: &'static str,
        /// How many.
        count: usize,
        /// Where they start.
        offset: usize,
    },
    /// The decoded events of a call would be counted for more bytes than allowed
    /// (`call::read_params`); nothing of them is kept.
    #[error("the call's decoded events would take more than {max} bytes")]
    OverBudget {
        /// The limit.
        max: u64,
    },
    /// The client's protocol is not Flume's `AvroSourceProtocol`.
    #[error("client protocol is not AvroSourceProtocol: {reason}")]
    IncompatibleProtocol {
        /// Why.
        reason: super::protocol::ProtocolMismatch,
    },
    /// A response that does not answer the request (client side).
    #[error("unexpected response: {reason}")]
    UnexpectedResponse {
        /// Why.
        reason: String,
    },
}

impl AvroError {
    /// A short stable name of the kind of error, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            AvroError::TooManyBuffers { .. }
            | AvroError::FrameTooLarge { .. }
            | AvroError::TooLong { .. }
            | AvroError::OverBudget { .. } => "oversized",
            AvroError::IncompatibleProtocol { .. } => "protocol",
            AvroError::UnexpectedResponse { .. } => "response",
            _ => "garbage",
        }
    }
}
