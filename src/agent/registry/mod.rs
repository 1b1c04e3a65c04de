//! The registry: every component type the agent runs, found by Flume's short type name or
//! its Java class name ([`tables`]), each with the parser of its own keys (in the component's
//! own folder) and its typed configuration ([`kinds`]); a type that is a user's class is run
//! by the one plugin host [`plugins`] names. `config check`, the unknown-type
//! message, `--help`, the status page and the docs' component tables all read it.
//!
//! Architecture Invariant: components are found through the registry; nothing below it
//! (the components, `config`) names it.

pub(crate) mod entry;
pub(crate) mod kinds;
pub mod listing;
pub(crate) mod plugins;
pub(crate) mod tables;

pub use entry::{find, supported, Entry};
pub use kinds::{ChannelKind, SinkKind, SourceKind};
pub use plugins::PLUGIN_HOST;
pub use tables::{
    CHANNELS, INTERCEPTORS, JAVA_SINK, JAVA_SOURCE, PROCESSORS, SELECTORS, SINKS, SOURCES,
};
