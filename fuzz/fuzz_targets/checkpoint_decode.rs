//! cargo-fuzz target `checkpoint_decode`: see `fuzz/src/checkpoint_decode.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::checkpoint_decode::run(data));
