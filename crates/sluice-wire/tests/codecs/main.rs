//! The wire codecs against the bytes of real peers and an independent implementation: Flume
//! 1.11's captured avro and thrift exchanges (golden bytes), `apache-avro` as a differential
//! oracle, and the fuzz targets' bodies on seeded inputs (a bounded smoke of `fuzz/`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed unwrap fails the test and names the line"
)]

mod avro_wire_golden;
mod avro_wire_oracle;
mod fuzz_smoke;
mod fuzz_smoke_java;
mod fuzz_smoke_json;
mod fuzz_smoke_otlp;
mod fuzz_smoke_seal;
mod fuzz_smoke_syslog;
mod fuzz_smoke_thrift;
mod ganglia_golden;
mod smoke_rng;
mod thrift_wire_golden;
