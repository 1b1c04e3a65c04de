//! `spooldir` settings: Flume's keys and defaults (SpoolDirectorySourceConfigurationConstants),
//! read with line-numbered errors.

use std::path::PathBuf;
use std::time::Duration;

use super::charset::{DecodeErrorPolicy, InputCharset, OutputCharset};
use crate::agent::config::ctx::Ctx;
use crate::agent::config::limits::DURATION_MS_MAX;
use crate::agent::source::multiline::{self, MultilineConfig};

/// The BLOB deserializer's class name in Flume.
pub(crate) const BLOB_CLASS: &str = "org.apache.flume.sink.solr.morphline.BlobDeserializer$Builder";
/// Largest `deserializer.maxLineLength` accepted.
pub(crate) const MAX_LINE_LENGTH_LIMIT: u64 = 64 * 1024 * 1024;
/// Largest `deserializer.maxBlobLength` accepted.
pub(crate) const MAX_BLOB_LENGTH_LIMIT: u64 = 1 << 30;

/// A warning when BLOB events may be larger than the file channel `channel` stores in one
/// event (`RECORD_BYTES_MAX`, headers included): such a file is set aside at run time.
pub(crate) fn blob_over_file_channel(cfg: &SpoolDirConfig, channel: &str) -> Option<String> {
    let Deserializer::Blob { max_blob_length } = cfg.deserializer else {
        return None;
    };
    let limit = sluice_core::RECORD_BYTES_MAX;
    (max_blob_length >= limit).then(|| {
        format!(
            "{max_blob_length} bytes is more than file channel {channel} stores in one event \
             ({limit} bytes with headers): a file with a part that large is refused by the \
             channel and set aside (it keeps its name; the files behind it go on); set it to \
             at most 64000000 to have large files cut into several events"
        )
    })
}

/// `deletePolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeletePolicy {
    /// `never` (default): completed files are renamed or marked.
    Never,
    /// `immediate`: completed files are deleted.
    Immediate,
}

/// `trackingPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackingPolicy {
    /// `rename` (default): `<file><fileSuffix>`.
    Rename,
    /// `tracker_dir`: an empty `<trackerDir>/<file><fileSuffix>` marks the file done.
    TrackerDir,
}

/// `consumeOrder`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumeOrder {
    /// Oldest modification time first (default).
    Oldest,
    /// Youngest first.
    Youngest,
    /// Any order.
    Random,
}

/// `deserializer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deserializer {
    /// `LINE`: one event per line.
    Line {
        /// `deserializer.maxLineLength` (default 2048).
        max_line_length: usize,
        /// `deserializer.outputCharset` (default UTF-8).
        output_charset: OutputCharset,
    },
    /// BLOB: the whole file (up to `maxBlobLength` bytes per event).
    Blob {
        /// `deserializer.maxBlobLength` (default 100000000).
        max_blob_length: usize,
    },
}

/// `spooldir` source settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpoolDirConfig {
    /// `spoolDir`.
    pub spool_dir: PathBuf,
    /// `fileSuffix` (default `.COMPLETED`).
    pub file_suffix: String,
    /// `deletePolicy` (default never).
    pub delete_policy: DeletePolicy,
    /// `fileHeader` (default false): the absolute path in `fileHeaderKey`.
    pub file_header: bool,
    /// `fileHeaderKey` (default `file`).
    pub file_header_key: String,
    /// `basenameHeader` (default false): the file name in `basenameHeaderKey`.
    pub basename_header: bool,
    /// `basenameHeaderKey` (default `basename`).
    pub basename_header_key: String,
    /// `includePattern` (default `^.*$`), matched against the file name.
    pub include_pattern: String,
    /// `ignorePattern` (default `^$`), matched against the file name.
    pub ignore_pattern: String,
    /// `trackerDir` (default `.flumespool`, relative to `spoolDir`), resolved.
    pub tracker_dir: PathBuf,
    /// `trackingPolicy` (default rename).
    pub tracking_policy: TrackingPolicy,
    /// `consumeOrder` (default oldest).
    pub consume_order: ConsumeOrder,
    /// `pollDelay` (default 500 ms).
    pub poll_delay: Duration,
    /// `recursiveDirectorySearch` (default false).
    pub recursive: bool,
    /// `maxBackoff` (default 4000 ms): longest wait after the channel refused a batch.
    pub max_backoff: Duration,
    /// `batchSize` (default 100).
    pub batch_size: usize,
    /// `inputCharset` (default UTF-8).
    pub input_charset: InputCharset,
    /// `decodeErrorPolicy` (default FAIL).
    pub decode_error_policy: DecodeErrorPolicy,
    /// `deserializer` (default LINE).
    pub deserializer: Deserializer,
    /// `multiline.*` (Sluice, Beats' keys; LINE only): lines joined into events; the end of
    /// a file ends the event held.
    pub multiline: Option<MultilineConfig>,
}

fn anchored(pattern: &str) -> String {
    format!("^(?:{pattern})$")
}

impl SpoolDirConfig {
    /// `includePattern` compiled to match the whole name, as Java's `matches()`.
    pub(crate) fn include_regex(&self) -> Result<regex::Regex, regex::Error> {
        regex::Regex::new(&anchored(&self.include_pattern))
    }

    /// `ignorePattern` compiled to match the whole name.
    pub(crate) fn ignore_regex(&self) -> Result<regex::Regex, regex::Error> {
        regex::Regex::new(&anchored(&self.ignore_pattern))
    }
}

fn pattern(cx: &mut Ctx<'_>, key: &str, default: &str) -> String {
    let p = cx.get(key).unwrap_or_else(|| default.to_owned());
    if let Err(e) = regex::Regex::new(&anchored(&p)) {
        cx.error(key, format!("invalid regular expression {p:?}: {e}"));
    }
    p
}

fn choice<T: Copy>(cx: &mut Ctx<'_>, key: &str, default: T, options: &[(&str, T)]) -> T {
    let Some(v) = cx.get(key) else {
        return default;
    };
    match options.iter().find(|(n, _)| n.eq_ignore_ascii_case(&v)) {
        Some((_, t)) => *t,
        None => {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            cx.error(
                key,
                format!("unknown value {v:?}; expected one of {}", names.join(", ")),
            );
            default
        }
    }
}

/// Reads a `spooldir` source's properties.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<SpoolDirConfig> {
    let spool_dir = cx.required("spoolDir").map(PathBuf::from);
    let file_suffix = cx
        .get("fileSuffix")
        .unwrap_or_else(|| ".COMPLETED".to_owned());
    if file_suffix.is_empty() || file_suffix.contains('/') {
        cx.error("fileSuffix", "must be non-empty and contain no '/'");
    }
    let (delete_policy, tracking_policy, consume_order) = policies(cx);
    let tracker = cx
        .get("trackerDir")
        .unwrap_or_else(|| ".flumespool".to_owned());
    let (input_charset, decode_error_policy) = charsets(cx);
    let deserializer = deserializer(cx);
    let multiline = multiline::config::parse(cx);
    if multiline.is_some() && matches!(deserializer, Some(Deserializer::Blob { .. })) {
        cx.error(
            "multiline.pattern",
            "multiline needs the LINE deserializer (BLOB makes one event per file already)",
        );
    }
    let cfg = SpoolDirConfig {
        multiline,
        file_suffix,
        delete_policy,
        file_header: cx.bool("fileHeader", false),
        file_header_key: cx.get("fileHeaderKey").unwrap_or_else(|| "file".into()),
        basename_header: cx.bool("basenameHeader", false),
        basename_header_key: cx
            .get("basenameHeaderKey")
            .unwrap_or_else(|| "basename".into()),
        include_pattern: pattern(cx, "includePattern", "^.*$"),
        ignore_pattern: pattern(cx, "ignorePattern", "^$"),
        tracking_policy,
        consume_order,
        poll_delay: Duration::from_millis(cx.u64("pollDelay", 500, 1, DURATION_MS_MAX)),
        recursive: cx.bool("recursiveDirectorySearch", false),
        max_backoff: Duration::from_millis(cx.u64("maxBackoff", 4000, 1, DURATION_MS_MAX)),
        batch_size: cx.batch_size("batchSize", 100),
        input_charset: input_charset?,
        decode_error_policy: decode_error_policy?,
        deserializer: deserializer?,
        tracker_dir: spool_dir.as_ref().map(|d| d.join(&tracker))?,
        spool_dir: spool_dir?,
    };
    Some(cfg)
}

/// `deletePolicy`, `trackingPolicy` and `consumeOrder`.
fn policies(cx: &mut Ctx<'_>) -> (DeletePolicy, TrackingPolicy, ConsumeOrder) {
    let delete_policy = choice(
        cx,
        "deletePolicy",
        DeletePolicy::Never,
        &[
            ("never", DeletePolicy::Never),
            ("immediate", DeletePolicy::Immediate),
        ],
    );
    let tracking_policy = choice(
        cx,
        "trackingPolicy",
        TrackingPolicy::Rename,
        &[
            ("rename", TrackingPolicy::Rename),
            ("tracker_dir", TrackingPolicy::TrackerDir),
        ],
    );
    let consume_order = choice(
        cx,
        "consumeOrder",
        ConsumeOrder::Oldest,
        &[
            ("oldest", ConsumeOrder::Oldest),
            ("youngest", ConsumeOrder::Youngest),
            ("random", ConsumeOrder::Random),
        ],
    );
    (delete_policy, tracking_policy, consume_order)
}

/// `inputCharset` (UTF-8 by default) and `decodeErrorPolicy` (FAIL by default); `None` for
/// a bad value (the problem reported).
fn charsets(cx: &mut Ctx<'_>) -> (Option<InputCharset>, Option<DecodeErrorPolicy>) {
    let input_charset = cx
        .get("inputCharset")
        .map_or(Some(InputCharset::Utf8), |v| {
            InputCharset::parse(&v)
                .map_err(|e| cx.error("inputCharset", e.to_string()))
                .ok()
        });
    let decode_error_policy =
        cx.get("decodeErrorPolicy")
            .map_or(Some(DecodeErrorPolicy::Fail), |v| {
                let p = DecodeErrorPolicy::parse(&v);
                if p.is_none() {
                    cx.error(
                        "decodeErrorPolicy",
                        format!("unknown value {v:?}; expected FAIL, REPLACE or IGNORE"),
                    );
                }
                p
            });
    (input_charset, decode_error_policy)
}

fn deserializer(cx: &mut Ctx<'_>) -> Option<Deserializer> {
    let kind = cx.get("deserializer").unwrap_or_else(|| "LINE".into());
    if kind.eq_ignore_ascii_case("LINE") {
        let max = cx.bytes("deserializer.maxLineLength", 2048, 1, u64::MAX);
        if max > MAX_LINE_LENGTH_LIMIT {
            cx.error(
                "deserializer.maxLineLength",
                format!("{max} exceeds the limit {MAX_LINE_LENGTH_LIMIT}"),
            );
            return None;
        }
        let output = cx
            .get("deserializer.outputCharset")
            .map_or(Ok(OutputCharset::Utf8), |v| OutputCharset::parse(&v));
        match output {
            Ok(output_charset) => Some(Deserializer::Line {
                max_line_length: max as usize,
                output_charset,
            }),
            Err(e) => {
                cx.error("deserializer.outputCharset", e.to_string());
                None
            }
        }
    } else if kind == BLOB_CLASS || kind.eq_ignore_ascii_case("BLOB") {
        let max = cx.bytes("deserializer.maxBlobLength", 100_000_000, 1, u64::MAX);
        if max > MAX_BLOB_LENGTH_LIMIT {
            cx.error(
                "deserializer.maxBlobLength",
                format!("{max} exceeds the limit {MAX_BLOB_LENGTH_LIMIT}"),
            );
            return None;
        }
        Some(Deserializer::Blob {
            max_blob_length: max as usize,
        })
    } else {
        cx.error(
            "deserializer",
            format!("unsupported deserializer {kind:?}; supported: LINE, BLOB ({BLOB_CLASS})"),
        );
        None
    }
}
