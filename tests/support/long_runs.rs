//! `SLUICE_LONG`: the one switch of the long forms of the fuzz, crash and soak runs
//! (docs/testing.md). Every root test asks [`long_runs`]; the storage suite has its own
//! (`crates/sluice-core/tests/storage/common.rs`).

/// Whether the long runs are on: `SLUICE_LONG` set to anything but empty or `0`.
pub fn long_runs() -> bool {
    std::env::var_os("SLUICE_LONG").is_some_and(|v| !v.is_empty() && v != "0")
}
