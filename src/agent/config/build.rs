//! Builds each component's typed settings from its properties.

use std::path::PathBuf;
use std::time::Duration;

use super::ctx::Ctx;
use super::types::{
    ChannelKind, ExecConfig, FileRollConfig, MemoryConfig, NetcatConfig, SeqConfig, SinkKind,
    SourceKind,
};
use crate::channel::config::{IGNORED_KEYS, KNOWN_KEYS};
use crate::channel::FileChannelConfig;

/// Largest batch size accepted anywhere (a limit on memory held by one transaction).
pub const BATCH_SIZE_MAX: u64 = 1_000_000;

/// A source's settings (`type` already resolved to `short`).
pub fn source(cx: &mut Ctx<'_>, short: &str) -> Option<SourceKind> {
    match short {
        "netcat" => {
            let bind = cx.required("bind");
            let port = cx.required("port").and_then(|p| match p.parse::<u16>() {
                Ok(n) => Some(n),
                Err(_) => {
                    cx.error("port", format!("expected a port number 0-65535, got {p:?}"));
                    None
                }
            });
            let max_line_length = cx.u64("max-line-length", 512, 1) as usize;
            let ack_every_event = cx.bool("ack-every-event", true);
            Some(SourceKind::Netcat(NetcatConfig {
                bind: bind?,
                port: port?,
                max_line_length,
                ack_every_event,
            }))
        }
        "seq" => Some(SourceKind::Seq(SeqConfig {
            total_events: cx.u64("totalEvents", i64::MAX as u64, 0),
            batch_size: batch(cx, "batchSize", 1),
        })),
        "exec" => {
            let command = cx.required("command");
            let shell = cx.get("shell");
            let cfg = ExecConfig {
                command: command?,
                shell,
                restart: cx.bool("restart", false),
                restart_throttle: Duration::from_millis(cx.u64("restartThrottle", 10_000, 0)),
                log_stderr: cx.bool("logStdErr", false),
                batch_size: batch(cx, "batchSize", 20),
                batch_timeout: Duration::from_millis(cx.u64("batchTimeout", 3000, 1)),
            };
            Some(SourceKind::Exec(cfg))
        }
        "spooldir" => crate::agent::source::spooldir::config::build(cx).map(SourceKind::SpoolDir),
        "TAILDIR" => crate::agent::source::taildir::config::build(cx).map(SourceKind::Taildir),
        _ => None,
    }
}

/// A channel's settings.
pub fn channel(cx: &mut Ctx<'_>, short: &str) -> Option<ChannelKind> {
    match short {
        "memory" => {
            let capacity = cx.u64("capacity", 100, 1);
            let transaction_capacity = cx.u64("transactionCapacity", 100, 1);
            if transaction_capacity > capacity {
                cx.error(
                    "transactionCapacity",
                    format!("{transaction_capacity} exceeds capacity {capacity}"),
                );
            }
            let keep_alive = Duration::from_secs(cx.u64("keep-alive", 3, 0));
            let byte_capacity = cx.get("byteCapacity").and_then(|v| match v.parse::<u64>() {
                Ok(0) => None,
                Ok(n) => Some(n),
                Err(_) => {
                    cx.error("byteCapacity", format!("expected bytes, got {v:?}"));
                    None
                }
            });
            let pct = cx.u64("byteCapacityBufferPercentage", 20, 0);
            if pct >= 100 {
                cx.error("byteCapacityBufferPercentage", "must be below 100");
            }
            Some(ChannelKind::Memory(MemoryConfig {
                capacity,
                transaction_capacity,
                keep_alive,
                byte_capacity,
                byte_capacity_buffer_percentage: pct,
            }))
        }
        "file" => file_channel(cx).map(ChannelKind::File),
        _ => None,
    }
}

fn file_channel(cx: &mut Ctx<'_>) -> Option<FileChannelConfig> {
    let mut props = std::collections::BTreeMap::new();
    let keys: Vec<String> = cx.comp().props.keys().cloned().collect();
    for k in keys {
        if k == "type" {
            continue;
        }
        if KNOWN_KEYS.contains(&k.as_str()) || IGNORED_KEYS.contains(&k.as_str()) {
            if let Some(v) = cx.get(&k) {
                props.insert(k, v);
            }
        } else if k.starts_with("encryption.") {
            cx.get(&k);
            cx.error(&k, "encryption of the file channel is not supported");
        }
    }
    match FileChannelConfig::from_properties(&props) {
        Ok((cfg, warnings)) => {
            for w in warnings {
                let key = w
                    .split(|c: char| c.is_whitespace() || c == '=')
                    .next()
                    .unwrap_or("")
                    .to_owned();
                let key = if props.contains_key(&key) {
                    key
                } else {
                    "type".into()
                };
                cx.warn(&key, w);
            }
            Some(cfg)
        }
        Err(e) => {
            cx.error(&e.key, e.message);
            None
        }
    }
}

/// A sink's settings.
pub fn sink(cx: &mut Ctx<'_>, short: &str) -> Option<SinkKind> {
    match short {
        "logger" => Some(SinkKind::Logger {
            max_bytes_to_log: cx.u64("maxBytesToLog", 16, 0) as usize,
        }),
        "null" => Some(SinkKind::Null {
            batch_size: batch(cx, "batchSize", 100),
        }),
        "file_roll" => {
            let directory = cx.required("sink.directory").map(PathBuf::from);
            let secs = cx.u64("sink.rollInterval", 30, 0);
            let batch_size = batch(cx, "sink.batchSize", 100);
            if let Some(s) = cx.get("sink.serializer") {
                if !s.eq_ignore_ascii_case("text") {
                    cx.error(
                        "sink.serializer",
                        format!("unsupported serializer {s:?}; supported: TEXT"),
                    );
                }
            }
            let append_newline = cx.bool("sink.serializer.appendNewline", true);
            Some(SinkKind::FileRoll(FileRollConfig {
                directory: directory?,
                roll_interval: (secs > 0).then(|| Duration::from_secs(secs)),
                batch_size,
                append_newline,
            }))
        }
        _ => None,
    }
}

/// A batch size of at least 1 and at most [`BATCH_SIZE_MAX`].
pub fn batch(cx: &mut Ctx<'_>, key: &str, default: u64) -> usize {
    let n = cx.u64(key, default, 1);
    if n > BATCH_SIZE_MAX {
        cx.error(key, format!("{n} exceeds the limit {BATCH_SIZE_MAX}"));
        return default as usize;
    }
    n as usize
}
