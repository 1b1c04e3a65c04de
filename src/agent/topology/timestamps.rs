//! A time-escaped `hdfs`/`s3` path nothing gives a timestamp to (issue 79): `hdfs.path` or
//! `hdfs.filePrefix` with `%Y`-like escapes, `hdfs.useLocalTimeStamp` false, and no source
//! feeding the sink's channel that sets a `timestamp` header (itself, or through an
//! interceptor). Every event would then be a poison event (dead-lettered, or dropped with
//! `deadLetter.drop = true`); `config check` warns, naming the key and the fix.
//!
//! The check is conservative: it warns only when no feeding source can give a timestamp.
//! Sources whose events carry their clients' headers (`avro`, `thrift`, `http`, Java sources)
//! may receive one from an upstream tier's interceptor, and so do Java interceptors and a
//! `regex_extractor` with a serializer named `timestamp`; the syslog, kafka and otlp sources
//! set it themselves.

use super::graph::{AgentConfig, SourceConfig};
use crate::agent::config::raw::{self, Section};
use crate::agent::config::Problem;
use crate::agent::interceptor::config::InterceptorSpec;
use crate::agent::interceptor::CLASS_KIND;
use crate::agent::registry::{SinkKind, SourceKind};
use crate::agent::sink::rolling::path::PathTemplate;
use crate::agent::sink::rolling::RollingConfig;

/// The header the hdfs sink's time escapes read.
const TIMESTAMP: &str = "timestamp";

/// Warns about every hdfs/s3 sink whose every event would be a poison event for want of a
/// timestamp.
pub(crate) fn check(raw: &raw::RawAgent, cfg: &AgentConfig, problems: &mut Vec<Problem>) {
    for (name, s) in &cfg.sinks {
        let h: &RollingConfig = match &s.kind {
            SinkKind::Hdfs(h) => h,
            SinkKind::S3(c) => &c.0,
            _ => continue,
        };
        let Some(rc) = raw.sections.get(&Section::Sinks).and_then(|m| m.get(name)) else {
            continue;
        };
        let Some(hdfs_key) = time_escaped_key(h) else {
            continue;
        };
        let feeding: Vec<(&String, &SourceConfig)> = cfg
            .sources
            .iter()
            .filter(|(_, src)| src.channels.contains(&s.channel))
            .collect();
        let Some((first, _)) = feeding.first() else {
            continue;
        };
        if feeding.iter().any(|(_, src)| may_give_timestamp(src)) {
            continue;
        }
        let key = h.keys.of(hdfs_key);
        let local = h.keys.of("hdfs.useLocalTimeStamp");
        let sources: Vec<String> = feeding
            .iter()
            .map(|(n, _)| format!("{}.sources.{n}", cfg.name))
            .collect();
        problems.push(Problem::warning(
            rc.origin_of(&key),
            rc.full_key(&key),
            format!(
                "has time escapes, but {local} is false and no source feeding channel {} sets a \
                 `timestamp` header ({}): every event would be a poison event, set aside in the \
                 dead letter instead of written; set {} = true, or add a timestamp interceptor \
                 ({}.sources.{first}.interceptors = ts, {}.sources.{first}.interceptors.ts.type = timestamp)",
                s.channel,
                sources.join(", "),
                rc.full_key(&local),
                cfg.name,
                cfg.name,
            ),
        ));
    }
}

/// The hdfs key (`hdfs.path`, else `hdfs.filePrefix`) whose time escapes need a timestamp
/// nothing local gives (`useLocalTimeStamp` false).
fn time_escaped_key(h: &RollingConfig) -> Option<&'static str> {
    if h.use_local_timestamp {
        return None;
    }
    let timed = |t: &str| PathTemplate::parse(t).is_ok_and(|p| p.needs_time());
    if timed(&h.path) {
        Some("hdfs.path")
    } else if timed(&h.file_prefix) {
        Some("hdfs.filePrefix")
    } else {
        None
    }
}

/// Whether the events of `src` may carry a `timestamp` header: set by the source itself, by
/// its clients, or by one of its interceptors.
fn may_give_timestamp(src: &SourceConfig) -> bool {
    let by_source = matches!(
        src.kind,
        SourceKind::SyslogTcp(_)
            | SourceKind::MultiportSyslogTcp(_)
            | SourceKind::SyslogUdp(_)
            | SourceKind::Kafka(_)
            | SourceKind::Otlp(_)
            | SourceKind::Avro(_)
            | SourceKind::Thrift(_)
            | SourceKind::Http(_)
            | SourceKind::Class(_)
    );
    by_source || src.interceptors.iter().any(interceptor_may_set)
}

/// Whether an interceptor may set the `timestamp` header.
fn interceptor_may_set(i: &InterceptorSpec) -> bool {
    let prop = |k: &str| i.props.get(k).map(|v| v.trim().to_owned());
    match i.kind.as_str() {
        "timestamp" => prop("headerName").is_none_or(|h| h == TIMESTAMP),
        "static" => prop("key").is_some_and(|k| k == TIMESTAMP),
        "regex_extractor" => i.props.iter().any(|(k, v)| {
            k.starts_with("serializers.") && k.ends_with(".name") && v.trim() == TIMESTAMP
        }),
        kind => kind == CLASS_KIND,
    }
}

#[cfg(test)]
mod tests {
    use super::super::load;

    fn conf(source: &str, sink: &str) -> String {
        format!(
            "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
             a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = 1\n\
             a1.sources.r1.channels = c1\n{source}\
             a1.channels.c1.type = memory\n\
             a1.sinks.k1.type = hdfs\na1.sinks.k1.channel = c1\n\
             a1.sinks.k1.hdfs.path = /tmp/logs/%Y%m%d\n{sink}"
        )
    }

    fn warnings(text: &str) -> Vec<String> {
        let loaded = load(text, "a1", &[]);
        assert!(loaded.config.is_some(), "{:?}", loaded.problems);
        loaded
            .problems
            .iter()
            .filter(|p| p.message.contains("time escapes"))
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect()
    }

    #[test]
    fn a_time_escaped_path_with_no_timestamp_anywhere_is_named_with_the_fix() {
        let w = warnings(&conf("", ""));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with("a1.sinks.k1.hdfs.path: "), "{w:?}");
        assert!(
            w[0].contains("a1.sinks.k1.hdfs.useLocalTimeStamp = true"),
            "{w:?}"
        );
        assert!(
            w[0].contains("a1.sources.r1.interceptors.ts.type = timestamp"),
            "{w:?}"
        );
    }

    #[test]
    fn a_local_timestamp_or_a_timestamp_interceptor_silences_the_warning() {
        let local = "a1.sinks.k1.hdfs.useLocalTimeStamp = true\n";
        assert!(warnings(&conf("", local)).is_empty());
        let ts =
            "a1.sources.r1.interceptors = ts\na1.sources.r1.interceptors.ts.type = timestamp\n";
        assert!(warnings(&conf(ts, "")).is_empty());
        let other =
            "a1.sources.r1.interceptors = ts\na1.sources.r1.interceptors.ts.type = timestamp\n\
                     a1.sources.r1.interceptors.ts.headerName = time\n";
        assert_eq!(
            warnings(&conf(other, "")).len(),
            1,
            "another header gives no timestamp"
        );
    }

    #[test]
    fn a_time_escaped_file_prefix_of_an_s3_sink_is_named_by_its_plain_key() {
        let text = "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
             a1.sources.r1.type = seq\na1.sources.r1.channels = c1\n\
             a1.channels.c1.type = memory\n\
             a1.sinks.k1.type = s3\na1.sinks.k1.channel = c1\na1.sinks.k1.bucket = logs\n\
             a1.sinks.k1.endpoint = http://127.0.0.1:1\na1.sinks.k1.filePrefix = ev-%H\n";
        let w = warnings(text);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with("a1.sinks.k1.filePrefix: "), "{w:?}");
        assert!(
            w[0].contains("a1.sinks.k1.useLocalTimeStamp = true"),
            "{w:?}"
        );
    }
}
