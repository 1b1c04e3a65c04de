//! The agent: Flume-compatible configuration, the tokio runtime, sources, sinks, channel
//! selectors, sink processors, interceptors and metrics. It reaches the file channel only
//! through the channel's public API and never sees on-disk bytes.

pub mod alarm;
pub mod backoff;
pub mod channel;
pub mod component;
pub mod conf_source;
pub mod config;
pub mod failpoint;
pub mod harness;
pub mod histogram;
pub mod interceptor;
pub mod java;
pub mod kafka;
pub mod key_file;
pub mod log_text;
pub mod metrics;
pub mod otlp;
pub mod peer;
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
pub mod tap;
pub mod topology;
