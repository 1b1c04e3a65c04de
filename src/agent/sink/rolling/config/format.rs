//! The keys of what the `hdfs` sink writes in a file: `hdfs.fileType` with `hdfs.codeC`, and
//! `hdfs.writeFormat` with `serializer*`, each checked against the file type.

use std::path::{Path, PathBuf};

use super::{FileType, ParquetOut, Serializer, WriteFormat};
use crate::agent::config::ctx::Ctx;
use crate::agent::sink::rolling::codec::Codec;
use crate::agent::sink::rolling::serializer as named;

/// `hdfs.fileType` and `hdfs.codeC`, checked together (the codec as used: none but for
/// `CompressedStream`).
pub(super) fn file_type_and_codec(cx: &mut Ctx<'_>) -> (FileType, Option<Codec>) {
    let file_type = match cx.get("hdfs.fileType").as_deref() {
        None => FileType::SequenceFile,
        Some(v) if v.eq_ignore_ascii_case("SequenceFile") => FileType::SequenceFile,
        Some(v) if v.eq_ignore_ascii_case("DataStream") => FileType::DataStream,
        Some(v) if v.eq_ignore_ascii_case("CompressedStream") => FileType::CompressedStream,
        Some(v) => {
            cx.error(
                "hdfs.fileType",
                format!("unknown file type {v:?}; supported: SequenceFile, DataStream, CompressedStream"),
            );
            FileType::DataStream
        }
    };
    let codec = cx.get("hdfs.codeC").and_then(|v| match Codec::parse(&v) {
        Some(c) => Some(c),
        None => {
            cx.error(
                "hdfs.codeC",
                format!("unknown codec {v:?}; supported: {}", Codec::SUPPORTED),
            );
            None
        }
    });
    match (file_type, codec) {
        (FileType::CompressedStream, None) if !cx.failed() => {
            cx.error("hdfs.codeC", "fileType CompressedStream needs hdfs.codeC")
        }
        (FileType::SequenceFile, Some(_)) => cx.error(
            "hdfs.codeC",
            "compressed SequenceFiles are not supported; use fileType CompressedStream",
        ),
        _ => {}
    }
    // Flume ignores codeC for DataStream; so do we, but say so.
    let codec = match file_type {
        FileType::CompressedStream => codec,
        FileType::DataStream if codec.is_some() => {
            cx.warn("hdfs.codeC", "ignored: fileType is DataStream");
            None
        }
        _ => None,
    };
    (file_type, codec)
}

/// `hdfs.writeFormat` and `serializer*`, checked against the file type.
pub(super) fn format_keys(cx: &mut Ctx<'_>, file_type: FileType) -> (WriteFormat, Serializer) {
    let write_format = match cx.get("hdfs.writeFormat").as_deref() {
        None => WriteFormat::Writable,
        Some(v) if v.eq_ignore_ascii_case("Writable") => WriteFormat::Writable,
        Some(v) if v.eq_ignore_ascii_case("Text") => WriteFormat::Text,
        Some(v) => {
            cx.error(
                "hdfs.writeFormat",
                format!("unknown write format {v:?}; supported: Writable, Text"),
            );
            WriteFormat::Writable
        }
    };
    let serializer = match cx.get("serializer").as_deref() {
        None => Serializer::Text,
        Some(v) if v.eq_ignore_ascii_case("text") || v == named::FLUME_TEXT => Serializer::Text,
        Some(v)
            if v.eq_ignore_ascii_case("header_and_text") || v == named::FLUME_HEADER_AND_TEXT =>
        {
            Serializer::HeaderAndText
        }
        Some(v) if v.eq_ignore_ascii_case("avro_event") || v == named::FLUME_AVRO_EVENT => {
            Serializer::AvroEvent
        }
        // Read by [`parquet_keys`].
        Some(v) if v.trim().eq_ignore_ascii_case("parquet") => Serializer::Text,
        // A user's EventSerializer.Builder ([`RollingConfig::serializer_class`]).
        Some(v) if crate::agent::component::is_class_name(v) => Serializer::Text,
        Some(v) => {
            cx.error(
                "serializer",
                format!(
                    "unsupported serializer {v:?}; supported: TEXT, HEADER_AND_TEXT, \
                     avro_event, or the class name of a Java EventSerializer.Builder"
                ),
            );
            Serializer::Text
        }
    };
    if serializer == Serializer::AvroEvent && file_type == FileType::CompressedStream {
        cx.error(
            "serializer",
            "avro_event with CompressedStream is not supported; use DataStream (Avro containers are not compressed by an outer codec)",
        );
    }
    if let Some(c) = cx.get("serializer.compressionCodec") {
        if !c.eq_ignore_ascii_case("null") {
            cx.error(
                "serializer.compressionCodec",
                format!("Avro block compression {c:?} is not supported; only null"),
            );
        }
    }
    (write_format, serializer)
}

/// `serializer = parquet` and its `serializer.*` keys (`serializer.rowGroupBytes` bounded by
/// `hdfs.maxBufferBytes`, `max_buffer`), with the directory its rows are staged in;
/// `None` for another serializer. Parquet writes whole files of its own: DataStream only,
/// and in-use files must be told apart from final ones (the start finishes them).
pub(super) fn parquet_keys(
    cx: &mut Ctx<'_>,
    file_type: FileType,
    max_buffer: usize,
    in_use_suffix: &str,
) -> Option<ParquetOut> {
    let asked = cx.get("serializer");
    if !asked.is_some_and(|v| v.trim().eq_ignore_ascii_case("parquet")) {
        return None;
    }
    if file_type != FileType::DataStream {
        cx.error(
            "hdfs.fileType",
            "serializer = parquet writes Parquet files of its own: set hdfs.fileType = DataStream",
        );
    }
    if in_use_suffix.is_empty() && cx.get("hdfs.inUsePrefix").is_none_or(|p| p.is_empty()) {
        cx.error(
            "hdfs.emptyInUseSuffix",
            "serializer = parquet needs in-use names (hdfs.inUseSuffix or hdfs.inUsePrefix): a Parquet file left in use by a crash is finished at start",
        );
    }
    let keep_id = crate::agent::out_headers::keep_event_id(cx);
    let bound = ("hdfs.maxBufferBytes", max_buffer as u64);
    let spec = crate::agent::sink::rolling::parquet::config::parse(
        cx,
        "serializer.",
        Some(bound),
        keep_id,
    );
    let staging_dir = match cx
        .get("serializer.stagingDir")
        .filter(|d| !d.trim().is_empty())
    {
        Some(d) if Path::new(&d).is_relative() => {
            cx.error(
                "serializer.stagingDir",
                format!("{d:?} must be an absolute path"),
            );
            PathBuf::from(d)
        }
        Some(d) => PathBuf::from(d),
        None => default_staging_dir(cx),
    };
    Some(ParquetOut { spec, staging_dir })
}

/// The default directory a sink's Parquet rows are staged in:
/// `~/.flume/parquet-staging/<agent>-<sink>` (as an S3 sink's staging directory).
fn default_staging_dir(cx: &Ctx<'_>) -> PathBuf {
    let s3 = super::s3::default_staging_dir(cx);
    let name = s3.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    s3.parent()
        .and_then(Path::parent)
        .map_or_else(
            || PathBuf::from("parquet-staging"),
            |p| p.join("parquet-staging"),
        )
        .join(name)
}
