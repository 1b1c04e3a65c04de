//! cargo-fuzz target `syslog_frames`: see `fuzz/src/syslog_frames.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::syslog_frames::run(data));
