//! cargo-fuzz target `flume_log`: see `fuzz/src/flume_log.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::flume_log::run(data));
