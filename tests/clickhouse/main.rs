//! Root test binary `clickhouse`: the clickhouse sink against real ClickHouse 18.16 servers
//! (two replicas on one ZooKeeper, `tests/support/clickhouse_support/`): 100,000 lines into a
//! ReplicatedMergeTree, kill -9 of the agent in rounds (replicated, a one-block deduplication
//! window, a plain MergeTree), bad rows to the dead letter, and the start refusals. A module
//! per topic; what they share is `edge.rs`.

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

mod ch_bad;
mod ch_bench;
mod ch_kills;
mod ch_servers;
mod ch_sink;
mod ch_tls;
mod edge;
