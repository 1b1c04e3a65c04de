//! Assertions on the hot path.
//!
//! `hot_assert!` is `assert!` where debug assertions are on, in this crate's own tests, and
//! with the `strict-asserts` feature; otherwise it compiles to nothing. It guards per-event
//! work (record encode and decode, the segment scanner) where a check on every event costs
//! throughput; everything else uses `assert!`. The `sluice` package enables `strict-asserts`
//! through its dev-dependency on this crate, so `cargo test --release` (CI) and the `sluice`
//! binary the tests start run with every `hot_assert!` on, while `cargo build --release`
//! leaves them out (see docs/testing.md, "Per-event assertions in test builds").

/// `assert!` when debug assertions, `cfg(test)` or the `strict-asserts` feature are on.
macro_rules! hot_assert {
    ($($arg:tt)*) => {
        if cfg!(any(debug_assertions, test, feature = "strict-asserts")) {
            assert!($($arg)*);
        }
    };
}

pub(crate) use hot_assert;

/// Whether `hot_assert!` checks anything in this build of the core.
pub fn hot_asserts_on() -> bool {
    cfg!(any(debug_assertions, test, feature = "strict-asserts"))
}
