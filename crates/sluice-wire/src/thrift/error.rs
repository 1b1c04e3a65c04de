//! What can be wrong with bytes received from a Thrift RPC peer. Every variant names the part
//! of the message and the offset (within the frame's payload, or the stream for framing).

/// A frame or message that cannot be accepted. The connection that sent it is closed
/// (after an exception reply when the frame itself was whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThriftError {
    /// The frame's length prefix is negative.
    #[error("frame announces a negative length ({len}) at stream offset {offset}")]
    NegativeFrame {
        /// The announced length.
        len: i32,
        /// Offset in the received stream.
        offset: usize,
    },
    /// The frame announces more bytes than allowed.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes (max-frame-size)")]
    FrameTooLarge {
        /// The announced length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The message does not start with a protocol id and version this side speaks.
    #[error("not a {protocol} protocol message: {reason}")]
    BadMessageHead {
        /// `compact` or `binary`: what this side expects.
        protocol: &'static str,
        /// What was found instead.
        reason: String,
    },
    /// The message type is not one this side accepts here.
    #[error("unexpected message type {kind} (expected {expected})")]
    BadMessageType {
        /// The type found (1 call, 2 reply, 3 exception, 4 oneway).
        kind: u8,
        /// What was expected.
        expected: &'static str,
    },
    /// The data ended inside a field.
    #[error("{what} truncated at offset {offset}")]
    Truncated {
        /// The field.
        what: &'static str,
        /// Where it started.
        offset: usize,
    },
    /// A varint longer than its type allows.
    #[error("{what}: overlong varint at offset {offset}")]
    BadVarint {
        /// The field.
        what: &'static str,
        /// Where it started.
        offset: usize,
    },
    /// A negative length or count.
    #[error("{what}: negative length {len} at offset {offset}")]
    NegativeLength {
        /// The field.
        what: &'static str,
        /// The value.
        len: i64,
        /// Where it started.
        offset: usize,
    },
    /// A count or length over its limit (or over the bytes left).
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
    /// A type code this protocol does not define.
    #[error("{what}: unknown type code {code} at offset {offset}")]
    BadType {
        /// The field.
        what: &'static str,
        /// The code.
        code: u8,
        /// Where it was.
        offset: usize,
    },
    /// Structs, lists and maps nested deeper than allowed (in a field being skipped).
    #[error("values nested deeper than {max} levels at offset {offset}")]
    TooDeep {
        /// The limit.
        max: usize,
        /// Where.
        offset: usize,
    },
    /// A required field is missing.
    #[error("required field {what} is missing")]
    Missing {
        /// The field.
        what: &'static str,
    },
    /// An enum value out of range.
    #[error("{what}: invalid value {value}")]
    BadValue {
        /// The field.
        what: &'static str,
        /// The value.
        value: i64,
    },
    /// Bytes left after the message.
    #[error("{count} unexpected trailing bytes after the message at offset {offset}")]
    TrailingBytes {
        /// How many.
        count: usize,
        /// Where they start.
        offset: usize,
    },
    /// The decoded events of a call would be counted for more bytes than allowed;
    /// nothing of them is kept.
    #[error("the call's decoded events would take more than {max} bytes")]
    OverBudget {
        /// The limit.
        max: u64,
    },
    /// A reply that does not answer the call (client side).
    #[error("unexpected reply: {reason}")]
    UnexpectedReply {
        /// Why.
        reason: String,
    },
    /// The server answered with a `TApplicationException` (client side).
    #[error("the server answered with an exception ({kind}): {message}")]
    Remote {
        /// The exception type's name (`UNKNOWN_METHOD`, `PROTOCOL_ERROR`, ...).
        kind: &'static str,
        /// Its message (the peer's text; escape it before logging).
        message: String,
    },
}

impl ThriftError {
    /// A short stable name of the kind of error, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ThriftError::FrameTooLarge { .. }
            | ThriftError::TooLong { .. }
            | ThriftError::TooDeep { .. }
            | ThriftError::OverBudget { .. } => "oversized",
            ThriftError::BadMessageHead { .. } => "protocol",
            ThriftError::UnexpectedReply { .. } | ThriftError::Remote { .. } => "response",
            _ => "garbage",
        }
    }
}
