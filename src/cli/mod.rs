//! Subcommand implementations of the `sluice` binary. Each returns the process exit code.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the CLI works with real files and is tested on the real disk (DESIGN.md, the agent's std::fs rule)"
)]

pub mod agent;
pub mod agent_args;
mod agent_monitoring;
pub mod agent_reload;
pub mod avro_client;
pub mod bench;
pub mod cache_total;
pub mod channel;
pub mod check_keys;
pub mod check_spool;
pub mod conf_files;
pub mod conf_provider;
pub mod config_check;
pub mod crashtest;
pub mod exit;
pub mod logging;
pub mod monitoring;
pub mod pipe;
pub mod plugins;
pub mod send;
pub mod tap;
mod tap_stream;
pub mod test_cmd;
pub mod top;
pub mod verify_channels;
pub(crate) mod workers;
