//! cargo-fuzz target `avro_decode`: see `fuzz/src/avro_decode.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::avro_decode::run(data));
