//! Flume's monitoring counters: one [`CounterGroup`] per component, named as Flume names
//! them (`SOURCE.r1` with `EventReceivedCount`, ...), kept in a [`Registry`] that renders
//! Flume's JSON (every value a string). Counter names are types, one enum per component kind
//! ([`SourceCounter`], [`ChannelCounter`], [`SinkCounter`]), with Flume's names byte for byte.
//!
//! Architecture Invariant: metrics import no alarm; the alarm board reads the metrics.

pub(crate) mod channel;
pub(crate) mod counter;
pub(crate) mod group;
pub(crate) mod registry;
pub(crate) mod sink;
pub(crate) mod source;

pub(crate) use channel::{ChannelCounter, ChannelGauge, CHANNEL_COUNTERS};
pub(crate) use counter::counters;
pub(crate) use counter::Counter;
pub use group::{CounterGroup, Gauges};
pub use registry::Registry;
pub(crate) use sink::{SinkCounter, SINK_COUNTERS};
pub(crate) use source::{SourceCounter, SOURCE_COUNTERS, SOURCE_GAUGES};
