//! Bodies of Sluice's fuzz targets. Each module has `pub fn run(data: &[u8])`, which must not
//! panic or hang on any input; `fuzz_targets/*.rs` hand libFuzzer's inputs to them, and
//! `crates/sluice-wire/tests/codecs/fuzz_smoke*.rs` include the same files to run a bounded deterministic smoke in the
//! normal test suite. The bodies use only `sluice-wire`, `sluice-core`, `crc32fast`, `chrono`, `bytes`, `prost` and `std`:
//! fuzzing reaches no agent code, tokio or rdkafka.

pub mod acked_decode;
pub mod avro_decode;
pub mod channel_ops;
pub mod checkpoint_decode;
pub mod flume_log;
pub mod http_json;
pub mod java_frames;
pub mod keystore_parse;
pub mod line_split;
pub mod otlp_request;
pub mod record_decode;
pub mod sealed_frame;
pub mod segment_replay;
pub mod syslog_frames;
pub mod thrift_decode;
