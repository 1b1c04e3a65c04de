//! cargo-fuzz target `sealed_frame`: see `fuzz/src/sealed_frame.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::sealed_frame::run(data));
