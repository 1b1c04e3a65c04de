//! The agent's topology: one agent of a properties file read through the registry into typed,
//! wired and checked components ([`load`]), which the runtime starts and reloads.

pub(crate) mod checks;
pub(crate) mod dirs;
pub(crate) mod graph;
pub mod load;
pub(crate) mod timestamps;

pub use graph::{AgentConfig, ChannelConfig, Loaded, SinkConfig, SinkGroupConfig, SourceConfig};
pub use load::{load, load_files};
