//! The `file_roll` sink's keys (Flume's `RollingFileSink`): `sink.directory`,
//! `sink.rollInterval` (30 s; 0 = never), `sink.batchSize` (100), `sink.serializer` (`TEXT`,
//! `HEADER_AND_TEXT` or `AVRO_EVENT`, any case, or Flume's class names for them; or Sluice's
//! `parquet` with its `sink.serializer.*` keys, crate::agent::sink::rolling::parquet::config) with
//! `sink.serializer.appendNewline` (true) and `sink.serializer.syncIntervalBytes` (2048000),
//! `sink.pathManager` (DEFAULT or ROLLTIME) with its `prefix`, `extension` and `pattern`, plus
//! Sluice's `sink.fsyncPerBatch` (true) and `keepEventId` (false). A `sink.serializer` that is
//! a Java class is a user's `EventSerializer.Builder`, given the `sink.serializer.*` keys
//! (crate::agent::java::serializer).

use std::path::PathBuf;
use std::time::Duration;

use crate::agent::config::limits::DURATION_S_MAX;
use crate::agent::config::Ctx;
use crate::agent::java::serializer::{self, JavaSerializerSpec};
use crate::agent::sink::rolling::flat::FlatConfig;
pub use crate::agent::sink::rolling::flat::{PathManager, RollSerializer};
use crate::agent::sink::rolling::parquet;

/// `file_roll` sink settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRollConfig {
    /// `sink.directory`.
    pub directory: PathBuf,
    /// `sink.rollInterval` (default 30 s); `None` = never roll (0).
    pub roll_interval: Option<Duration>,
    /// `sink.batchSize` (default 100).
    pub batch_size: usize,
    /// `sink.serializer.appendNewline` (default true).
    pub append_newline: bool,
    /// `sink.pathManager` (default DEFAULT) with its `prefix`, `extension`, `pattern`.
    pub path_manager: PathManager,
    /// `sink.fsyncPerBatch` (Sluice; default true): fsync each batch (and a new file's
    /// directory entry) before the take commits.
    pub fsync_per_batch: bool,
    /// `sink.serializer`: one of Flume's own (when `java_serializer` is `None`).
    pub serializer: RollSerializer,
    /// `sink.serializer` naming a user's Java `EventSerializer.Builder` (instead of TEXT).
    pub java_serializer: Option<JavaSerializerSpec>,
    /// `keepEventId` (Sluice; default false): the event id among the headers written.
    pub keep_event_id: bool,
}

impl FileRollConfig {
    /// The engine's flat writer's settings ([`FlatConfig`]).
    pub(crate) fn flat(&self) -> FlatConfig {
        FlatConfig {
            directory: self.directory.clone(),
            roll_interval: self.roll_interval,
            append_newline: self.append_newline,
            path_manager: self.path_manager.clone(),
            fsync_per_batch: self.fsync_per_batch,
            serializer: self.serializer.clone(),
            keep_event_id: self.keep_event_id,
        }
    }
}

/// Reads a `file_roll` sink's keys.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<FileRollConfig> {
    let directory = cx.required("sink.directory").map(PathBuf::from);
    let secs = cx.u64("sink.rollInterval", 30, 0, DURATION_S_MAX);
    let batch_size = cx.batch_size("sink.batchSize", 100);
    let java_serializer = serializer::parse(cx, "sink.serializer");
    let keep_event_id = crate::agent::out_headers::keep_event_id(cx);
    let own = own_serializer(cx, java_serializer.is_some(), keep_event_id);
    let append_newline = cx.bool("sink.serializer.appendNewline", true);
    let path_manager = path_manager(cx);
    // `directory?` comes last: every key is read (and its problems reported) first.
    Some(FileRollConfig {
        roll_interval: (secs > 0).then(|| Duration::from_secs(secs)),
        batch_size,
        append_newline,
        path_manager,
        fsync_per_batch: cx.bool("sink.fsyncPerBatch", true),
        serializer: own,
        java_serializer,
        keep_event_id,
        directory: directory?,
    })
}

/// Reads `sink.serializer` as one of Flume's own (TEXT when it is unset or a Java class);
/// anything else is refused naming what is supported.
fn own_serializer(cx: &mut Ctx<'_>, java: bool, keep_id: bool) -> RollSerializer {
    let Some(s) = cx.get("sink.serializer").filter(|_| !java) else {
        return RollSerializer::Text;
    };
    let s = s.trim();
    if s.eq_ignore_ascii_case("text") || s == serializer::FLUME_TEXT {
        RollSerializer::Text
    } else if s.eq_ignore_ascii_case("header_and_text") || s == serializer::FLUME_HEADER_AND_TEXT {
        RollSerializer::HeaderAndText
    } else if s.eq_ignore_ascii_case("avro_event") || s == serializer::FLUME_AVRO_EVENT {
        avro_keys(cx)
    } else if s.eq_ignore_ascii_case("parquet") {
        RollSerializer::Parquet(parquet::config::parse(
            cx,
            "sink.serializer.",
            None,
            keep_id,
        ))
    } else {
        cx.error(
            "sink.serializer",
            format!(
                "unsupported serializer {s:?}; supported: TEXT, HEADER_AND_TEXT, AVRO_EVENT, parquet, or \
                 the class name of a Java EventSerializer.Builder (docs/java-plugins.md)"
            ),
        );
        RollSerializer::Text
    }
}

/// `AVRO_EVENT`'s keys: `syncIntervalBytes` (Flume's default 2048000) and `compressionCodec`
/// (`null` only: an Avro block codec Sluice does not write is refused, not ignored).
fn avro_keys(cx: &mut Ctx<'_>) -> RollSerializer {
    let sync = cx.bytes("sink.serializer.syncIntervalBytes", 2_048_000, 32, 1 << 30);
    if let Some(c) = cx.get("sink.serializer.compressionCodec") {
        if !c.trim().eq_ignore_ascii_case("null") {
            cx.error(
                "sink.serializer.compressionCodec",
                format!("unsupported Avro codec {c:?}; supported: null"),
            );
        }
    }
    RollSerializer::AvroEvent {
        sync_interval_bytes: usize::try_from(sync).unwrap_or(2_048_000),
    }
}

/// Reads `sink.pathManager` and its keys.
pub(crate) fn path_manager(cx: &mut Ctx<'_>) -> PathManager {
    let roll_time = match cx.get("sink.pathManager").as_deref() {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("DEFAULT") => false,
        Some(v) if v.eq_ignore_ascii_case("ROLLTIME") => true,
        Some(v) => {
            cx.error(
                "sink.pathManager",
                format!("unknown path manager {v:?}; supported: DEFAULT, ROLLTIME"),
            );
            false
        }
    };
    let java = cx
        .get("sink.pathManager.pattern")
        .unwrap_or_else(|| "yyyyMMddHHmmss".into());
    let pattern = match java_pattern(&java) {
        Ok(p) => p,
        Err(e) => {
            cx.error("sink.pathManager.pattern", e.to_string());
            "%Y%m%d%H%M%S".into()
        }
    };
    PathManager {
        roll_time,
        prefix: cx.get("sink.pathManager.prefix").unwrap_or_default(),
        extension: cx.get("sink.pathManager.extension").unwrap_or_default(),
        pattern,
    }
}

/// A pattern letter run [`java_pattern`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unsupported pattern letters {letters:?} in {pattern:?}; supported: yyyy yy MM dd HH mm ss SSS"
)]
pub(crate) struct PatternError {
    /// The letters.
    pub letters: String,
    /// The whole pattern.
    pub pattern: String,
}

/// A Java date pattern (`yyyy MM dd HH mm ss SSS` and literals) as a chrono format.
pub(crate) fn java_pattern(p: &str) -> Result<String, PatternError> {
    let mut out = String::new();
    let b = p.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let run = b[i..].iter().take_while(|x| **x == c).count();
        let f = match (c, run) {
            (b'y', 4) => "%Y",
            (b'y', 2) => "%y",
            (b'M', 2) => "%m",
            (b'd', 2) => "%d",
            (b'H', 2) => "%H",
            (b'm', 2) => "%M",
            (b's', 2) => "%S",
            (b'S', 3) => "%3f",
            (c, _) if c.is_ascii_alphabetic() => {
                return Err(PatternError {
                    letters: p[i..i + run].to_owned(),
                    pattern: p.to_owned(),
                })
            }
            (b'%', _) => "%%",
            _ => {
                out.push(c as char);
                i += 1;
                continue;
            }
        };
        out.push_str(f);
        i += run;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_date_patterns_become_chrono_formats() {
        assert_eq!(java_pattern("yyyyMMddHHmmss").unwrap(), "%Y%m%d%H%M%S");
        assert_eq!(
            java_pattern("yy-MM-dd_HH.mm.ss.SSS").unwrap(),
            "%y-%m-%d_%H.%M.%S.%3f"
        );
        assert_eq!(java_pattern("EEE").unwrap_err().letters, "EEE");
    }
}
