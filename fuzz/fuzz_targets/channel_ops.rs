//! cargo-fuzz target `channel_ops`: see `fuzz/src/channel_ops.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::channel_ops::run(data));
