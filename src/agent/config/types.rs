//! Supported component types (short names and Java class names) and their typed settings.

use std::path::PathBuf;
use std::time::Duration;

use sluice_core::FileChannelConfig;

/// A type table: (short name, Java class name).
pub type TypeTable = &'static [(&'static str, &'static str)];

/// Source types.
pub const SOURCE_TYPES: TypeTable = &[
    ("netcat", "org.apache.flume.source.NetcatSource"),
    ("seq", "org.apache.flume.source.SequenceGeneratorSource"),
    ("exec", "org.apache.flume.source.ExecSource"),
    ("syslogtcp", "org.apache.flume.source.SyslogTcpSource"),
    (
        "multiport_syslogtcp",
        "org.apache.flume.source.MultiportSyslogTCPSource",
    ),
    ("syslogudp", "org.apache.flume.source.SyslogUDPSource"),
    ("http", "org.apache.flume.source.http.HTTPSource"),
    ("netcatudp", "org.apache.flume.source.NetcatUdpSource"),
    ("avro", "org.apache.flume.source.AvroSource"),
    ("spooldir", "org.apache.flume.source.SpoolDirectorySource"),
    ("TAILDIR", "org.apache.flume.source.taildir.TaildirSource"),
    ("kafka", "org.apache.flume.source.kafka.KafkaSource"),
];

/// Channel types.
pub const CHANNEL_TYPES: TypeTable = &[
    ("memory", "org.apache.flume.channel.MemoryChannel"),
    ("file", "org.apache.flume.channel.file.FileChannel"),
    ("kafka", "org.apache.flume.channel.kafka.KafkaChannel"),
];

/// Sink types.
pub const SINK_TYPES: TypeTable = &[
    ("logger", "org.apache.flume.sink.LoggerSink"),
    ("null", "org.apache.flume.sink.NullSink"),
    ("file_roll", "org.apache.flume.sink.RollingFileSink"),
    ("hdfs", "org.apache.flume.sink.hdfs.HDFSEventSink"),
    ("http", "org.apache.flume.sink.http.HttpSink"),
    ("avro", "org.apache.flume.sink.AvroSink"),
    ("kafka", "org.apache.flume.sink.kafka.KafkaSink"),
];

/// Sink processor types.
pub const PROCESSOR_TYPES: TypeTable = &[
    ("default", "org.apache.flume.sink.DefaultSinkProcessor"),
    ("failover", "org.apache.flume.sink.FailoverSinkProcessor"),
    (
        "load_balance",
        "org.apache.flume.sink.LoadBalancingSinkProcessor",
    ),
];

/// Channel selector types.
pub const SELECTOR_TYPES: TypeTable = &[
    (
        "replicating",
        "org.apache.flume.channel.ReplicatingChannelSelector",
    ),
    (
        "multiplexing",
        "org.apache.flume.channel.MultiplexingChannelSelector",
    ),
];

/// Interceptor types.
pub const INTERCEPTOR_TYPES: TypeTable = crate::agent::interceptor::TYPES;

/// The short name for a configured type: a short name (any case) or an exact class name.
pub fn resolve(table: TypeTable, value: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(short, class)| short.eq_ignore_ascii_case(value) || *class == value)
        .map(|(short, _)| *short)
}

/// "netcat, seq, exec" for messages.
pub fn supported(table: TypeTable) -> String {
    table
        .iter()
        .map(|(s, c)| format!("{s} ({c})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `netcat` source settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetcatConfig {
    /// `bind`.
    pub bind: String,
    /// `port`.
    pub port: u16,
    /// `max-line-length` in bytes (default 512).
    pub max_line_length: usize,
    /// `ack-every-event` (default true): answer `OK` after each event is committed.
    pub ack_every_event: bool,
    /// `maxConnections` (default 256): connections served at once; more are closed at once.
    pub max_connections: usize,
}

/// `seq` source settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeqConfig {
    /// `totalEvents` (default `i64::MAX`, as Flume's `Long.MAX_VALUE`).
    pub total_events: u64,
    /// `batchSize` (default 1).
    pub batch_size: usize,
}

/// `exec` source settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecConfig {
    /// `command`.
    pub command: String,
    /// `shell` (e.g. `/bin/sh -c`); without it the command is split on whitespace.
    pub shell: Option<String>,
    /// `restart` (default false).
    pub restart: bool,
    /// `restartThrottle` (default 10000 ms).
    pub restart_throttle: Duration,
    /// `logStdErr` (default false).
    pub log_stderr: bool,
    /// `batchSize` (default 20).
    pub batch_size: usize,
    /// `batchTimeout` (default 3000 ms).
    pub batch_timeout: Duration,
}

/// `avro` source settings (Flume's keys plus Sluice's limits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvroSourceConfig {
    /// `bind`.
    pub bind: String,
    /// `port`.
    pub port: u16,
    /// `threads`: most calls being put into the channels at once (default: no limit).
    pub threads: Option<usize>,
    /// `max-frame-size` in bytes (default 64 MiB): a larger frame closes its connection.
    pub max_frame_bytes: usize,
    /// `max-events-per-call` (default 100,000): a larger batch closes its connection.
    pub max_events_per_call: usize,
    /// `max-connections` (default 4096): connections beyond it are closed at once.
    pub max_connections: usize,
    /// `idle-timeout` in seconds (default 600; 0 = never): an idle connection is closed.
    pub idle_timeout: Option<Duration>,
    /// `request-timeout` in ms (default 20000): bounds a whole frame from its first byte
    /// (its reading, and the wait for its share of the in-flight budget) and writing an
    /// answer.
    pub request_timeout: Duration,
    /// `max-inflight-bytes` (Sluice; default 256 MiB, or twice `max-frame-size` and its
    /// headers if more): frames being received may hold half of it, the decoded events of
    /// calls the other half.
    pub max_inflight_bytes: u64,
    /// `clientGoneAfter` (Sluice; default 3m, 0 = off): a remembered upstream with no open
    /// connection for this long raises `<source>.upstreamGone`.
    pub client_gone_after: Duration,
    /// `clientForgetAfter` (Sluice; default 7d): an upstream gone this long is forgotten.
    pub client_forget_after: Duration,
}

/// A source's own settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// `netcat`
    Netcat(NetcatConfig),
    /// `seq`
    Seq(SeqConfig),
    /// `exec`
    Exec(ExecConfig),
    /// `syslogtcp`
    SyslogTcp(super::net::SyslogTcpConfig),
    /// `multiport_syslogtcp`
    MultiportSyslogTcp(super::net::SyslogTcpConfig),
    /// `syslogudp`
    SyslogUdp(super::net::SyslogUdpConfig),
    /// `http`
    Http(super::net::HttpConfig),
    /// `netcatudp`
    NetcatUdp(super::net::NetcatUdpConfig),
    /// `avro`
    Avro(AvroSourceConfig),
    /// `spooldir`
    SpoolDir(crate::agent::source::spooldir::SpoolDirConfig),
    /// `TAILDIR`
    Taildir(crate::agent::source::taildir::TaildirConfig),
    /// `kafka`
    Kafka(Box<crate::agent::source::kafka::KafkaSourceConfig>),
    /// A Flume plugin's Java class, run in a JVM of its own (`agent::java`).
    Java(crate::agent::java::config::JavaConfig),
}

impl SourceKind {
    /// Whether the source listens on sockets (it accepts input only once they are bound).
    pub fn listens(&self) -> bool {
        matches!(
            self,
            SourceKind::Netcat(_)
                | SourceKind::Avro(_)
                | SourceKind::SyslogTcp(_)
                | SourceKind::MultiportSyslogTcp(_)
                | SourceKind::SyslogUdp(_)
                | SourceKind::Http(_)
                | SourceKind::NetcatUdp(_)
        )
    }

    /// Events per channel transaction.
    pub fn batch_size(&self) -> usize {
        match self {
            SourceKind::Netcat(_) | SourceKind::Avro(_) => 1,
            SourceKind::Seq(c) => c.batch_size,
            SourceKind::Exec(c) => c.batch_size,
            SourceKind::SyslogTcp(c) | SourceKind::MultiportSyslogTcp(c) => c.batch_size,
            SourceKind::SyslogUdp(_) | SourceKind::NetcatUdp(_) => 1,
            // One request is one transaction of whatever size the client sent.
            SourceKind::Http(_) => 1,
            SourceKind::SpoolDir(c) => c.batch_size,
            SourceKind::Taildir(c) => c.batch_size,
            SourceKind::Kafka(c) => c.batch_size,
            SourceKind::Java(c) => c.batch_size,
        }
    }
}

/// `memory` channel settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryConfig {
    /// `capacity` (default 100).
    pub capacity: u64,
    /// `transactionCapacity` (default 100).
    pub transaction_capacity: u64,
    /// `keep-alive` (default 3 s).
    pub keep_alive: Duration,
    /// `byteCapacity` in bytes of body; `None` = no byte limit (Flume: 80% of the JVM heap).
    pub byte_capacity: Option<u64>,
    /// `byteCapacityBufferPercentage` (default 20).
    pub byte_capacity_buffer_percentage: u64,
}

/// A channel's own settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    /// `memory`
    Memory(MemoryConfig),
    /// `file`
    File(FileChannelConfig),
    /// `kafka`
    Kafka(Box<crate::agent::channel::kafka::KafkaChannelConfig>),
}

impl ChannelKind {
    /// `transactionCapacity`.
    pub fn transaction_capacity(&self) -> u64 {
        match self {
            ChannelKind::Memory(c) => c.transaction_capacity,
            ChannelKind::File(c) => c.transaction_capacity,
            // No capacity: a take or put of any allowed batch size fits.
            ChannelKind::Kafka(_) => crate::agent::config::build::BATCH_SIZE_MAX,
        }
    }
}

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

/// A sink's own settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SinkKind {
    /// `logger`: `maxBytesToLog` (default 16).
    Logger {
        /// Body bytes shown per event.
        max_bytes_to_log: usize,
    },
    /// `null`: `batchSize` (default 100).
    Null {
        /// Events per take transaction.
        batch_size: usize,
    },
    /// `file_roll`
    FileRoll(FileRollConfig),
    /// `hdfs` (on a local or mounted file system)
    Hdfs(Box<crate::agent::sink::hdfs::HdfsConfig>),
    /// `http` (one event per take transaction, as in Flume)
    Http(Box<crate::agent::sink::http::HttpConfig>),
    /// `avro`
    Avro(crate::agent::sink::avro::AvroSinkConfig),
    /// `kafka`
    Kafka(Box<crate::agent::sink::kafka::KafkaSinkConfig>),
    /// A Flume plugin's Java class, run in a JVM of its own (`agent::java`).
    Java(crate::agent::java::config::JavaConfig),
}

impl SinkKind {
    /// Events per take transaction.
    pub fn batch_size(&self) -> usize {
        match self {
            SinkKind::Logger { .. } => 1,
            SinkKind::Null { batch_size } => *batch_size,
            SinkKind::FileRoll(c) => c.batch_size,
            SinkKind::Hdfs(c) => c.batch_size,
            SinkKind::Http(_) => 1,
            SinkKind::Avro(c) => c.batch_size,
            SinkKind::Kafka(c) => c.batch_size,
            SinkKind::Java(c) => c.batch_size,
        }
    }
}
