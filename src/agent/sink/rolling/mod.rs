//! The rolling-file engine: Flume's HDFS sink behaviour (bucketing by `hdfs.path` escapes,
//! rolling, in-use naming, file types and codecs) with a stronger contract than Flume's: a
//! batch is written, flushed and fsynced (the file, and its directory for a new file or a
//! rename) before its take commits, in-use files left by a crash are recovered at start, and
//! on a file channel the output is cut back to the last committed take (exactly once).
//! `type = hdfs` ([`super::hdfs`]) and `type = s3` ([`super::s3`]) are this engine with
//! their own keys, and `type = file_roll` ([`super::file_roll`]) is its flat local writer
//! ([`flat`]); each imports this module and none imports another.
//!
//! # Map
//! The engine (store-agnostic, synchronous; it reaches files only through [`store::Store`]):
//! - [`config`]: the `hdfs.*` keys as [`RollingConfig`] (`config::remote` and `config::s3` read
//!   an `hdfs://` or `s3a://` path's connection keys; `type = s3` rewrites its plain keys into
//!   these, [`keys`]).
//! - [`path`] (`path::time`: the time escapes and rounding), [`confine`] (header values kept
//!   inside their path component) and [`route`] (an event's bucket, or why it has none).
//! - [`format`] (`format::prefix`: a file's valid prefix at recovery) and [`codec`]: the bytes
//!   of a file (`DataStream`, `CompressedStream`, `SequenceFile`, Avro).
//! - [`serializer`]: the seam of a serializer the sink is handed (a class; the Java host adapts
//!   its own to it), one for `hdfs`, `s3` and `file_roll`: each answer a [`serializer::Step`],
//!   `Sync` or `Async`; [`bridge`]: the one place the blocking writer waits on the runtime
//!   (`Async` steps, HDFS and S3 calls); the flat writer, async, awaits them ([`serializer::Step::run`]).
//! - [`bucket`]: one open file and its roll rules (size, count, interval, idle);
//!   [`budget`]: the unwritten bytes of all buckets (`hdfs.maxBufferBytes`).
//! - [`writer`]: [`RollingWriter`], the buckets of one sink: `writer::open` (a bucket's file),
//!   `writer::batch` (a batch, all or nothing), `writer::close` (rolls and stop),
//!   `writer::group` (the batch's shared sync), `writer::stage` (a batch staged in memory on
//!   the sink's task, written by that sync, where it opens, rolls and closes nothing) and
//!   `writer::resume` (the cut-back).
//! - [`group_sync`]: one fdatasync per file for the batches written meanwhile, and
//!   [`GROUP_SYNC_DEPTH`], the takes a syncing sink keeps open (`flat::staged`: the same
//!   contract for [`flat`], whose batches are written by the trip that syncs them).
//! - [`resume`]: the exactly-once cursor ([`resume::Snapshot`]) and the cut-back to it
//!   (`flat::resume`: the flat writer's, one file and its length);
//!   [`recover`]: in-use files left by a crash, closed at their last valid byte.
//! - [`flat`]: the flat local writer (`file_roll`'s: Flume's flat layout and path managers,
//!   one open file, a roll by interval, the cut-back after a failed write or fsync), its parts
//!   in it (`flat::staged`, `flat::resume`, `flat::handed`). The one part of the engine that is async and
//!   local only: its store is [`store::on_fs`]'s (directories, the cut-back) and it holds its open
//!   file as an `io::Fs` file (a [`store::StoreFile`] has no cut). A batch is rendered at
//!   `deliver` and written by the sync trip (one write and one fdatasync per group), where
//!   [`RollingWriter`] writes at `deliver` and syncs in the trip.
//! - [`open_files`]: `hdfs.maxOpenFiles` kept below the process's open-file limit.
//! - [`parquet`]: the `parquet` serializer (rows staged in the open file, the Parquet file
//!   written from them at roll): the flat writer's `flat::parquet_files`, and for
//!   [`RollingWriter`] [`store::parquet`], a store in front of any other that stages the rows
//!   locally ([`format::Layout::Rows`]) and hands each file over whole at roll.
//!
//! The stores ([`store`]: the trait; its children are the only store-specific code and the
//! engine names none of them; [`store::Target`] picks one from the path as one
//! `Arc<dyn Store>`, [`store::on_fs`] the flat writer's): [`store::local`] (the `io::Fs` seam), [`store::hdfs`] (a real
//! cluster through `hdfs-native`, each call bounded by `hdfs.callTimeout`) and [`store::s3`]
//! (files staged on local disk, uploaded at roll, cut back by key).
//!
//! The driver: [`sink`] ([`RollingSink`], the runner's `Sink`) and `sink::job` (each call as one job
//! on a blocking thread against its one store, bounded by [`store::Target`]'s deadline; a job
//! that times out keeps running and the next call waits for it).
//!
//! Header values in `hdfs.path` and `hdfs.filePrefix` are confined to their path component;
//! an event that can never be written (no usable timestamp, a header-made name too long for
//! any file system) is left out of its batch before anything is written and reported as a
//! poison event, so the rest of the batch is written once.

pub mod bridge;
pub mod bucket;
pub mod budget;
pub mod codec;
pub mod config;
pub mod confine;
pub mod error;
pub mod flat;
pub mod format;
pub mod group_sync;
pub mod keys;
pub mod open_files;
pub mod parquet;
pub mod path;
pub mod recover;
pub mod resume;
pub mod route;
pub mod serializer;
pub mod sink;
pub mod store;
pub mod writer;

pub use config::RollingConfig;
pub use group_sync::GROUP_SYNC_DEPTH;
pub use sink::{RollingSink, REMOTE_JOB_CALLS_MAX, STOP_UPLOAD_WAIT_MAX};
pub use writer::RollingWriter;
