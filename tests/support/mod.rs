//! What the root test binaries share: ports, agent processes, wait helpers, the Flume
//! clients, real servers (HDFS, SeaweedFS, tansu, MariaDB). Every area binary includes all of it.

pub mod agent_proc;
pub mod alarm_support;
pub mod avro_plain;
pub mod cli_support;
pub mod clickhouse_support;
pub mod dead_port;
pub mod file_sources_support;
pub mod hdfs_support;
pub mod hostile_support;
pub mod java_support;
pub mod kafka_support;
pub mod lines_support;
pub mod long_runs;
pub mod multihop;
pub mod nats_support;
pub mod net_support;
pub mod otel_support;
pub mod parquet_support;
pub mod ports;
pub mod rotating_log;
pub mod rpcsec_support;
pub mod s3_support;
pub mod server_proc;
pub mod status_support;
pub mod thrift_support;
pub mod tools_support;
pub mod wait;
