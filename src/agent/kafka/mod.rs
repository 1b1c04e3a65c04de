//! What the `kafka` sink, source and channel share: client properties (Flume's Java client
//! keys translated to librdkafka's, [`props`]), the Flume event format on Kafka records
//! ([`format`], `wire::kafka`), keys the sink and channel read alike ([`keys`]), and a client context that logs librdkafka's messages through `tracing`
//! with the component's name ([`context`]).
//!
//! The client is librdkafka 2.3 through the `rdkafka` crate, built from its bundled source
//! (DESIGN.md says why).

pub(crate) mod context;
pub(crate) mod keys;
pub(crate) mod props;

/// The Flume event format on Kafka records: the wire crate's.
pub use crate::wire::kafka as format;

pub(crate) use context::LogContext;
pub(crate) use props::ClientProps;
