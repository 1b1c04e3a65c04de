//! cargo-fuzz target `http_json`: see `fuzz/src/http_json.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::http_json::run(data));
