//! The messages of the agent ↔ Java host protocol ([`super::frame`] encodes and decodes them)
//! and the ways a frame can fail to decode.

use sluice_core::Event;

/// Largest frame (type byte and payload), either way.
pub const MAX_FRAME_BYTES: usize = 64 << 20;

/// What a Java component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A Flume `Source` (pollable or event-driven).
    Source = 0,
    /// A Flume `Sink`.
    Sink = 1,
    /// A Flume `Interceptor.Builder` (the agent calls [`ToJvm::Intercept`]).
    Interceptor = 2,
    /// A Flume `EventSerializer.Builder` (the agent calls [`ToJvm::Serialize`]).
    Serializer = 3,
    /// A Flume `ChannelSelector` (the agent calls [`ToJvm::Select`]).
    Selector = 4,
    /// A Flume `SinkProcessor` driving the agent's sinks ([`FromJvm::Process`]).
    Processor = 5,
}

impl Role {
    /// The role of a CONFIGURE frame's byte.
    pub fn from_u8(v: u8) -> Option<Role> {
        Some(match v {
            0 => Role::Source,
            1 => Role::Sink,
            2 => Role::Interceptor,
            3 => Role::Serializer,
            4 => Role::Selector,
            5 => Role::Processor,
            _ => return None,
        })
    }

    /// The word `--check` and the logs use.
    pub fn word(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Sink => "sink",
            Role::Interceptor => "interceptor",
            Role::Serializer => "serializer",
            Role::Selector => "selector",
            Role::Processor => "processor",
        }
    }
}

/// What a SERIALIZE call asks of the serializer of one output stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerializeOp {
    /// A new file: build a serializer on a new stream, `afterCreate()`.
    Create = 0,
    /// An existing file appended to: build one, `afterReopen()` (refused unless
    /// `supportsReopen()`).
    Reopen = 1,
    /// `write(e)` for each event, then `flush()`.
    Write = 2,
    /// `flush()`, `beforeClose()`; the stream is forgotten.
    Close = 3,
}

/// How one `process()` of a sink driven by a Java sink processor ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed {
    /// A batch was delivered and committed (`Status.READY`).
    Ready,
    /// Nothing to deliver, or the sink asked to back off (`Status.BACKOFF`).
    Backoff,
    /// The delivery failed and its batch was rolled back (`EventDeliveryException`).
    Failed(String),
}

/// One event's channels as a Java selector chose them: indexes into the channel list it was
/// configured with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choice {
    /// `getRequiredChannels(e)`.
    pub required: Vec<u32>,
    /// `getOptionalChannels(e)`.
    pub optional: Vec<u32>,
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Done.
    Ok = 0,
    /// A channel had no room (Java: `ChannelFullException`).
    Full = 1,
    /// Failed (Java: `ChannelException` with the message).
    Error = 2,
}

/// A frame the agent sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToJvm {
    /// Instantiate `class`, name it, configure it with `props` (Flume's `Context`).
    Configure {
        /// Source or sink.
        role: Role,
        /// The plugin's class name.
        class: String,
        /// The component's name.
        name: String,
        /// Its keys without the `agent.sources.NAME.` prefix.
        props: Vec<(String, String)>,
    },
    /// `start()` the component and its runner.
    Start,
    /// Stop the runner and the component.
    Stop,
    /// The answer to a PUT.
    PutDone(Status, String),
    /// The answer to a TAKE: the events taken (none: the channel had none).
    Taken(Vec<Event>),
    /// The answer to a COMMIT or ROLLBACK (or a TAKE that failed).
    TxDone(Status, String),
    /// An interceptor's `intercept(List<Event>)` of this batch; answered by INTERCEPTED or
    /// THREW.
    Intercept(Vec<Event>),
    /// A serializer call on output stream `stream`; answered by WRITTEN (the bytes the
    /// serializer wrote into the stream during the call) or THREW.
    Serialize {
        /// The sink's number for the file.
        stream: u32,
        /// What to call.
        op: SerializeOp,
        /// The events of a [`SerializeOp::Write`] (none otherwise).
        events: Vec<Event>,
    },
    /// A selector's choice for each event; answered by SELECTED or THREW.
    Select(Vec<Event>),
    /// The answer to a PROCESS.
    Processed(Processed),
}

/// One counter group a plugin keeps (Flume's `MonitoredCounterGroup`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCounts {
    /// `SOURCE`, `SINK`, ...
    pub kind: String,
    /// The name the plugin gave it.
    pub name: String,
    /// Flume's attribute names (`src.events.received`) and counts.
    pub counts: Vec<(String, u64)>,
}

/// A frame the JVM sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromJvm {
    /// The answer to CONFIGURE, START or STOP.
    Ack(Status, String),
    /// `processEventBatch`: commit these to the source's channels, then answer PUT_DONE.
    Put(Vec<Event>),
    /// A sink's take: up to this many events in its (possibly new) take transaction.
    Take(u32),
    /// Commit the take transaction; the last `unused` events sent were not taken.
    Commit(u32),
    /// Roll the take transaction back.
    Rollback,
    /// The plugin's counter groups.
    Counters(Vec<GroupCounts>),
    /// The plugin failed fatally; the JVM ends.
    Failed(String),
    /// The answer to INTERCEPT: the events the chain goes on with.
    Intercepted(Vec<Event>),
    /// The answer to SERIALIZE: the bytes written into the stream.
    Written(Vec<u8>),
    /// The answer to SELECT: one choice per event, in order.
    Selected(Vec<Choice>),
    /// A call (INTERCEPT, SERIALIZE, SELECT) threw: the exception's class and message.
    Threw(String),
    /// A Java sink processor calls `process()` on the group's sink of this index.
    Process(u32),
}

/// A frame that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length prefix is 0 or over [`MAX_FRAME_BYTES`].
    #[error("a frame of {0} bytes (1 to {MAX_FRAME_BYTES})")]
    Length(usize),
    /// An unknown type byte.
    #[error("unknown frame type {0:#04x}")]
    Type(u8),
    /// The payload ends before its fields do.
    #[error("frame type {0:#04x} ends early")]
    Short(u8),
    /// Bytes left after the last field.
    #[error("frame type {0:#04x} has {1} bytes past its fields")]
    Trailing(u8, usize),
    /// A count over its limit.
    #[error("frame type {0:#04x} counts {1} items (at most {2})")]
    Count(u8, usize, usize),
    /// A string that is not UTF-8.
    #[error("frame type {0:#04x} holds a string that is not UTF-8")]
    Utf8(u8),
    /// A status byte other than 0, 1, 2 (or an unknown role or serializer call).
    #[error("frame type {0:#04x} holds the unknown value {1}")]
    Value(u8, u8),
}
