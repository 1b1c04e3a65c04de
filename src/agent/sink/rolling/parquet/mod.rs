//! The `parquet` serializer (docs/parquet.md): events as rows of an Apache Parquet file that
//! analytics tools read (pyarrow, DuckDB, Spark, Hive), through the `parquet` crate's column
//! writers (no Arrow). Columns: `timestamp` (INT64, TIMESTAMP(MILLIS), from the `timestamp`
//! header; null when it is missing or not a whole number), `headers` (MAP<STRING, STRING>:
//! every header but the lifted ones, the event id only with `keepEventId`), `body`
//! (BYTE_ARRAY, or STRING with `serializer.bodyAsString`) and one optional STRING column per
//! name of `serializer.columns` (that header, lifted out of `headers`).
//!
//! A Parquet file is readable only once its footer is written, so its rows are staged: each
//! batch goes to the file's in-use staged file (`<name>.rows`, [`stage`]) under the writer's
//! usual rules (written and fsynced before its take commits, cut back to the last committed
//! take at start), and the Parquet file is written beside them: each batch's events also go
//! to a task on the blocking pool that adds them to `<name>.tmp` ([`background`]); at roll
//! its last row group and footer are written, it is fsynced, renamed to `<name>` and the
//! directory fsynced (or, when it does not hold exactly the staged rows, it is written from
//! them, [`convert`]). So a final name only ever holds a whole file, and the staged file is
//! what a crash leaves: at start it is cut back to the committed cursor and its Parquet file
//! written (again) from it. The cost: every row is written twice (staged, then compressed in
//! the file); the staged file of a rolled file is kept until the takes it holds have
//! committed (the writer's pipeline depth of batches later), so the start can still cut back
//! a file that rolled after the last commit.

pub mod background;
pub mod chunk;
pub mod config;
pub mod convert;
pub mod encode;
pub mod stage;

pub use encode::{Oddities, ParquetWriter};

/// The header `timestamp` is read from (Flume's, epoch millis).
pub const TIMESTAMP_HEADER: &str = "timestamp";

/// The suffix of a Parquet file's staged rows (its in-use file).
pub const STAGED_SUFFIX: &str = ".rows";

/// The suffix of a Parquet file while it is written, before its rename to the final name.
pub const TMP_SUFFIX: &str = ".tmp";

/// The default `serializer.rowGroupBytes`.
pub const ROW_GROUP_DEFAULT_BYTES: u64 = 64 * 1024 * 1024;

/// The largest `serializer.rowGroupBytes` (a row group is buffered whole while written).
pub const ROW_GROUP_MAX_BYTES: u64 = 512 * 1024 * 1024;

/// `serializer.compression`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Zstandard (the default).
    Zstd,
    /// Snappy.
    Snappy,
    /// Gzip.
    Gzip,
    /// None.
    None,
}

/// The `parquet` serializer's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParquetSpec {
    /// `serializer.columns`: headers lifted to STRING columns of their own, in this order.
    pub columns: Vec<String>,
    /// `serializer.compression`.
    pub compression: Compression,
    /// `serializer.rowGroupBytes`: rows buffered before a row group is written.
    pub row_group_bytes: usize,
    /// `serializer.bodyAsString`: `body` is STRING (UTF-8) instead of BYTE_ARRAY.
    pub body_as_string: bool,
    /// `keepEventId`: the event id among the headers.
    pub keep_id: bool,
}

/// The name of the staged file of the Parquet file `final_name`.
pub fn staged_name(final_name: &str) -> String {
    format!("{final_name}{STAGED_SUFFIX}")
}

#[cfg(test)]
mod tests;
