//! `type = s3` read through the whole loader: the plain keys become the hdfs sink's settings
//! (compared with the same sink written as `hdfs.path = s3a://...`), and every problem names
//! the plain key.

use super::*;
use crate::agent::config::problem::Severity;
use crate::agent::registry::SinkKind;
use crate::agent::topology::load;

const BASE: &str = "a1.channels = c1\na1.channels.c1.type = memory\na1.sinks = k1\n\
                    a1.sinks.k1.channel = c1\n";

fn s3_sink(keys: &str) -> (Option<RollingConfig>, Vec<Problem>) {
    let loaded = load(&format!("{BASE}a1.sinks.k1.type = s3\n{keys}"), "a1", &[]);
    let cfg = loaded.config.map(|c| match &c.sinks["k1"].kind {
        SinkKind::S3(s) => s.0.clone(),
        other => panic!("not an s3 sink: {other:?}"),
    });
    (cfg, loaded.problems)
}

fn errors(problems: &[Problem]) -> Vec<(String, String)> {
    problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| (p.key.clone(), p.message.clone()))
        .collect()
}

#[test]
fn plain_keys_make_the_same_settings_as_the_hdfs_sink_on_an_s3a_path() {
    let (cfg, problems) = s3_sink(
        "a1.sinks.k1.bucket = logs\na1.sinks.k1.keyPrefix = /app/%Y%m%d/%H/\n\
         a1.sinks.k1.endpoint = 127.0.0.1:9000\na1.sinks.k1.region = eu-west-1\n\
         a1.sinks.k1.pathStyleAccess = true\na1.sinks.k1.accessKey = AK\n\
         a1.sinks.k1.secretKey = SK\na1.sinks.k1.filePrefix = ev\n\
         a1.sinks.k1.rollInterval = 60\na1.sinks.k1.rollSize = 0\na1.sinks.k1.rollCount = 0\n\
         a1.sinks.k1.batchSize = 50\na1.sinks.k1.fileType = CompressedStream\n\
         a1.sinks.k1.codeC = gzip\na1.sinks.k1.serializer = header_and_text\n\
         a1.sinks.k1.useLocalTimeStamp = true\na1.sinks.k1.stagingDir = /var/s3\n\
         a1.sinks.k1.maxStagedBytes = 2097152\na1.sinks.k1.partBytes = 5242880\n\
         a1.sinks.k1.signPayload = true\n",
    );
    assert!(errors(&problems).is_empty(), "{problems:?}");
    let about_k1: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.key.starts_with("a1.sinks.k1"))
        .collect();
    assert!(about_k1.is_empty(), "no warnings either: {about_k1:?}");
    let cfg = cfg.expect("a good configuration");
    let flume = load(
        &format!(
            "{BASE}a1.sinks.k1.type = hdfs\na1.sinks.k1.hdfs.path = s3a://logs/app/%Y%m%d/%H\n\
             a1.sinks.k1.hdfs.filePrefix = ev\na1.sinks.k1.hdfs.rollInterval = 60\n\
             a1.sinks.k1.hdfs.rollSize = 0\na1.sinks.k1.hdfs.rollCount = 0\n\
             a1.sinks.k1.hdfs.batchSize = 50\na1.sinks.k1.hdfs.fileType = CompressedStream\n\
             a1.sinks.k1.hdfs.codeC = gzip\na1.sinks.k1.serializer = header_and_text\n\
             a1.sinks.k1.hdfs.useLocalTimeStamp = true\na1.sinks.k1.hdfs.s3StagingDir = /var/s3\n\
             a1.sinks.k1.hdfs.maxStagedBytes = 2097152\na1.sinks.k1.hdfs.s3PartBytes = 5242880\n\
             a1.sinks.k1.hdfs.s3SignPayload = true\n"
        ),
        "a1",
        &[],
    );
    let SinkKind::Hdfs(want) = &flume.config.expect("valid").sinks["k1"].kind else {
        panic!("not an hdfs sink")
    };
    let mut want = (**want).clone();
    let s3 = want.s3.as_mut().expect("an s3a path");
    s3.conn.endpoint = Some("https://127.0.0.1:9000".into());
    s3.conn.endpoint_from = crate::agent::sink::rolling::config::endpoint::EndpointFrom::SinkKey;
    s3.conn.region = Some("eu-west-1".into());
    s3.conn.path_style = true;
    s3.conn.access_key = Some("AK".into());
    s3.conn.secret_key = Some("SK".into());
    want.keys = KeyNames::Plain;
    assert!(want.s3.as_ref().is_some_and(|s| s.sign_payload));
    assert_eq!(cfg, want);
    assert_eq!(cfg.path, "/app/%Y%m%d/%H");
}

#[test]
fn a_missing_bucket_and_unknown_keys_are_errors_naming_the_plain_key() {
    let (cfg, problems) = s3_sink(
        "a1.sinks.k1.keyPrefix = logs\na1.sinks.k1.rollIntervall = 5\n\
         a1.sinks.k1.hdfs.rollSize = 5\na1.sinks.k1.path = /x\na1.sinks.k1.kerberosKeytab = k\n\
         a1.sinks.k1.s3StagingDir = /s\na1.sinks.k1.hdfsConfigDir = /etc/hadoop\n",
    );
    assert!(cfg.is_none());
    let errs = errors(&problems);
    let has = |key: &str, text: &str| {
        errs.iter()
            .any(|(k, m)| k == &format!("a1.sinks.k1.{key}") && m.contains(text))
    };
    assert!(has("bucket", "required key is missing"), "{errs:?}");
    assert!(
        has("rollIntervall", "did you mean `rollInterval`?"),
        "{errs:?}"
    );
    assert!(
        has("hdfs.rollSize", "without `hdfs.`: `rollSize`"),
        "{errs:?}"
    );
    assert!(has("path", "`bucket` and `keyPrefix`"), "{errs:?}");
    assert!(
        has("kerberosKeytab", "unknown key for an s3 sink"),
        "{errs:?}"
    );
    assert!(
        has("s3StagingDir", "did you mean `stagingDir`?"),
        "{errs:?}"
    );
    assert!(
        has("hdfsConfigDir", "unknown key for an s3 sink"),
        "{errs:?}"
    );
    assert_eq!(errs.len(), 7, "{errs:?}");
}

#[test]
fn the_hdfs_parsers_problems_name_the_plain_keys() {
    let (cfg, problems) = s3_sink(
        "a1.sinks.k1.bucket = Bad_Bucket\na1.sinks.k1.fileType = CompressedStream\n\
         a1.sinks.k1.rollSize = lots\na1.sinks.k1.accessKey = AK\n\
         a1.sinks.k1.endpoint = ftp://store\n",
    );
    assert!(cfg.is_none());
    let errs = errors(&problems);
    let has = |key: &str, text: &str| {
        errs.iter()
            .any(|(k, m)| k == &format!("a1.sinks.k1.{key}") && m.contains(text))
    };
    assert!(has("bucket", "is not a bucket name"), "{errs:?}");
    assert!(has("codeC", "CompressedStream needs codeC"), "{errs:?}");
    assert!(has("rollSize", "expected a byte size"), "{errs:?}");
    assert!(has("accessKey", "needs `secretKey`"), "{errs:?}");
    assert!(
        has("endpoint", "not an http:// or https:// URL"),
        "{errs:?}"
    );
    assert!(
        !errs
            .iter()
            .any(|(k, m)| k.contains("hdfs.") || m.contains("hdfs.")),
        "{errs:?}"
    );
    let (_, problems) = s3_sink("a1.sinks.k1.bucket = logs\na1.sinks.k1.stagingDir = rel\n");
    let errs = errors(&problems);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, "a1.sinks.k1.stagingDir");
    assert!(errs[0].1.contains("must be an absolute path"), "{errs:?}");
}

#[test]
fn a_bad_key_prefix_is_reported_under_key_prefix_with_no_hdfs_key_in_the_text() {
    let (cfg, problems) = s3_sink("a1.sinks.k1.bucket = logs\na1.sinks.k1.keyPrefix = app/%Q\n");
    assert!(cfg.is_none());
    let errs = errors(&problems);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, "a1.sinks.k1.keyPrefix");
    assert!(!errs[0].1.contains("hdfs."), "{errs:?}");
}

#[test]
fn a_batch_larger_than_the_channels_transactions_names_batch_size() {
    let loaded = load(
        &format!(
            "{BASE}a1.channels.c1.transactionCapacity = 10\na1.sinks.k1.type = s3\n\
             a1.sinks.k1.bucket = logs\na1.sinks.k1.batchSize = 20\n"
        ),
        "a1",
        &[],
    );
    let errs = errors(&loaded.problems);
    assert!(
        errs.iter()
            .any(|(k, m)| k == "a1.sinks.k1.batchSize" && m.contains("transactionCapacity")),
        "{errs:?}"
    );
}

#[test]
fn hdfs_names_in_messages_become_plain_and_other_words_stay() {
    assert_eq!(
        plain_text("fileType CompressedStream needs hdfs.codeC"),
        "fileType CompressedStream needs codeC"
    );
    assert_eq!(
        plain_text("see hdfs.s3StagingDir and docs/hdfs.md, hdfs://nn"),
        "see stagingDir and docs/hdfs.md, hdfs://nn"
    );
    assert_eq!(plain_text("(`hdfs.batchSize`)."), "(`batchSize`).");
}

#[test]
fn serializer_parquet_is_taken_on_data_stream_with_its_keys_and_refused_on_other_file_types() {
    let (cfg, problems) = s3_sink(
        "a1.sinks.k1.bucket = logs\na1.sinks.k1.fileType = DataStream\n\
         a1.sinks.k1.serializer = parquet\na1.sinks.k1.serializer.compression = snappy\n\
         a1.sinks.k1.serializer.columns = host\na1.sinks.k1.serializer.stagingDir = /var/pq\n",
    );
    assert!(errors(&problems).is_empty(), "{problems:?}");
    let pq = cfg.expect("a good configuration").parquet.expect("parquet");
    assert_eq!(
        pq.spec.compression,
        crate::agent::sink::rolling::parquet::Compression::Snappy
    );
    assert_eq!(pq.spec.columns, ["host"]);
    assert_eq!(pq.staging_dir, std::path::PathBuf::from("/var/pq"));
    let (_, problems) = s3_sink("a1.sinks.k1.bucket = logs\na1.sinks.k1.serializer = parquet\n");
    let errs = errors(&problems);
    assert!(
        errs.iter()
            .any(|(k, m)| k.ends_with("fileType") && m.contains("DataStream")),
        "{errs:?}"
    );
    let (_, problems) = s3_sink(
        "a1.sinks.k1.bucket = logs\na1.sinks.k1.fileType = DataStream\n\
         a1.sinks.k1.serializer = parquet\na1.sinks.k1.serializer.stagingDir = pq\n",
    );
    let errs = errors(&problems);
    assert!(
        errs.iter()
            .any(|(k, m)| k.ends_with("serializer.stagingDir") && m.contains("absolute")),
        "{errs:?}"
    );
}
