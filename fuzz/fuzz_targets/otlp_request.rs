//! cargo-fuzz target `otlp_request`: see `fuzz/src/otlp_request.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::otlp_request::run(data));
