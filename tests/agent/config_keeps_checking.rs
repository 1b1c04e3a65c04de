//! One refused key does not hide the rest of its component: every other key is still read
//! (so none is called "unknown") and checked, and the batch size is still compared with the
//! channel's `transactionCapacity`. Starts from the Flume tutorial's exec → hdfs agent, its
//! `hdfs://` path accepted, or replaced by a path of a scheme Sluice refuses.

use sluice::agent::config::Severity;
use sluice::agent::topology::load;

/// `(key, severity, message)` of every problem of agent `a2`.
fn problems(text: &str) -> Vec<(String, Severity, String)> {
    load(text, "a2", &[])
        .problems
        .into_iter()
        .map(|p| (p.key, p.severity, p.message))
        .collect()
}

/// The tutorial's `flume-file-hdfs.conf` (comments dropped): `hdfs.batchSize = 1000` against
/// a channel of `transactionCapacity = 100`.
const TUTORIAL_FILE_HDFS: &str = "\
a2.sources = r2
a2.sinks = k2
a2.channels = c2
a2.sources.r2.type = exec
a2.sources.r2.command = tail -F /opt/module/hive/logs/hive.log
a2.sources.r2.shell = /bin/bash -c
a2.sinks.k2.type = hdfs
a2.sinks.k2.hdfs.path = hdfs://hadoop102:9000/flume/%Y%m%d/%H
a2.sinks.k2.hdfs.filePrefix = logs-
a2.sinks.k2.hdfs.round = true
a2.sinks.k2.hdfs.roundValue = 1
a2.sinks.k2.hdfs.roundUnit = hour
a2.sinks.k2.hdfs.useLocalTimeStamp = true
a2.sinks.k2.hdfs.batchSize = 1000
a2.sinks.k2.hdfs.fileType = DataStream
a2.sinks.k2.hdfs.rollInterval = 600
a2.sinks.k2.hdfs.rollSize = 134217700
a2.sinks.k2.hdfs.rollCount = 0
a2.channels.c2.type = memory
a2.channels.c2.capacity = 1000
a2.channels.c2.transactionCapacity = 100
a2.sources.r2.channels = c2
a2.sinks.k2.channel = c2
";

#[test]
fn the_tutorials_hdfs_path_is_accepted_and_only_its_batch_size_is_refused() {
    let got = problems(TUTORIAL_FILE_HDFS);
    assert!(
        got.iter().any(|(k, s, m)| k == "a2.sinks.k2.hdfs.batchSize"
            && *s == Severity::Error
            && m == "batch size 1000 exceeds transactionCapacity 100 of channel c2"),
        "{got:?}"
    );
    assert_eq!(got.len(), 1, "{got:?}");
}

#[test]
fn a_refused_hdfs_path_still_checks_the_batch_size_and_knows_use_local_time_stamp() {
    let got = problems(&TUTORIAL_FILE_HDFS.replace("hdfs://hadoop102:9000", "gs://logs"));
    assert!(
        got.iter().any(|(k, s, m)| k == "a2.sinks.k2.hdfs.path"
            && *s == Severity::Error
            && m.contains("the gs:// scheme is not supported")),
        "{got:?}"
    );
    assert!(
        got.iter().any(|(k, s, m)| k == "a2.sinks.k2.hdfs.batchSize"
            && *s == Severity::Error
            && m == "batch size 1000 exceeds transactionCapacity 100 of channel c2"),
        "{got:?}"
    );
    assert!(
        !got.iter().any(|(_, _, m)| m.contains("unknown key")),
        "{got:?}"
    );
    assert_eq!(got.len(), 2, "{got:?}");
}

#[test]
fn a_refused_batch_size_is_reported_once_not_again_against_the_channel() {
    let text = TUTORIAL_FILE_HDFS
        .replace("hdfs.batchSize = 1000", "hdfs.batchSize = lots")
        .replace("transactionCapacity = 100", "transactionCapacity = 10");
    let got = problems(&text);
    let at_batch: Vec<_> = got
        .iter()
        .filter(|(k, _, _)| k == "a2.sinks.k2.hdfs.batchSize")
        .collect();
    assert_eq!(at_batch.len(), 1, "{got:?}");
    assert!(at_batch[0].2.contains("expected a whole number"), "{got:?}");
}

/// Wiring around one component of `kind` (`sources` or `sinks`) named `x`.
fn wired(kind: &str, lines: &str) -> String {
    let other = if kind == "sources" {
        "a2.sinks = k\na2.sinks.k.type = null\na2.sinks.k.channel = c2\n\
         a2.sources = x\na2.sources.x.channels = c2\n"
    } else {
        "a2.sources = s\na2.sources.s.type = seq\na2.sources.s.channels = c2\n\
         a2.sinks = x\na2.sinks.x.channel = c2\n"
    };
    let prefix = format!("a2.{kind}.x.");
    let own: String = lines.lines().map(|l| format!("{prefix}{l}\n")).collect();
    format!("a2.channels = c2\na2.channels.c2.type = memory\n{other}{own}")
}

#[test]
fn every_key_after_a_refused_one_is_still_read_for_each_kind_of_component() {
    // (section, the component's lines: the first refused, the later ones all valid keys)
    let cases = [
        (
            "sinks",
            "type = hdfs\nhdfs.path = gs://nn/x\nhdfs.fileSuffix = .log\n\
             hdfs.inUsePrefix = _\nhdfs.useLocalTimeStamp = true\nserializer.appendNewline = false\n\
             serializer.syncIntervalBytes = 4096\nhdfs.fsyncPerBatch = false",
        ),
        (
            "sinks",
            "type = file_roll\nsink.rollInterval = 0\nsink.fsyncPerBatch = false",
        ),
        (
            "sinks",
            "type = http\nendpoint = ftp://example.com/\nconnectTimeout = 100\n\
             requestTimeout = 100\ncontentTypeHeader = text/plain\nacceptHeader = text/plain\n\
             defaultBackoff = false\ndefaultRollback = false\ndefaultIncrementMetrics = true",
        ),
        (
            "sources",
            "type = exec\nshell = /bin/sh -c\nrestart = true\nrestartThrottle = 100\n\
             logStdErr = true\nbatchSize = 5\nbatchTimeout = 100",
        ),
        (
            "sources",
            "type = syslogtcp\nport = many\nhost = 127.0.0.1\neventSize = 100\n\
             keepFields = all\nbatchSize = 5\nreadBufferSize = 1024\nmaxConnections = 5\n\
             idleTimeout = 100\nclientIPHeader = ip",
        ),
        (
            "sources",
            "type = multiport_syslogtcp\nports = 5140 many\nportHeader = port\n\
             charset.default = UTF-8\nnumProcessors = 2\nbatchSize = 5",
        ),
        (
            "sources",
            "type = syslogudp\nport = many\nhost = 127.0.0.1\nkeepFields = all",
        ),
        (
            "sources",
            "type = netcatudp\nport = many\nbind = 127.0.0.1\nremoteAddressHeader = from",
        ),
        (
            "sources",
            "type = http\nport = many\nhandler = org.example.MyHandler\nbind = 127.0.0.1\n\
             maxBodyBytes = 1000\nmaxConnections = 5\nheaderReadTimeout = 100\n\
             requestTimeout = 100",
        ),
    ];
    for (section, lines) in cases {
        let text = wired(section, lines);
        let got = problems(&text);
        assert!(
            got.iter().any(|(_, s, _)| *s == Severity::Error),
            "{lines}: {got:?}"
        );
        let unknown: Vec<_> = got
            .iter()
            .filter(|(_, _, m)| m.contains("unknown key"))
            .collect();
        assert!(unknown.is_empty(), "{lines}: {unknown:?}");
    }
}

#[test]
fn an_hdfs_sink_refuses_kerberos_and_still_reads_every_other_key() {
    let text = wired(
        "sinks",
        "type = hdfs\nhdfs.path = hdfs://nn:8020/x/%Y\nhdfs.kerberosPrincipal = flume/_HOST@EXAMPLE.COM\n\
         hdfs.kerberosKeytab = /etc/flume.keytab\nhdfs.proxyUser = etl\nhdfs.minBlockReplicas = 1\n\
         hdfs.threadsPoolSize = 10\nhdfs.rollTimerPoolSize = 1\nhdfs.useLocalTimeStamp = true\n\
         hdfs.callTimeout = 5000\nhdfs.fsyncPerBatch = false",
    );
    let got = problems(&text);
    let errors: Vec<_> = got
        .iter()
        .filter(|(_, s, _)| *s == Severity::Error)
        .collect();
    assert_eq!(errors.len(), 2, "{got:?}");
    for key in ["hdfs.kerberosPrincipal", "hdfs.kerberosKeytab"] {
        assert!(
            errors
                .iter()
                .any(|(k, _, m)| k.ends_with(key) && m.contains("Kerberos is not supported")),
            "{got:?}"
        );
    }
    assert!(
        !got.iter().any(|(_, _, m)| m.contains("unknown key")),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|(k, s, _)| k.ends_with("hdfs.minBlockReplicas") && *s == Severity::Warning),
        "{got:?}"
    );
}

#[test]
fn hdfs_triple_slash_needs_a_configuration_directory_with_core_site() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let text = wired(
        "sinks",
        &format!("type = hdfs\nhdfs.path = hdfs:///logs\nhdfs.hdfsConfigDir = {dir}"),
    );
    let got = problems(&text);
    assert!(
        got.iter().any(|(k, s, m)| k.ends_with("hdfs.path")
            && *s == Severity::Error
            && m.contains("core-site.xml does not exist")),
        "{got:?}"
    );
    std::fs::write(
        tmp.path().join("core-site.xml"),
        "<configuration><property><name>fs.defaultFS</name><value>hdfs://nn:8020</value></property></configuration>",
    )
    .unwrap();
    let got = problems(&text);
    assert!(
        !got.iter().any(|(_, s, _)| *s == Severity::Error),
        "{got:?}"
    );
}
