//! cargo-fuzz target `keystore_parse`: see `fuzz/src/keystore_parse.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::keystore_parse::run(data));
