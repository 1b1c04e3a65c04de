//! cargo-fuzz target `thrift_decode`: see `fuzz/src/thrift_decode.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::thrift_decode::run(data));
