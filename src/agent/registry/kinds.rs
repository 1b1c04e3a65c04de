//! The typed configuration of each component type, one enum per kind: the registry's closed
//! sum of the configurations the components define in their own folders. It is `Eq`, so a
//! reload restarts only what changed, and tests can match on it.

use std::sync::Arc;

use sluice_core::FileChannelConfig;

use crate::agent::channel::kafka::KafkaChannelConfig;
use crate::agent::channel::memory::MemoryConfig;
use crate::agent::channel::{self, AgentChannel, AgentChannelError};
use crate::agent::config::limits::BATCH_SIZE_MAX;
use crate::agent::sink::avro::AvroSinkConfig;
use crate::agent::sink::file_roll::FileRollConfig;
use crate::agent::sink::hdfs::HdfsConfig;
use crate::agent::sink::http::HttpConfig as HttpSinkConfig;
use crate::agent::sink::kafka::KafkaSinkConfig;
use crate::agent::sink::logger::LoggerConfig;
use crate::agent::sink::null::NullConfig;
use crate::agent::sink::{self, Sink};
use crate::agent::source::avro::AvroSourceConfig;
use crate::agent::source::exec::ExecConfig;
use crate::agent::source::http::HttpConfig;
use crate::agent::source::kafka::KafkaSourceConfig;
use crate::agent::source::netcat::NetcatConfig;
use crate::agent::source::netcat_udp::NetcatUdpConfig;
use crate::agent::source::seq::SeqConfig;
use crate::agent::source::spooldir::SpoolDirConfig;
use crate::agent::source::syslog::config::{SyslogTcpConfig, SyslogUdpConfig};
use crate::agent::source::taildir::TaildirConfig;
use crate::agent::source::{self, SourceCtx, SourceError};

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
    SyslogTcp(SyslogTcpConfig),
    /// `multiport_syslogtcp`
    MultiportSyslogTcp(SyslogTcpConfig),
    /// `syslogudp`
    SyslogUdp(SyslogUdpConfig),
    /// `http`
    Http(HttpConfig),
    /// `netcatudp`
    NetcatUdp(NetcatUdpConfig),
    /// `avro`
    Avro(AvroSourceConfig),
    /// `spooldir`
    SpoolDir(SpoolDirConfig),
    /// `TAILDIR`
    Taildir(TaildirConfig),
    /// `kafka`
    Kafka(Box<KafkaSourceConfig>),
}

impl SourceKind {
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
        }
    }

    /// Runs a source until it is stopped (`Ok`) or fails (`Err`).
    pub async fn run(self, ctx: SourceCtx) -> Result<(), SourceError> {
        match self {
            SourceKind::Netcat(c) => source::netcat::run(c, ctx).await,
            SourceKind::Seq(c) => source::seq::run(c, ctx).await,
            SourceKind::Exec(c) => source::exec::run(c, ctx).await,
            SourceKind::SyslogTcp(c) | SourceKind::MultiportSyslogTcp(c) => {
                source::syslog::tcp::run(c, ctx).await
            }
            SourceKind::SyslogUdp(c) => source::syslog::udp::run(c, ctx).await,
            SourceKind::Http(c) => source::http::run(c, ctx).await,
            SourceKind::NetcatUdp(c) => source::netcat_udp::run(c, ctx).await,
            SourceKind::Avro(c) => source::avro::run(c, ctx).await,
            SourceKind::SpoolDir(c) => source::spooldir::run(c, ctx).await,
            SourceKind::Taildir(c) => source::taildir::run(c, ctx).await,
            SourceKind::Kafka(c) => source::kafka::run(*c, ctx).await,
        }
    }
}

/// A channel's own settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    /// `memory`
    Memory(MemoryConfig),
    /// `file`
    File(FileChannelConfig),
    /// `kafka`
    Kafka(Box<KafkaChannelConfig>),
}

impl ChannelKind {
    /// `transactionCapacity`.
    pub fn transaction_capacity(&self) -> u64 {
        match self {
            ChannelKind::Memory(c) => c.transaction_capacity,
            ChannelKind::File(c) => c.transaction_capacity,
            // No capacity: a take or put of any allowed batch size fits.
            ChannelKind::Kafka(_) => BATCH_SIZE_MAX,
        }
    }

    /// Opens a channel of this kind, wrapped in [`channel::instrumented::Instrumented`] so its
    /// commit latencies and batch sizes are measured.
    pub async fn open(&self, name: &str) -> Result<Arc<dyn AgentChannel>, AgentChannelError> {
        let inner: Arc<dyn AgentChannel> = match self {
            ChannelKind::Memory(c) => {
                Arc::new(channel::memory::MemoryChannel::new(name, c.clone()))
            }
            ChannelKind::Kafka(c) => {
                Arc::new(channel::kafka::KafkaChannel::new(name, (**c).clone()))
            }
            ChannelKind::File(c) => {
                Arc::new(channel::file::FileChannelAdapter::open(name, c.clone()).await?)
            }
        };
        Ok(Arc::new(channel::instrumented::Instrumented::new(inner)))
    }
}

/// A sink's own settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SinkKind {
    /// `logger`
    Logger(LoggerConfig),
    /// `null`
    Null(NullConfig),
    /// `file_roll`
    FileRoll(FileRollConfig),
    /// `hdfs` (on a local or mounted file system)
    Hdfs(Box<HdfsConfig>),
    /// `http` (one event per take transaction, as in Flume)
    Http(Box<HttpSinkConfig>),
    /// `avro`
    Avro(AvroSinkConfig),
    /// `kafka`
    Kafka(Box<KafkaSinkConfig>),
}

impl SinkKind {
    /// Events per take transaction.
    pub fn batch_size(&self) -> usize {
        match self {
            SinkKind::Logger(_) => 1,
            SinkKind::Null(c) => c.batch_size,
            SinkKind::FileRoll(c) => c.batch_size,
            SinkKind::Hdfs(c) => c.batch_size,
            SinkKind::Http(_) => 1,
            SinkKind::Avro(c) => c.batch_size,
            SinkKind::Kafka(c) => c.batch_size,
        }
    }

    /// The key that sets [`SinkKind::batch_size`] (for messages).
    pub fn batch_key(&self) -> &'static str {
        match self {
            SinkKind::FileRoll(_) => "sink.batchSize",
            SinkKind::Hdfs(_) => "hdfs.batchSize",
            SinkKind::Avro(_) => "batch-size",
            SinkKind::Kafka(_) => "flumeBatchSize",
            _ => "batchSize",
        }
    }

    /// Builds the running sink named `name`.
    pub fn build(&self, name: &str) -> Sink {
        match self {
            SinkKind::Logger(c) => {
                Sink::Logger(sink::logger::LoggerSink::new(name, c.max_bytes_to_log))
            }
            SinkKind::Null(_) => Sink::Null,
            SinkKind::FileRoll(c) => Sink::FileRoll(Box::new(sink::file_roll::FileRollSink::new(
                name,
                c.clone(),
            ))),
            SinkKind::Hdfs(c) => {
                Sink::Hdfs(Box::new(sink::hdfs::HdfsSink::new(name, (**c).clone())))
            }
            SinkKind::Http(c) => {
                Sink::Http(Box::new(sink::http::HttpSink::new(name, (**c).clone())))
            }
            SinkKind::Avro(c) => Sink::Avro(Box::new(sink::avro::AvroSink::new(name, c.clone()))),
            SinkKind::Kafka(c) => {
                Sink::Kafka(Box::new(sink::kafka::KafkaSink::new(name, (**c).clone())))
            }
        }
    }
}
