//! cargo-fuzz target `java_frames`: see `fuzz/src/java_frames.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::java_frames::run(data));
