//! Root test binary `files`: the file sources: TAILDIR, spooldir, multiline, their kill rounds;
//! file_roll's parquet serializer read back by pyarrow and DuckDB.
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

mod exactly_once;
mod file_sources_kill;
mod file_sources_multiline;
mod file_sources_perf;
mod multiline_held_budget;
mod parquet_bench;
mod parquet_out;
mod planted_links;
mod sink_renamed;
mod spooldir;
mod spooldir_edges;
mod taildir;
mod taildir_catch_up;
mod taildir_deleted;
mod taildir_edges;
mod taildir_loss;
mod taildir_order;
mod taildir_outage;
mod taildir_paced;
mod taildir_rotation;
mod taildir_shared_pos_dir;
mod taildir_spool_gauge;
mod taildir_trickle;
mod tutorial_logs;
