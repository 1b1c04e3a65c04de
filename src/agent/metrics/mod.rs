//! Flume's monitoring counters: one [`CounterGroup`] per component, named as Flume names
//! them (`SOURCE.r1` with `EventReceivedCount`, ...), kept in a [`Registry`] that renders
//! Flume's JSON (every value a string). Counter names are types, one enum per component kind
//! ([`SourceCounter`], [`ChannelCounter`], [`SinkCounter`]), with Flume's names byte for byte.
//!
//! Architecture Invariant: metrics import no alarm; the alarm board reads the metrics.

pub mod channel;
pub mod counter;
pub mod group;
pub mod registry;
pub mod sink;
pub mod source;

pub use channel::{ChannelCounter, ChannelGauge, CHANNEL_COUNTERS};
pub(crate) use counter::counters;
pub use counter::Counter;
pub use group::{CounterGroup, Gauges};
pub use registry::Registry;
pub use sink::{SinkCounter, SINK_COUNTERS};
pub use source::{SourceCounter, SOURCE_COUNTERS};
