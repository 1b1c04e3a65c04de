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
    /// A status byte other than 0, 1, 2 (or a role other than 0, 1).
    #[error("frame type {0:#04x} holds the unknown value {1}")]
    Value(u8, u8),
}
