//! cargo-fuzz target `segment_replay`: see `fuzz/src/segment_replay.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::segment_replay::run(data));
