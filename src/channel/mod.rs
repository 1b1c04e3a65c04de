//! The file channel: transactions over the write-ahead log, with Flume's semantics.

pub mod config;

pub use config::{ConfigError, FileChannelConfig, RecoveryPolicy};
