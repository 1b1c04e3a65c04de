//! `hot_assert!`: the core's per-event assertion, on where the core's are (debug builds, this
//! crate's tests, and the core's `strict-asserts` feature, which the test builds turn on).

/// `assert!` where the core's `hot_assert!` checks too.
macro_rules! hot_assert {
    ($($arg:tt)*) => {
        if cfg!(any(debug_assertions, test)) || sluice_core::hot_asserts_on() {
            assert!($($arg)*);
        }
    };
}

pub(crate) use hot_assert;
