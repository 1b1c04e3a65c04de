//! The `hdfs` sink's settings: Flume's `hdfs.*` and `serializer*` keys with Flume's defaults,
//! read from a component's properties with line-numbered errors. `hdfs.path` is a plain path
//! or a `file://` URI (a local or mounted file system), an `hdfs://` URI (a real HDFS
//! cluster; its own keys in [`remote`]), or an `s3a://`/`s3://` URI (an S3
//! bucket; its keys in [`s3`]).

pub mod core_site;
pub mod endpoint;
pub mod remote;
pub mod s3;

mod format;
mod target;

use super::keys::KeyNames;
use format::{file_type_and_codec, format_keys};
use remote::RemoteConfig;
use s3::S3Config;
use std::time::Duration;
use target::hdfs_path;

use super::budget::{BUFFER_BYTES_DEFAULT, BUFFER_BYTES_LIMIT, BUFFER_BYTES_MIN};
use super::codec::Codec;
use super::path::{PathTemplate, RoundUnit, Rounding, Zone};
use super::serializer::{parse_spec, SerializerSpec};
use crate::agent::config::ctx::Ctx;
use crate::agent::config::limits::{DURATION_MS_MAX, DURATION_S_MAX};

/// Largest `hdfs.maxOpenFiles` accepted (a limit on open file handles).
pub const MAX_OPEN_FILES_LIMIT: u64 = 100_000;
/// Largest `hdfs.batchSize` accepted.
pub const BATCH_SIZE_LIMIT: u64 = 1_000_000;

/// `hdfs.fileType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// Hadoop's SequenceFile (Flume's default): key `LongWritable` timestamp, value
    /// `BytesWritable` (writeFormat `Writable`) or `Text` (writeFormat `Text`).
    SequenceFile,
    /// The serializer's bytes as they are.
    DataStream,
    /// The serializer's bytes through `hdfs.codeC`.
    CompressedStream,
}

/// `hdfs.writeFormat` (SequenceFile only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteFormat {
    /// `Writable` (default): the body as `BytesWritable`.
    Writable,
    /// `Text`: the body as `Text`.
    Text,
}

/// `serializer` (DataStream and CompressedStream).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serializer {
    /// `TEXT`: the body, then a newline with `serializer.appendNewline`.
    Text,
    /// `HEADER_AND_TEXT`: `{k=v, ...} ` then the body and a newline.
    HeaderAndText,
    /// `avro_event`: an Avro object container of Flume's event schema.
    AvroEvent,
}

/// `serializer = parquet` on `hdfs` and `s3`: the file's settings, and the local directory
/// its rows are staged in until the roll writes the file ([`super::store::parquet`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParquetOut {
    /// The `serializer.*` keys.
    pub spec: crate::agent::sink::rolling::parquet::ParquetSpec,
    /// `serializer.stagingDir` (default `~/.flume/parquet-staging/<agent>-<sink>`).
    pub staging_dir: std::path::PathBuf,
}

/// The `hdfs` sink's typed settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollingConfig {
    /// `hdfs.path` without its `file://` or `hdfs://authority` part; may hold escapes.
    pub path: String,
    /// The HDFS cluster for an `hdfs://` path; `None` for a local file system.
    pub remote: Option<RemoteConfig>,
    /// The S3 bucket and staging for an `s3a://` or `s3://` path.
    pub s3: Option<S3Config>,
    /// `hdfs.filePrefix` (default `FlumeData`); may hold escapes.
    pub file_prefix: String,
    /// `hdfs.fileSuffix` (default none; then the codec's extension).
    pub file_suffix: String,
    /// `hdfs.inUsePrefix` (default empty).
    pub in_use_prefix: String,
    /// `hdfs.inUseSuffix` (default `.tmp`), empty with `hdfs.emptyInUseSuffix=true`.
    pub in_use_suffix: String,
    /// `hdfs.rollInterval` (default 30 s; 0 = never).
    pub roll_interval: Option<Duration>,
    /// `hdfs.rollSize` in body bytes (default 1024; 0 = never).
    pub roll_size: Option<u64>,
    /// `hdfs.rollCount` in events (default 10; 0 = never).
    pub roll_count: Option<u64>,
    /// `hdfs.idleTimeout` (default 0 = never).
    pub idle_timeout: Option<Duration>,
    /// `hdfs.batchSize` (default 100).
    pub batch_size: usize,
    /// `hdfs.fileType` (default SequenceFile).
    pub file_type: FileType,
    /// `hdfs.codeC` (required by CompressedStream).
    pub codec: Option<Codec>,
    /// `hdfs.writeFormat` (default Writable).
    pub write_format: WriteFormat,
    /// `hdfs.maxOpenFiles` (default 5000).
    pub max_open_files: usize,
    /// `hdfs.maxBufferBytes` (default 64 MiB): the unwritten batch bytes of all open buckets
    /// together ([`super::budget`]).
    pub max_buffer_bytes: usize,
    /// `hdfs.round`, `hdfs.roundValue`, `hdfs.roundUnit`.
    pub round: Option<Rounding>,
    /// `hdfs.timeZone` (default local).
    pub zone: Zone,
    /// `hdfs.useLocalTimeStamp` (default false).
    pub use_local_timestamp: bool,
    /// `hdfs.closeTries` (default 0 = until it works).
    pub close_tries: u32,
    /// `hdfs.retryInterval` (default 180 s).
    pub retry_interval: Duration,
    /// `hdfs.callTimeout` (default 30000 ms): the longest one batch's file work may take.
    pub call_timeout: Duration,
    /// `serializer` (default TEXT).
    pub serializer: Serializer,
    /// `serializer` naming a user's `EventSerializer.Builder` class (with the `serializer.*`
    /// keys as its Context): it writes the bytes of DataStream files, hosted outside the
    /// engine ([`super::serializer`]).
    pub serializer_class: Option<SerializerSpec>,
    /// `serializer.appendNewline` (default true).
    pub append_newline: bool,
    /// `serializer.syncIntervalBytes` for avro_event (default 2048000).
    pub sync_interval_bytes: u64,
    /// `hdfs.fsyncPerBatch` (Sluice; default true): fsync each batch before the take commits.
    pub fsync_per_batch: bool,
    /// `keepEventId` (Sluice; default false): `HEADER_AND_TEXT` and `avro_event` write the
    /// event id among the headers ([`crate::agent::out_headers`]).
    pub keep_event_id: bool,
    /// How messages name the keys (`type = s3`: plain).
    pub keys: KeyNames,
    /// `serializer = parquet`.
    pub parquet: Option<ParquetOut>,
}

/// `hdfs.maxBufferBytes`.
fn max_buffer_bytes(cx: &mut Ctx<'_>) -> usize {
    let n = cx.bytes(
        "hdfs.maxBufferBytes",
        BUFFER_BYTES_DEFAULT,
        BUFFER_BYTES_MIN,
        BUFFER_BYTES_LIMIT,
    );
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Reads an `hdfs` sink's properties: every key, whatever was refused before it (an error
/// is reported through `cx`, and the settings then only serve the configuration's checks).
pub fn parse(cx: &mut Ctx<'_>) -> Option<RollingConfig> {
    parse_with(cx, None)
}

/// [`parse`], with an S3 path's connection given (`type = s3`, [`crate::agent::sink::s3`]) instead
/// of read from core-site.xml.
pub fn parse_with(cx: &mut Ctx<'_>, conn: Option<s3::Connection>) -> Option<RollingConfig> {
    let (path, remote, s3) = hdfs_path(cx, conn);
    let file_prefix = file_prefix(cx);
    let (file_type, codec) = file_type_and_codec(cx);
    let (write_format, serializer) = format_keys(cx, file_type);
    let serializer_class = parse_spec(cx, "serializer");
    if serializer_class.is_some() && file_type != FileType::DataStream {
        cx.error(
            "hdfs.fileType",
            "a Java serializer writes DataStream files (set hdfs.fileType = DataStream)",
        );
    }
    let round = rounding(cx);
    let zone = time_zone(cx);
    let secs = |cx: &mut Ctx<'_>, key: &str, default: u64| {
        let n = cx.u64(key, default, 0, DURATION_S_MAX);
        (n > 0).then(|| Duration::from_secs(n))
    };
    let roll_interval = secs(cx, "hdfs.rollInterval", 30);
    let idle_timeout = secs(cx, "hdfs.idleTimeout", 0);
    let roll_size = Some(cx.bytes("hdfs.rollSize", 1024, 0, u64::MAX)).filter(|n| *n > 0);
    let roll_count = Some(cx.u64("hdfs.rollCount", 10, 0, u64::MAX)).filter(|n| *n > 0);
    let batch_size = cx.u64("hdfs.batchSize", 100, 1, BATCH_SIZE_LIMIT);
    let max_open_files = cx.u64("hdfs.maxOpenFiles", 5000, 1, MAX_OPEN_FILES_LIMIT);
    let empty_in_use_suffix = cx.bool("hdfs.emptyInUseSuffix", false);
    let in_use_suffix = cx.get("hdfs.inUseSuffix").unwrap_or_else(|| ".tmp".into());
    let close_tries = cx.u64("hdfs.closeTries", 0, 0, u32::MAX as u64) as u32;
    let retry_interval = Duration::from_secs(cx.u64("hdfs.retryInterval", 180, 0, DURATION_S_MAX));
    let call_timeout =
        Duration::from_millis(cx.u64("hdfs.callTimeout", 30_000, 1, DURATION_MS_MAX));
    if remote.is_none() && s3.is_none() {
        warn_local_only_keys(cx);
    }
    // A refused `hdfs.path` (reported above) does not stop the rest of the sink from being
    // read and checked: every other key is read below, and the settings are returned with an
    // empty path, which `config::load` uses only for its cross-component checks (the batch
    // size against the channel) because the component has an error.
    let in_use_suffix = in_use_suffix_of(cx, s3.is_some(), empty_in_use_suffix, in_use_suffix);
    let max_buffer = max_buffer_bytes(cx);
    let parquet = format::parquet_keys(cx, file_type, max_buffer, &in_use_suffix);
    Some(RollingConfig {
        path: path.unwrap_or_default(),
        remote,
        s3,
        file_prefix,
        file_suffix: cx.get("hdfs.fileSuffix").unwrap_or_default(),
        in_use_prefix: cx.get("hdfs.inUsePrefix").unwrap_or_default(),
        in_use_suffix,
        roll_interval,
        roll_size,
        roll_count,
        idle_timeout,
        batch_size: batch_size.min(BATCH_SIZE_LIMIT) as usize,
        file_type,
        codec,
        write_format,
        max_open_files: max_open_files.min(MAX_OPEN_FILES_LIMIT) as usize,
        max_buffer_bytes: max_buffer,
        round,
        zone,
        use_local_timestamp: cx.bool("hdfs.useLocalTimeStamp", false),
        close_tries,
        retry_interval,
        call_timeout,
        serializer,
        serializer_class,
        append_newline: cx.bool("serializer.appendNewline", true),
        sync_interval_bytes: cx.bytes("serializer.syncIntervalBytes", 2_048_000, 32, 1 << 30),
        fsync_per_batch: cx.bool("hdfs.fsyncPerBatch", true),
        keep_event_id: crate::agent::out_headers::keep_event_id(cx),
        keys: KeyNames::Hdfs,
        parquet,
    })
}

/// `hdfs.filePrefix` (default `FlumeData`): a template without '/'.
fn file_prefix(cx: &mut Ctx<'_>) -> String {
    let file_prefix = cx
        .get("hdfs.filePrefix")
        .unwrap_or_else(|| "FlumeData".into());
    if let Err(e) = PathTemplate::parse(&file_prefix) {
        cx.error("hdfs.filePrefix", e.to_string());
    }
    if file_prefix.contains('/') {
        cx.error(
            "hdfs.filePrefix",
            "must not contain '/'; put directories in hdfs.path",
        );
    }
    file_prefix
}

/// `hdfs.timeZone` (default: the machine's).
fn time_zone(cx: &mut Ctx<'_>) -> Zone {
    match cx.get("hdfs.timeZone") {
        None => Zone::Local,
        Some(v) => match Zone::parse(&v) {
            Some(z) => z,
            None => {
                cx.error(
                    "hdfs.timeZone",
                    format!("unknown time zone {v:?}; use an IANA name like America/Los_Angeles, UTC or GMT+05:30"),
                );
                Zone::Local
            }
        },
    }
}

/// Warns about keys of Hadoop's HDFS client that have no meaning on a local file system (an
/// `hdfs://` path reads them in `remote::parse`).
fn warn_local_only_keys(cx: &mut Ctx<'_>) {
    for k in [
        "hdfs.minBlockReplicas",
        "hdfs.threadsPoolSize",
        "hdfs.rollTimerPoolSize",
        "hdfs.kerberosPrincipal",
        "hdfs.kerberosKeytab",
        "hdfs.proxyUser",
        "hdfs.hdfsConfigDir",
    ] {
        if cx.get(k).is_some() {
            cx.warn(k, "has no effect on a local file system; ignored");
        }
    }
}

/// `hdfs.inUseSuffix` as used: empty with `hdfs.emptyInUseSuffix`, except with S3, where
/// in-use names exist only in the staging directory and recovery needs them to tell staged
/// files apart: an empty suffix with an empty prefix is `.tmp` there.
fn in_use_suffix_of(cx: &mut Ctx<'_>, s3: bool, empty: bool, suffix: String) -> String {
    let suffix = if empty { String::new() } else { suffix };
    if s3 && suffix.is_empty() && cx.get("hdfs.inUsePrefix").is_none_or(|p| p.is_empty()) {
        return ".tmp".to_owned();
    }
    suffix
}

fn rounding(cx: &mut Ctx<'_>) -> Option<Rounding> {
    let round = cx.bool("hdfs.round", false);
    let value = cx.u64("hdfs.roundValue", 1, 1, 1_000_000);
    let unit = match cx.get("hdfs.roundUnit").as_deref() {
        None => RoundUnit::Second,
        Some(v) if v.eq_ignore_ascii_case("second") => RoundUnit::Second,
        Some(v) if v.eq_ignore_ascii_case("minute") => RoundUnit::Minute,
        Some(v) if v.eq_ignore_ascii_case("hour") => RoundUnit::Hour,
        Some(v) => {
            cx.error(
                "hdfs.roundUnit",
                format!("unknown unit {v:?}; supported: second, minute, hour"),
            );
            RoundUnit::Second
        }
    };
    let max = match unit {
        RoundUnit::Hour => 24,
        _ => 60,
    };
    if value > max {
        cx.error(
            "hdfs.roundValue",
            format!("must be at most {max} for unit {unit:?}, got {value}"),
        );
        return None;
    }
    round.then_some(Rounding {
        value: value as u32,
        unit,
    })
}
