//! Builds each component's typed settings from its properties.
//!
//! A builder reads every key of its component whatever it refused first, so that one bad key
//! does not hide the others' problems (or make them "unknown"): a refused value is reported
//! through the [`Ctx`] and the `?` that gives up on it comes last (struct fields are
//! evaluated in the order they are written).

use std::path::PathBuf;
use std::time::Duration;

use super::ctx::Ctx;
use super::limits::{
    BYTE_CAPACITY_MAX, CAPACITY_MAX, CONNECTIONS_MAX, DURATION_MS_MAX, DURATION_S_MAX,
    LINE_BYTES_MAX,
};
use super::types::{
    AvroSourceConfig, ChannelKind, ExecConfig, FileRollConfig, MemoryConfig, NetcatConfig,
    SeqConfig, SinkKind, SourceKind,
};
use sluice_core::FileChannelConfig;
use sluice_core::{IGNORED_KEYS, KNOWN_KEYS};

/// Largest batch size accepted anywhere (a limit on memory held by one transaction).
pub const BATCH_SIZE_MAX: u64 = 1_000_000;
/// Default `maxConnections` of a netcat source: each connection costs a descriptor and a
/// task, and 256 leaves room under the common 1,024 open-file limit for the channels.
pub const NETCAT_CONNECTIONS_DEFAULT: u64 = 256;

/// A source's settings (`type` already resolved to `short`).
pub fn source(cx: &mut Ctx<'_>, short: &str) -> Option<SourceKind> {
    match short {
        "java" => {
            let class = cx.get("type").unwrap_or_default();
            Some(SourceKind::Java(crate::agent::java::config::parse(
                cx, &class,
            )))
        }
        "netcat" => {
            let bind = cx.required("bind");
            let port = cx.required("port").and_then(|p| match p.parse::<u16>() {
                Ok(n) => Some(n),
                Err(_) => {
                    cx.error("port", format!("expected a port number 0-65535, got {p:?}"));
                    None
                }
            });
            let max_line_length = cx.u64("max-line-length", 512, 1, LINE_BYTES_MAX) as usize;
            let ack_every_event = cx.bool("ack-every-event", true);
            let max_connections = cx.u64(
                "maxConnections",
                NETCAT_CONNECTIONS_DEFAULT,
                1,
                CONNECTIONS_MAX,
            ) as usize;
            Some(SourceKind::Netcat(NetcatConfig {
                bind: bind?,
                port: port?,
                max_line_length,
                ack_every_event,
                max_connections,
            }))
        }
        "avro" => avro_source(cx),
        "seq" => Some(SourceKind::Seq(SeqConfig {
            total_events: cx.u64("totalEvents", i64::MAX as u64, 0, i64::MAX as u64),
            batch_size: batch(cx, "batchSize", 1),
        })),
        "exec" => {
            let command = cx.required("command");
            let shell = cx.get("shell");
            let cfg = ExecConfig {
                shell,
                restart: cx.bool("restart", false),
                restart_throttle: Duration::from_millis(cx.u64(
                    "restartThrottle",
                    10_000,
                    0,
                    DURATION_MS_MAX,
                )),
                log_stderr: cx.bool("logStdErr", false),
                batch_size: batch(cx, "batchSize", 20),
                batch_timeout: Duration::from_millis(cx.u64(
                    "batchTimeout",
                    3000,
                    1,
                    DURATION_MS_MAX,
                )),
                command: command?,
            };
            Some(SourceKind::Exec(cfg))
        }
        "spooldir" => crate::agent::source::spooldir::config::build(cx).map(SourceKind::SpoolDir),
        "TAILDIR" => crate::agent::source::taildir::config::build(cx).map(SourceKind::Taildir),
        "kafka" => {
            crate::agent::source::kafka::config::build(cx).map(|c| SourceKind::Kafka(Box::new(c)))
        }
        other => super::net::source(cx, other).flatten(),
    }
}

/// Most connections an `avro` source may be configured to hold.
pub const AVRO_CONNECTIONS_MAX: u64 = CONNECTIONS_MAX;
/// Most worker threads a source may be configured to use.
pub const THREADS_MAX: u64 = 1024;
/// Default `max-inflight-bytes` of the avro source (256 MiB).
pub const AVRO_INFLIGHT_BYTES_DEFAULT: u64 = 256 << 20;
/// Least `max-inflight-bytes`.
pub const AVRO_INFLIGHT_BYTES_MIN: u64 = 1 << 20;
/// Bytes a connection may have read past the frame it reserved for (its look-ahead reads),
/// with room to spare; part of the least `max-inflight-bytes`.
const AVRO_READ_SLACK_BYTES: u64 = 64 << 10;
/// Largest `max-inflight-bytes` (what a semaphore wait can ask for at once, 4 GiB - 1).
pub const AVRO_INFLIGHT_BYTES_LIMIT: u64 = u32::MAX as u64;

fn port(cx: &mut Ctx<'_>) -> Option<u16> {
    cx.required("port").and_then(|p| match p.parse::<u16>() {
        Ok(n) => Some(n),
        Err(_) => {
            cx.error("port", format!("expected a port number 0-65535, got {p:?}"));
            None
        }
    })
}

fn avro_source(cx: &mut Ctx<'_>) -> Option<SourceKind> {
    use crate::wire::avro::call::EVENTS_PER_CALL_MAX_DEFAULT;
    use crate::wire::avro::frame::FRAME_BYTES_MAX_DEFAULT;
    let bind = cx.required("bind");
    let port = port(cx);
    let threads = cx
        .get("threads")
        .map(|_| cx.u64("threads", 1, 1, THREADS_MAX) as usize);
    let max_frame_bytes = cx.u64(
        "max-frame-size",
        FRAME_BYTES_MAX_DEFAULT as u64,
        1024,
        i32::MAX as u64,
    );
    let max_events_per_call = cx.u64(
        "max-events-per-call",
        EVENTS_PER_CALL_MAX_DEFAULT as u64,
        1,
        BATCH_SIZE_MAX,
    );
    let max_connections = cx.u64("max-connections", 4096, 1, AVRO_CONNECTIONS_MAX);
    let idle = cx.u64("idle-timeout", 600, 0, DURATION_S_MAX);
    let request_timeout =
        Duration::from_millis(cx.u64("request-timeout", 20_000, 1, DURATION_MS_MAX));
    let max_inflight_bytes = avro_inflight_bytes(cx, max_frame_bytes);
    if let Some(c) = cx.get("compression-type") {
        if !c.eq_ignore_ascii_case("none") {
            cx.error(
                "compression-type",
                format!("{c:?} is not supported yet (only none)"),
            );
        }
    }
    for key in ["ssl", "ipFilter"] {
        if cx.bool(key, false) {
            cx.error(key, "not supported yet");
        }
    }
    let (client_gone_after, client_forget_after) = upstream_keys(cx);
    Some(SourceKind::Avro(AvroSourceConfig {
        bind: bind?,
        port: port?,
        threads,
        max_frame_bytes: max_frame_bytes.min(i32::MAX as u64) as usize,
        max_events_per_call: max_events_per_call.min(BATCH_SIZE_MAX) as usize,
        max_connections: max_connections.min(AVRO_CONNECTIONS_MAX) as usize,
        idle_timeout: (idle > 0).then(|| Duration::from_secs(idle)),
        request_timeout,
        max_inflight_bytes,
        client_gone_after,
        client_forget_after,
    }))
}

/// `max-inflight-bytes` of an avro source: half of it must hold one largest frame.
fn avro_inflight_bytes(cx: &mut Ctx<'_>, max_frame_bytes: u64) -> u64 {
    use crate::wire::avro::frame::FRAME_OVERHEAD_BYTES_MAX;
    // One whole frame, its headers, and the look-ahead reads past it.
    let floor = 2
        * (max_frame_bytes.min(i32::MAX as u64)
            + FRAME_OVERHEAD_BYTES_MAX as u64
            + AVRO_READ_SLACK_BYTES);
    match cx.get("max-inflight-bytes") {
        None => AVRO_INFLIGHT_BYTES_DEFAULT.max(floor),
        Some(_) => {
            let n = cx.u64(
                "max-inflight-bytes",
                AVRO_INFLIGHT_BYTES_DEFAULT,
                AVRO_INFLIGHT_BYTES_MIN,
                AVRO_INFLIGHT_BYTES_LIMIT,
            );
            if n < floor {
                cx.error(
                    "max-inflight-bytes",
                    format!(
                        "{n} is less than twice max-frame-size and its headers ({floor}): \
                         half of the budget must hold one whole frame"
                    ),
                );
            }
            n
        }
    }
}

/// `clientGoneAfter` and `clientForgetAfter` of an RPC source (the upstream-gone alarm).
fn upstream_keys(cx: &mut Ctx<'_>) -> (Duration, Duration) {
    use crate::agent::alarm::upstreams::{FORGET_AFTER_DEFAULT, GONE_AFTER_DEFAULT};
    let mut read = |key: &str, default: Duration| match cx.get(key) {
        None => default,
        Some(v) => super::duration::parse(&v).unwrap_or_else(|e| {
            cx.error(key, e);
            default
        }),
    };
    let gone = read("clientGoneAfter", GONE_AFTER_DEFAULT);
    let forget = read("clientForgetAfter", FORGET_AFTER_DEFAULT);
    if !gone.is_zero() && forget <= gone {
        cx.error(
            "clientForgetAfter",
            "must be longer than clientGoneAfter (an upstream is forgotten after it is reported gone)",
        );
    }
    (gone, forget)
}

/// A channel's settings.
pub fn channel(cx: &mut Ctx<'_>, short: &str) -> Option<ChannelKind> {
    match short {
        "memory" => {
            let capacity = cx.u64("capacity", 100, 1, CAPACITY_MAX);
            let transaction_capacity = cx.u64("transactionCapacity", 100, 1, CAPACITY_MAX);
            if transaction_capacity > capacity {
                cx.error(
                    "transactionCapacity",
                    format!("{transaction_capacity} exceeds capacity {capacity}"),
                );
            }
            let keep_alive = Duration::from_secs(cx.u64("keep-alive", 3, 0, DURATION_S_MAX));
            // 0 (or absent) means the default share of physical memory, as Flume's 0 means
            // "the JVM's limit".
            let byte_capacity = match cx.u64("byteCapacity", 0, 0, BYTE_CAPACITY_MAX) {
                0 => None,
                n => Some(n),
            };
            let pct = cx.u64("byteCapacityBufferPercentage", 20, 0, 99);
            Some(ChannelKind::Memory(MemoryConfig {
                capacity,
                transaction_capacity,
                keep_alive,
                byte_capacity,
                byte_capacity_buffer_percentage: pct,
            }))
        }
        "file" => file_channel(cx).map(ChannelKind::File),
        "kafka" => {
            crate::agent::channel::kafka::config::build(cx).map(|c| ChannelKind::Kafka(Box::new(c)))
        }
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
        "java" => {
            let class = cx.get("type").unwrap_or_default();
            Some(SinkKind::Java(crate::agent::java::config::parse(
                cx, &class,
            )))
        }
        "logger" => Some(SinkKind::Logger {
            max_bytes_to_log: cx.u64("maxBytesToLog", 16, 0, LINE_BYTES_MAX) as usize,
        }),
        "null" => Some(SinkKind::Null {
            batch_size: batch(cx, "batchSize", 100),
        }),
        "file_roll" => {
            let directory = cx.required("sink.directory").map(PathBuf::from);
            let secs = cx.u64("sink.rollInterval", 30, 0, DURATION_S_MAX);
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
            let path_manager = crate::agent::sink::file_roll::path_manager(cx);
            Some(SinkKind::FileRoll(FileRollConfig {
                roll_interval: (secs > 0).then(|| Duration::from_secs(secs)),
                batch_size,
                append_newline,
                path_manager,
                fsync_per_batch: cx.bool("sink.fsyncPerBatch", true),
                directory: directory?,
            }))
        }
        "hdfs" => crate::agent::sink::hdfs::config::build(cx).map(|c| SinkKind::Hdfs(Box::new(c))),
        "http" => crate::agent::sink::http::build(cx).map(|c| SinkKind::Http(Box::new(c))),
        "avro" => crate::agent::sink::avro::config::build(cx).map(SinkKind::Avro),
        "kafka" => {
            crate::agent::sink::kafka::config::build(cx).map(|c| SinkKind::Kafka(Box::new(c)))
        }
        _ => None,
    }
}

/// A sink's `deadLetter.directory` (Sluice, any sink type): where its poison events are
/// written (`agent::sink::poison`); unset, they are dropped (counted and logged).
pub fn dead_letter(cx: &mut Ctx<'_>) -> Option<PathBuf> {
    let dir = cx.get("deadLetter.directory")?;
    if dir.trim().is_empty() {
        cx.error("deadLetter.directory", "must not be empty");
        return None;
    }
    Some(PathBuf::from(dir))
}

/// A batch size of at least 1 and at most [`BATCH_SIZE_MAX`].
pub fn batch(cx: &mut Ctx<'_>, key: &str, default: u64) -> usize {
    cx.u64(key, default, 1, BATCH_SIZE_MAX) as usize
}
