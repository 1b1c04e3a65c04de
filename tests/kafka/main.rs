//! Root test binary `kafka`: the kafka source, sink and channel against a real tansu broker: faults, failpoints, kill rounds.
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

mod kafka_agents;
mod kafka_channel;
mod kafka_failpoints;
mod kafka_faults;
mod kafka_inflight;
mod kafka_kill_rounds;
mod kafka_partitions_held;
mod kafka_too_large;
