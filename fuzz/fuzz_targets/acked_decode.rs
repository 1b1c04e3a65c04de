//! cargo-fuzz target `acked_decode`: see `fuzz/src/acked_decode.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::acked_decode::run(data));
