//! Root test binary `hdfs`: the hdfs sink on local paths, on a real Hadoop 2.7.3 cluster and on a real S3 store (SeaweedFS; one of each per binary; `hdfs.path = s3a://` and `type = s3`), poison events.
//! A module per topic; the shared helpers are `tests/support/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed unwrap fails the test and names the line"
)]
#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "tests make and read their fixtures on the real disk (DESIGN.md, the agent's std::fs rule)"
)]

#[allow(dead_code, unused_imports)]
#[path = "../support/mod.rs"]
mod support;

mod hdfs_buffer_budget;
mod hdfs_cluster_faults;
mod hdfs_cluster_kill;
mod hdfs_cluster_tutorial;
mod hdfs_dead_letter;
mod hdfs_exactly_once;
mod hdfs_open_files_limit;
mod hdfs_parquet;
mod hdfs_poison;
mod hdfs_sink;
mod s3_endpoint_env;
mod s3_exactly_once;
mod s3_faults;
mod s3_kill;
mod s3_parquet;
mod s3_parquet_bench;
mod s3_plain;
mod s3_sink;
