//! The registry's tables: every source, channel and sink type the agent runs, with Flume's
//! short and Java class names and the parser in the component's own folder; and the selector,
//! sink processor and interceptor types (their modules parse their own keys).

use super::entry::Entry;
use super::kinds::{ChannelKind, SinkKind, SourceKind};
use super::plugins;
use crate::agent::component::TypeTable;
use crate::agent::{channel, interceptor, processor, selector, sink, source};

/// Source types.
pub const SOURCES: &[Entry<SourceKind>] = &[
    Entry {
        name: "netcat",
        class: "org.apache.flume.source.NetcatSource",
        parse: |cx| source::netcat::config::parse(cx).map(SourceKind::Netcat),
    },
    Entry {
        name: "seq",
        class: "org.apache.flume.source.SequenceGeneratorSource",
        parse: |cx| source::seq::parse(cx).map(SourceKind::Seq),
    },
    Entry {
        name: "exec",
        class: "org.apache.flume.source.ExecSource",
        parse: |cx| source::exec::config::parse(cx).map(SourceKind::Exec),
    },
    Entry {
        name: "syslogtcp",
        class: "org.apache.flume.source.SyslogTcpSource",
        parse: |cx| source::syslog::config::parse_tcp(cx).map(SourceKind::SyslogTcp),
    },
    Entry {
        name: "multiport_syslogtcp",
        class: "org.apache.flume.source.MultiportSyslogTCPSource",
        parse: |cx| source::syslog::config::parse_multiport(cx).map(SourceKind::MultiportSyslogTcp),
    },
    Entry {
        name: "syslogudp",
        class: "org.apache.flume.source.SyslogUDPSource",
        parse: |cx| source::syslog::config::parse_udp(cx).map(SourceKind::SyslogUdp),
    },
    Entry {
        name: "http",
        class: "org.apache.flume.source.http.HTTPSource",
        parse: |cx| source::http::config::parse(cx).map(SourceKind::Http),
    },
    Entry {
        name: "netcatudp",
        class: "org.apache.flume.source.NetcatUdpSource",
        parse: |cx| source::netcat_udp::parse(cx).map(SourceKind::NetcatUdp),
    },
    Entry {
        name: "avro",
        class: "org.apache.flume.source.AvroSource",
        parse: |cx| source::avro::config::parse(cx).map(SourceKind::Avro),
    },
    Entry {
        name: "thrift",
        class: "org.apache.flume.source.ThriftSource",
        parse: |cx| source::thrift::config::parse(cx).map(SourceKind::Thrift),
    },
    Entry {
        name: "spooldir",
        class: "org.apache.flume.source.SpoolDirectorySource",
        parse: |cx| source::spooldir::config::parse(cx).map(SourceKind::SpoolDir),
    },
    Entry {
        name: "TAILDIR",
        class: "org.apache.flume.source.taildir.TaildirSource",
        parse: |cx| source::taildir::config::parse(cx).map(SourceKind::Taildir),
    },
    Entry {
        name: "kubernetes",
        class: "io.sluice.source.kubernetes.KubernetesSource",
        parse: |cx| {
            source::kubernetes::config::parse(cx).map(|c| SourceKind::Kubernetes(Box::new(c)))
        },
    },
    Entry {
        name: "kafka",
        class: "org.apache.flume.source.kafka.KafkaSource",
        parse: |cx| source::kafka::config::parse(cx).map(|c| SourceKind::Kafka(Box::new(c))),
    },
    Entry {
        name: "otlp",
        class: "io.sluice.source.otlp.OtlpSource",
        parse: |cx| source::otlp::config::parse(cx).map(SourceKind::Otlp),
    },
    Entry {
        name: "nats",
        class: "io.sluice.source.nats.NatsSource",
        parse: |cx| source::nats::config::parse(cx).map(|c| SourceKind::Nats(Box::new(c))),
    },
];

/// Channel types.
pub const CHANNELS: &[Entry<ChannelKind>] = &[
    Entry {
        name: "memory",
        class: "org.apache.flume.channel.MemoryChannel",
        parse: |cx| channel::memory::config::parse(cx).map(ChannelKind::Memory),
    },
    Entry {
        name: "file",
        class: "org.apache.flume.channel.file.FileChannel",
        parse: |cx| channel::file::config::parse(cx).map(ChannelKind::File),
    },
    Entry {
        name: "kafka",
        class: "org.apache.flume.channel.kafka.KafkaChannel",
        parse: |cx| channel::kafka::config::parse(cx).map(|c| ChannelKind::Kafka(Box::new(c))),
    },
];

/// Sink types.
pub const SINKS: &[Entry<SinkKind>] = &[
    Entry {
        name: "logger",
        class: "org.apache.flume.sink.LoggerSink",
        parse: |cx| sink::logger::parse(cx).map(SinkKind::Logger),
    },
    Entry {
        name: "null",
        class: "org.apache.flume.sink.NullSink",
        parse: |cx| sink::null::parse(cx).map(SinkKind::Null),
    },
    Entry {
        name: "file_roll",
        class: "org.apache.flume.sink.RollingFileSink",
        parse: |cx| sink::file_roll::config::parse(cx).map(SinkKind::FileRoll),
    },
    Entry {
        name: "hdfs",
        class: "org.apache.flume.sink.hdfs.HDFSEventSink",
        parse: |cx| sink::hdfs::parse(cx).map(|c| SinkKind::Hdfs(Box::new(c))),
    },
    Entry {
        name: "s3",
        class: sink::s3::CLASS,
        parse: |cx| sink::s3::parse(cx).map(|c| SinkKind::S3(Box::new(c))),
    },
    Entry {
        name: "http",
        class: "org.apache.flume.sink.http.HttpSink",
        parse: |cx| sink::http::parse(cx).map(|c| SinkKind::Http(Box::new(c))),
    },
    Entry {
        name: "avro",
        class: "org.apache.flume.sink.AvroSink",
        parse: |cx| sink::avro::config::parse(cx).map(SinkKind::Avro),
    },
    Entry {
        name: "thrift",
        class: "org.apache.flume.sink.ThriftSink",
        parse: |cx| sink::thrift::config::parse(cx).map(SinkKind::Thrift),
    },
    Entry {
        name: "kafka",
        class: "org.apache.flume.sink.kafka.KafkaSink",
        parse: |cx| sink::kafka::config::parse(cx).map(|c| SinkKind::Kafka(Box::new(c))),
    },
    Entry {
        name: "otlp",
        class: "io.sluice.sink.otlp.OtlpSink",
        parse: |cx| sink::otlp::config::parse(cx).map(SinkKind::Otlp),
    },
    Entry {
        name: "nats",
        class: "io.sluice.sink.nats.NatsSink",
        parse: |cx| sink::nats::config::parse(cx).map(|c| SinkKind::Nats(Box::new(c))),
    },
    Entry {
        name: "clickhouse",
        class: "io.sluice.sink.clickhouse.ClickHouseSink",
        parse: |cx| sink::clickhouse::config::parse(cx).map(|c| SinkKind::ClickHouse(Box::new(c))),
    },
];

/// Channel selector types (`selector.type`).
pub const SELECTORS: TypeTable = selector::config::TYPES;
/// Sink processor types (`processor.type`).
pub const PROCESSORS: TypeTable = processor::config::TYPES;
/// Interceptor types (`interceptors.<name>.type`).
pub const INTERCEPTORS: TypeTable = interceptor::TYPES;

/// A source whose `type` is a Java class name that is none of [`SOURCES`]: a Flume
/// plugin run by the plugin host (`registry/plugins.rs`).
pub const JAVA_SOURCE: Entry<SourceKind> = Entry {
    name: "java",
    class: "",
    parse: |cx| plugins::parse(cx).map(SourceKind::Class),
};

/// A sink whose `type` is a Java class name that is none of [`SINKS`] (`registry/plugins.rs`).
pub const JAVA_SINK: Entry<SinkKind> = Entry {
    name: "java",
    class: "",
    parse: |cx| plugins::parse(cx).map(SinkKind::Class),
};
