//! The storage suite: the file channel on the real and the simulated file system, one test
//! binary (`cargo test -p sluice-core`). A module per area; `common` and `recycle_support`
//! are the shared helpers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed unwrap fails the test and names the line"
)]

mod common;
mod recycle_support;

mod byte_bound;
mod byte_bound_bench;
mod channel_concurrency;
mod channel_semantics;
mod checkpoint_restart;
mod ckpt_stall;
mod commit_all;
mod damage;
mod dedup_model;
mod direct_io;
mod exactly_once;
mod fault_sweep;
mod full_disk;
mod full_disk_real;
mod gcommit_power_loss;
mod hand_back;
mod lineage;
mod missing_segments;
mod model;
mod recycle_crash;
mod recycle_segments;
mod sealed;
mod seam_links;
mod segment_gc;
mod tools_verify_lib;
mod truncated_segments;
