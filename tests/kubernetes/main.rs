//! Root test binary `kubernetes`: the `kubernetes` source over a node in a directory (the
//! files written as containerd, docker and kubelet write them), through the real `sluice
//! agent`, its rotations, restarts, deleted pods, kill -9, a collector outage, 2,000 pods
//! and bad input, and the pods' metadata from a test API server (`api_server.rs`), down
//! for a while too. A module per topic;
//! the shared helpers are `tests/support/` and [`node`] (the node's writer).

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

mod api;
mod api_down;
mod api_faults;
mod api_server;
mod bad_input;
mod deploy;
mod downtime_gz;
mod huge_line;
mod kill;
mod many_pods;
mod node;
mod node_tree;
mod outage;
mod output;
