//! Root test binary `agent`: the agent in process and as a process: configuration, channels, routing, reload, alarms, the component registry.
//! A module per topic; the shared helpers are `tests/support/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed unwrap fails the test and names the line"
)]
#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "tests make and read their fixtures on the real disk (DESIGN.md, the agent's std::fs rule)"
)]

#[allow(dead_code, unused_imports)]
#[path = "../support/mod.rs"]
mod support;

mod agent_channel_limits;
mod agent_channels;
mod agent_config;
mod agent_config_limits;
mod agent_e2e;
mod agent_reload;
mod agent_runtime;
mod agent_safety;
mod agent_sources;
mod alarm_fill;
mod alarm_reload;
mod alarm_upstream;
mod channel_byte_bound;
mod components_properties;
mod components_routing;
mod config_diagnostics;
mod config_keeps_checking;
mod core_invariants;
mod filter_reaping;
mod headers_model;
mod load_balance_rotation;
mod memory_channel_model;
mod pipeline_exec;
mod registry_docs;
mod reload_file_channel_move;
mod stop_drain;
