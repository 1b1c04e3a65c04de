//! cargo-fuzz target `record_decode`: see `fuzz/src/record_decode.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::record_decode::run(data));
