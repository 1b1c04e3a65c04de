//! The agent: Flume-compatible configuration, the tokio runtime, sources, sinks, channel
//! selectors, sink processors, interceptors and metrics. It reaches the file channel only
//! through the channel's public API and never sees on-disk bytes.

pub(crate) mod alarm;
pub(crate) mod atomic_file;
pub(crate) mod backoff;
pub mod channel;
pub mod component;
pub mod conf_source;
pub mod config;
pub mod failpoint;
pub mod future;
pub mod harness;
pub(crate) mod histogram;
pub(crate) mod host_name;
pub mod id_trust;
pub mod interceptor;
pub(crate) mod invariant;
pub mod java;
pub mod kafka;
pub(crate) mod key_file;
pub(crate) mod log_text;
pub mod metrics;
pub(crate) mod nats;
pub(crate) mod nice;
pub mod nofollow;
pub mod otlp;
pub(crate) mod out_headers;
pub(crate) mod peer;
pub mod processor;
pub mod prometheus;
pub mod registry;
pub mod resolver;
pub mod rlimit;
pub mod router;
pub mod rpc;
pub mod runtime;
pub mod selector;
pub mod sink;
pub mod source;
pub mod stop;
pub(crate) mod tap;
pub mod topology;
