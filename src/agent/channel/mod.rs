//! The agent's channels behind one async interface: [`AgentChannel`] begins transactions
//! ([`ChannelTx`]) that put and take batches and then commit or roll back.
//!
//! Implementations: [`memory::MemoryChannel`], [`file::FileChannelAdapter`] (the Sluice
//! file channel, called through `spawn_blocking`) and [`kafka::KafkaChannel`] (a Kafka topic).
//! All count Flume's channel metrics.

pub(crate) mod arrivals;
pub(crate) mod contract;
pub(crate) mod disk_space;
pub mod file;
pub(crate) mod instrumented;
pub(crate) mod kafka;
pub mod memory;

pub use contract::{
    put_batch, put_each, AgentChannel, AgentChannelError, BlockingPut, BoxFuture, BuildChannel,
    ChannelTx, GroupOutcome, PutTerms, Refused, Volatile,
};
