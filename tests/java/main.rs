//! Root test binary `java`: custom Java components (the tutorial's plugins) in the real JVM host.
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

mod hashmap_order;
mod java_failing;
mod java_interceptors;
mod java_partial_frame;
mod java_plugins;
mod java_plugins_kill;
mod java_plugins_sql;
mod java_selectors;
mod java_serializers;
