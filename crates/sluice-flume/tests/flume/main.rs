//! Flume's file channel read and adopted (`sluice-flume`), against the reference fixtures Flume
//! wrote, hostile and damaged copies of them, and logs this suite writes itself: one test
//! binary (`cargo test -p sluice-flume`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed unwrap fails the test and names the line"
)]

mod common;

mod flume_adopt;
mod flume_damage;
mod flume_fixtures;
mod flume_gen;
mod flume_hostile;
