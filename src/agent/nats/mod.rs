//! What the `nats` sink and source share: the connection keys (`url`, credentials, TLS with
//! the RPC sinks' keys, timeouts) and the connection they open through `async-nats`, NATS's
//! own client ([`conn`]); subject syntax and wildcard matching ([`subject`]). The protocol
//! that makes the sink exactly once is the sink's (`sink::nats`, docs/nats.md).

pub(crate) mod conn;
pub(crate) mod subject;

pub(crate) use conn::{connect, DownSince};

/// The header a nats sink's progress record carries (its origin), so readers (the nats
/// source) tell records from events.
pub(crate) const PROGRESS_HEADER: &str = "Sluice-Progress";
