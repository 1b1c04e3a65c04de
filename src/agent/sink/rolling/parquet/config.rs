//! The `parquet` serializer's keys, under a sink's serializer prefix (`sink.serializer.` for
//! file_roll): `compression` (zstd, snappy, gzip, none; default zstd), `rowGroupBytes`
//! (default 64 MiB, at most the sink's buffer bound: refused naming both when larger),
//! `bodyAsString` (false) and `columns` (header names, comma separated).

use super::{Compression, ParquetSpec, ROW_GROUP_DEFAULT_BYTES, ROW_GROUP_MAX_BYTES};
use crate::agent::config::Ctx;

/// Column names a lifted header may not take.
const RESERVED: [&str; 3] = ["timestamp", "headers", "body"];

/// Reads the keys below `prefix` (ending in `.`); `bound` is the key and value that bound a
/// row group (`hdfs.maxBufferBytes`), when the sink has one.
pub(crate) fn parse(
    cx: &mut Ctx<'_>,
    prefix: &str,
    bound: Option<(&str, u64)>,
    keep_id: bool,
) -> ParquetSpec {
    let key = |k: &str| format!("{prefix}{k}");
    let compression = match cx.get(&key("compression")).as_deref().map(str::trim) {
        None => Compression::Zstd,
        Some(v) if v.eq_ignore_ascii_case("zstd") => Compression::Zstd,
        Some(v) if v.eq_ignore_ascii_case("snappy") => Compression::Snappy,
        Some(v) if v.eq_ignore_ascii_case("gzip") => Compression::Gzip,
        Some(v) if v.eq_ignore_ascii_case("none") || v.eq_ignore_ascii_case("uncompressed") => {
            Compression::None
        }
        Some(v) => {
            cx.error(
                &key("compression"),
                format!("unknown Parquet compression {v:?}; supported: zstd, snappy, gzip, none"),
            );
            Compression::Zstd
        }
    };
    let rg_key = key("rowGroupBytes");
    let max = bound.map_or(ROW_GROUP_MAX_BYTES, |(_, b)| b.min(ROW_GROUP_MAX_BYTES));
    let wanted = cx.bytes(&rg_key, ROW_GROUP_DEFAULT_BYTES.min(max), 1024, u64::MAX);
    if wanted > max {
        let why = match bound {
            Some((bkey, b)) if b < ROW_GROUP_MAX_BYTES => format!("{bkey} ({b} bytes)"),
            _ => format!("the largest row group Sluice buffers ({ROW_GROUP_MAX_BYTES} bytes)"),
        };
        cx.error(
            &rg_key,
            format!("a row group of {wanted} bytes is buffered whole, more than {why} allows; lower {rg_key}"),
        );
    }
    let body_as_string = cx.bool(&key("bodyAsString"), false);
    let columns = columns(cx, &key("columns"));
    ParquetSpec {
        columns,
        compression,
        row_group_bytes: usize::try_from(wanted.min(max)).unwrap_or(usize::MAX),
        body_as_string,
        keep_id,
    }
}

/// `columns`: header names, comma separated, each once and none of the fixed columns.
fn columns(cx: &mut Ctx<'_>, key: &str) -> Vec<String> {
    let Some(list) = cx.get(key) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if RESERVED.contains(&name) {
            cx.error(
                key,
                format!("{name:?} is a column of every file (timestamp, headers, body); lift another header"),
            );
        } else if out.iter().any(|c| c == name) {
            cx.error(key, format!("{name:?} is named twice"));
        } else {
            out.push(name.to_owned());
        }
    }
    out
}
