//! The call metadata keys a Sluice avro sink sends with every call, so the avro source
//! downstream can name its upstreams (the upstream-gone alarm).

/// Call metadata key naming the sending agent.
pub const META_AGENT: &str = "sluice.agent";
/// Call metadata key naming the sending sink.
pub const META_SINK: &str = "sluice.sink";
