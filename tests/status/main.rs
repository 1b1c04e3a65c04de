//! Root test binary `status`: the monitoring server: Prometheus metrics (linted by promtool), `/health` and `/ready`, the status page in Chromium, top, the tap, the Ganglia reporter.
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

mod ganglia;
mod health;
mod health_output;
mod monitoring_budget;
mod monitoring_origin;
mod promtool;
mod status_metrics_load;
mod status_page_chromium;
mod status_prometheus;
mod status_top;
mod tap;
