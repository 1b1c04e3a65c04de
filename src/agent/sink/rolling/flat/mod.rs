//! The engine's flat local writer: Flume's `file_roll` layout (one directory, one open file,
//! files named by Flume's path managers, `DEFAULT`: `<prefix><start millis>-<n>[.ext]`;
//! `ROLLTIME`: `<prefix><open time>-<n>[.ext]`), a new file every `rollInterval` (never when
//! 0). The `file_roll` sink ([`crate::agent::sink::file_roll`]) is this writer behind its keys.
//!
//! Each batch is rendered (`TEXT`, `HEADER_AND_TEXT`, `AVRO_EVENT` through [`super::format`],
//! or the serializer the sink was handed, through the engine's seam, [`handed`]) and, with
//! `fsyncPerBatch`, staged in the open file: its acknowledgement writes and fdatasyncs it with
//! the batches staged meanwhile ([`staged`]); without, it is written whole in one call (cut back
//! on a failed write). After a failed write or fsync the file is cut back to its last synced
//! batch and abandoned; the next batch starts a new one. Each take commits the writer's cursor
//! (file, length) and at start the output is cut back to it ([`resume`]).
//!
//! How a batch travels, take to commit: the runner's `deliver` renders it on the sink's task
//! (a handed serializer's `Async` answer awaited there, no blocking thread) and stages it (no
//! I/O); the acknowledgement makes one trip to the blocking pool that writes and fdatasyncs
//! every batch staged so far; the runner commits the take after it. Without `fsyncPerBatch`
//! `deliver`'s one trip writes the batch. A file's open, header and roll are trips of their own,
//! once per file.
//!
//! A failure to create the directory, open a file or write one marks the output down
//! ([`crate::agent::sink::output_down`]: `/health` is 503 naming the sink and `sink.directory`)
//! until a batch is written again.
//!
//! Every file operation goes through the `io::Fs` seam: directories and the cut-back through
//! the store on that seam ([`super::store::on_fs`]), the open file as an `FsFile` shared with the sync trips.
//!
//! - [`writer`]: [`FlatWriter`], a batch (`deliver`), its acknowledgement and cursor;
//!   [`staged`]: the open file, its staged batches and their shared write-and-fsync;
//!   [`resume`]: the cursor (one file, its length) and the cut-back to it at start.
//! - [`open`]: opening the next file, abandoning a failed one, rolling, the cut-back at start.
//! - `parquet_files`: with `parquet`, the open file is the staged rows (`<name>.rows`), the
//!   Parquet file `<name>` is written from them at roll, and the start settles staged files
//!   against the cursor ([`crate::agent::sink::rolling::parquet`]).

use std::path::PathBuf;
use std::time::Duration;

mod handed;
pub mod open;
mod parquet_files;
pub(crate) mod resume;
pub(crate) mod staged;
pub mod writer;

pub(crate) use writer::FlatWriter;

/// The key naming the writer's directory (file_roll's), named where the output cannot be
/// written (the WARN, `/health`'s reason).
pub(crate) const DIRECTORY_KEY: &str = "sink.directory";

/// What the flat writer needs to know (file_roll's keys, `FileRollConfig`, without the
/// runner's and the Java serializer's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FlatConfig {
    /// The directory the files go to.
    pub directory: PathBuf,
    /// A new file this often; `None`: never.
    pub roll_interval: Option<Duration>,
    /// A newline after each body (`TEXT`, `HEADER_AND_TEXT`).
    pub append_newline: bool,
    /// How files are named.
    pub path_manager: PathManager,
    /// Each batch fsynced (and a new file's directory entry) before its take commits.
    pub fsync_per_batch: bool,
    /// One of Flume's own serializers (when the sink was handed none).
    pub serializer: RollSerializer,
    /// The event id among the headers written.
    pub keep_event_id: bool,
}

/// One of Flume's own serializers for `file_roll` (`EventSerializerType`), or Sluice's
/// `parquet`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RollSerializer {
    /// `TEXT`: the body, then a newline with `appendNewline`.
    Text,
    /// `HEADER_AND_TEXT`: Java's `Map.toString()` of the headers, a space, the body, then a
    /// newline with `appendNewline`.
    HeaderAndText,
    /// `AVRO_EVENT`: an Avro object container of Flume's event schema, a block per batch.
    AvroEvent {
        /// `sink.serializer.syncIntervalBytes`: a block at least this often within a batch.
        sync_interval_bytes: usize,
    },
    /// `parquet`: rows of a Parquet file, staged in `<name>.rows` and written to `<name>` at
    /// roll ([`crate::agent::sink::rolling::parquet`]).
    Parquet(crate::agent::sink::rolling::parquet::ParquetSpec),
}

/// `file_roll`'s `sink.pathManager`: how files are named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathManager {
    /// `ROLLTIME` (the time the file was opened) instead of `DEFAULT` (the sink's start).
    pub roll_time: bool,
    /// `sink.pathManager.prefix` (default empty).
    pub prefix: String,
    /// `sink.pathManager.extension` (default empty; a `.` is added before it).
    pub extension: String,
    /// `sink.pathManager.pattern` for ROLLTIME as a chrono format (from Java's
    /// `yyyyMMddHHmmss`, the default).
    pub pattern: String,
}

impl PathManager {
    /// Whether `ROLLTIME` names sort in the order their files were opened: the pattern's
    /// fields are `%Y`, then `%m`, `%d`, `%H`, `%M`, `%S`, `%3f` in that order (any leading
    /// part of it, e.g. Flume's default `yyyyMMddHHmmss`), between literals with no digit.
    /// (Local time going back, at the end of summer time, breaks even that; the baseline's
    /// check of the directory then refuses one, and a cut back removes nothing it should
    /// keep.)
    pub(crate) fn sorts_by_time(&self) -> bool {
        const ORDER: [&str; 7] = ["%Y", "%m", "%d", "%H", "%M", "%S", "%3f"];
        let mut next = 0;
        let mut rest = self.pattern.as_str();
        while let Some(c) = rest.chars().next() {
            if c == '%' {
                match ORDER.get(next).filter(|f| rest.starts_with(**f)) {
                    Some(f) => {
                        rest = &rest[f.len()..];
                        next += 1;
                    }
                    None => return false,
                }
            } else if c.is_ascii_digit() {
                return false;
            } else {
                rest = &rest[c.len_utf8()..];
            }
        }
        next > 0
    }

    /// The name of file number `counter` in the series `series` (the start millis, or the
    /// open time with `ROLLTIME`).
    pub(crate) fn file_name(&self, series: &str, counter: u64) -> String {
        let mut name = format!("{}{series}-{counter}", self.prefix);
        if !self.extension.is_empty() {
            name.push('.');
            name.push_str(&self.extension);
        }
        name
    }
}

#[cfg(test)]
mod baseline_tests;
#[cfg(test)]
mod handed_tests;
#[cfg(test)]
mod parquet_tests;
#[cfg(test)]
mod tests;
