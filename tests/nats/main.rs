//! Root test binary `nats`: the nats sink and source against a real 3-node JetStream cluster
//! (nats-server from `.ci/install-nats.sh`): delivery, kill -9 of the agent and of the
//! stream's leader, the whole cluster down, bad input. A module per topic; the shared
//! helpers are `tests/support/nats_support/` and `edge.rs` here.

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

mod edge;
mod nats_bad_input;
mod nats_creds;
mod nats_fence;
mod nats_forged;
mod nats_kills;
mod nats_limits;
mod nats_shared;
mod nats_sink;
mod nats_source;
