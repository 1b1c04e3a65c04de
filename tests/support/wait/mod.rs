//! Bounded polling for the root tests: every wait ends at a deadline, and a failed wait says
//! what it waited for (with whatever context the caller builds, e.g. an agent's log).
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// How often a condition is polled.
pub const POLL: Duration = Duration::from_millis(20);

/// Polls `done` every [`POLL`] until it holds (`true`) or `limit` has passed (`false`).
pub fn poll_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// Polls `done` until it holds; after `limit` panics with `failure()`, which is built only
/// then (so a log is read once, at the end).
pub fn wait_until(limit: Duration, done: impl FnMut() -> bool, failure: impl FnOnce() -> String) {
    if !poll_until(limit, done) {
        panic!("{}", failure());
    }
}
