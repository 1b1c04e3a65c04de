//! The typed configuration of each component type, one enum per kind: the registry's closed
//! sum of the configurations the components define in their own folders. It is `Eq`, so a
//! reload restarts only what changed, and tests can match on it. Everything else goes
//! through the kind's trait ([`BuildSource`], [`BuildChannel`], [`BuildSink`]), which each
//! component implements: the one `match` per kind is `builder()` here.

use std::path::PathBuf;
use std::sync::Arc;

use sluice_core::FileChannelConfig;

use super::plugins::ClassConfig;
use crate::agent::channel::instrumented::Instrumented;
use crate::agent::channel::kafka::KafkaChannelConfig;
use crate::agent::channel::memory::MemoryConfig;
use crate::agent::channel::{AgentChannel, AgentChannelError, BuildChannel};
use crate::agent::sink::avro::AvroSinkConfig;
use crate::agent::sink::clickhouse::ClickHouseConfig;
use crate::agent::sink::file_roll::FileRollConfig;
use crate::agent::sink::hdfs::RollingConfig;
use crate::agent::sink::http::HttpConfig as HttpSinkConfig;
use crate::agent::sink::kafka::KafkaSinkConfig;
use crate::agent::sink::logger::LoggerConfig;
use crate::agent::sink::nats::NatsSinkConfig;
use crate::agent::sink::null::NullConfig;
use crate::agent::sink::otlp::OtlpSinkConfig;
use crate::agent::sink::s3::S3SinkConfig;
use crate::agent::sink::thrift::ThriftSinkConfig;
use crate::agent::sink::{BuildSink, Sink};
use crate::agent::source::avro::AvroSourceConfig;
use crate::agent::source::exec::ExecConfig;
use crate::agent::source::http::HttpConfig;
use crate::agent::source::kafka::KafkaSourceConfig;
use crate::agent::source::kubernetes::KubernetesConfig;
use crate::agent::source::nats::NatsSourceConfig;
use crate::agent::source::netcat::NetcatConfig;
use crate::agent::source::netcat_udp::NetcatUdpConfig;
use crate::agent::source::otlp::OtlpSourceConfig;
use crate::agent::source::seq::SeqConfig;
use crate::agent::source::spooldir::SpoolDirConfig;
use crate::agent::source::syslog::config::{SyslogTcpConfig, SyslogUdpConfig};
use crate::agent::source::taildir::TaildirConfig;
use crate::agent::source::thrift::ThriftSourceConfig;
use crate::agent::source::{BuildSource, SourceCtx, SourceError};

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
    /// `thrift`
    Thrift(ThriftSourceConfig),
    /// `spooldir`
    SpoolDir(SpoolDirConfig),
    /// `TAILDIR`
    Taildir(TaildirConfig),
    /// `kubernetes` (Sluice's own: a node's container logs)
    Kubernetes(Box<KubernetesConfig>),
    /// `kafka`
    Kafka(Box<KafkaSourceConfig>),
    /// `otlp` (Sluice's own)
    Otlp(OtlpSourceConfig),
    /// `nats` (Sluice's own: a JetStream pull consumer)
    Nats(Box<NatsSourceConfig>),
    /// A user's class (a Flume plugin), run by the plugin host ([`super::plugins`]).
    Class(ClassConfig),
}

impl SourceKind {
    /// The source's configuration as the runtime uses it.
    pub(crate) fn builder(&self) -> &dyn BuildSource {
        match self {
            SourceKind::Netcat(c) => c,
            SourceKind::Seq(c) => c,
            SourceKind::Exec(c) => c,
            SourceKind::SyslogTcp(c) | SourceKind::MultiportSyslogTcp(c) => c,
            SourceKind::SyslogUdp(c) => c,
            SourceKind::Http(c) => c,
            SourceKind::NetcatUdp(c) => c,
            SourceKind::Avro(c) => c,
            SourceKind::Thrift(c) => c,
            SourceKind::SpoolDir(c) => c,
            SourceKind::Taildir(c) => c,
            SourceKind::Kubernetes(c) => &**c,
            SourceKind::Kafka(c) => &**c,
            SourceKind::Otlp(c) => c,
            SourceKind::Nats(c) => &**c,
            SourceKind::Class(c) => c,
        }
    }

    /// Events per channel transaction.
    pub(crate) fn batch_size(&self) -> usize {
        self.builder().batch_size()
    }

    /// Runs a source until it is stopped (`Ok`) or fails (`Err`).
    pub async fn run(self, ctx: SourceCtx) -> Result<(), SourceError> {
        if !self.builder().listens() {
            ctx.ready.accepting();
        }
        self.builder().run(ctx).await
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
    /// The channel's configuration as the runtime uses it.
    pub(crate) fn builder(&self) -> &dyn BuildChannel {
        match self {
            ChannelKind::Memory(c) => c,
            ChannelKind::File(c) => c,
            ChannelKind::Kafka(c) => &**c,
        }
    }

    /// `transactionCapacity`.
    pub(crate) fn transaction_capacity(&self) -> u64 {
        self.builder().transaction_capacity()
    }

    /// The channel's `type`, as configured.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            ChannelKind::Memory(_) => "memory",
            ChannelKind::File(_) => "file",
            ChannelKind::Kafka(_) => "kafka",
        }
    }

    /// The directories the channel keeps its data in.
    pub(crate) fn dirs(&self) -> Vec<PathBuf> {
        self.builder().dirs()
    }

    /// Opens a channel of this kind, wrapped in [`Instrumented`] so its commit latencies and
    /// batch sizes are measured.
    pub async fn open(&self, name: &str) -> Result<Arc<dyn AgentChannel>, AgentChannelError> {
        let inner = self.builder().open(name).await?;
        Ok(Arc::new(Instrumented::new(inner)))
    }

    /// [`ChannelKind::open`], showing the channel in `registry` while it opens (a file
    /// channel's replay progress).
    pub(crate) async fn open_shown(
        &self,
        name: &str,
        registry: Arc<crate::agent::metrics::Registry>,
    ) -> Result<Arc<dyn AgentChannel>, AgentChannelError> {
        let inner = self.builder().open_shown(name, registry).await?;
        Ok(Arc::new(Instrumented::new(inner)))
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
    /// `hdfs` (on an HDFS cluster or a local or mounted file system)
    Hdfs(Box<RollingConfig>),
    /// `s3` (Sluice's own: the hdfs sink on an S3 bucket, with plain keys)
    S3(Box<S3SinkConfig>),
    /// `http` (one event per take transaction, as in Flume)
    Http(Box<HttpSinkConfig>),
    /// `avro`
    Avro(AvroSinkConfig),
    /// `thrift`
    Thrift(ThriftSinkConfig),
    /// `kafka`
    Kafka(Box<KafkaSinkConfig>),
    /// `otlp` (Sluice's own)
    Otlp(OtlpSinkConfig),
    /// `nats` (Sluice's own: JetStream)
    Nats(Box<NatsSinkConfig>),
    /// `clickhouse` (Sluice's own: ClickHouse's HTTP interface)
    ClickHouse(Box<ClickHouseConfig>),
    /// A user's class (a Flume plugin), run by the plugin host ([`super::plugins`]); it runs
    /// its own loop ([`BuildSink::own_loop`]), never through a sink runner.
    Class(ClassConfig),
}

impl SinkKind {
    /// The sink's configuration as the runtime uses it.
    pub(crate) fn builder(&self) -> &dyn BuildSink {
        match self {
            SinkKind::Logger(c) => c,
            SinkKind::Null(c) => c,
            SinkKind::FileRoll(c) => c,
            SinkKind::Hdfs(c) => &**c,
            SinkKind::S3(c) => &**c,
            SinkKind::Http(c) => &**c,
            SinkKind::Avro(c) => c,
            SinkKind::Thrift(c) => c,
            SinkKind::Kafka(c) => &**c,
            SinkKind::Otlp(c) => c,
            SinkKind::Nats(c) => &**c,
            SinkKind::ClickHouse(c) => &**c,
            SinkKind::Class(c) => c,
        }
    }

    /// Events per take transaction.
    pub fn batch_size(&self) -> usize {
        self.builder().batch_size()
    }

    /// The key that sets [`SinkKind::batch_size`] (for messages).
    pub(crate) fn batch_key(&self) -> &'static str {
        self.builder().batch_key()
    }

    /// Builds the running sink named `name`.
    pub fn build(&self, name: &str) -> Box<dyn Sink> {
        self.builder().build(name)
    }
}
