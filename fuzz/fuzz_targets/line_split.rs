//! cargo-fuzz target `line_split`: see `fuzz/src/line_split.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::line_split::run(data));
