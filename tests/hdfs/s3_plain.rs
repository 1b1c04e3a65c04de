//! `type = s3` (plain keys) on the real S3 store of this binary (SeaweedFS): netcat → file
//! channel → s3 sink with `endpoint`, `pathStyleAccess` and `accessKey`/`secretKey`, every
//! line read back with boto3 under `keyPrefix`'s `%Y%m%d/%H` layout; seq → file channel → s3
//! sink with the credentials from `AWS_*` instead, gzip read back with Python's gzip; and
//! a SequenceFile object downloaded with boto3 and read by Hadoop's own `FsShell -text`; and
//! `config check` accepting a good `type = s3` sink and naming each bad key.

use crate::support::hdfs_support::{free_port, lines, local_text, missing, HttpAgent};
use crate::support::s3_support::{self, server, Weed, ACCESS_KEY, SECRET_KEY};

use std::path::Path;
use std::process::Command;

use super::s3_sink::{assert_layout, send_all, staged_files, wait_objects, wait_read_back};

/// A `SOURCE` → file channel → `type = s3` agent `a1` into `bucket` on `w`, with `extra` keys.
fn plain_conf(dir: &Path, w: &Weed, source: &str, bucket: &str, extra: &str) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n{source}\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {0}/ckpt\n\
         a1.channels.c1.dataDirs = {0}/data\n\
         a1.sinks.k1.type = s3\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.bucket = {bucket}\na1.sinks.k1.endpoint = {1}\n\
         a1.sinks.k1.pathStyleAccess = true\na1.sinks.k1.region = us-east-1\n\
         a1.sinks.k1.useLocalTimeStamp = true\na1.sinks.k1.filePrefix = logs-\n\
         a1.sinks.k1.stagingDir = {0}/staging\na1.sinks.k1.batchSize = 100\n\
         a1.sinks.k1.callTimeout = 5000\n{extra}",
        dir.display(),
        w.endpoint()
    )
}

#[test]
fn an_s3_sink_with_plain_keys_delivers_every_line_under_its_key_prefix() {
    let Some(w) = server() else { return };
    let _turn = s3_support::shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let bucket = w.bucket("plain");
    let (nc, http) = (free_port(), free_port());
    let source = format!(
        "a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {nc}\n"
    );
    let conf = plain_conf(
        tmp.path(),
        w,
        &source,
        &bucket,
        &format!(
            "a1.sinks.k1.keyPrefix = app/%Y%m%d/%H\na1.sinks.k1.accessKey = {ACCESS_KEY}\n\
             a1.sinks.k1.secretKey = {SECRET_KEY}\na1.sinks.k1.fileType = DataStream\n\
             a1.sinks.k1.rollSize = 24000\na1.sinks.k1.rollCount = 0\n\
             a1.sinks.k1.rollInterval = 0\n"
        ),
    );
    let mut a = HttpAgent::spawn(tmp.path(), "a1", &conf, Vec::new(), http, Some(nc));
    let want = lines("plain", 0..10_000);
    send_all(&a, nc, &want);
    // Files roll by size (every 2,000 lines of 12 body bytes) while the lines flow.
    wait_read_back(w, &a, &bucket, "app/", &want);
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
    let objects = w.ls(&bucket, "");
    assert_layout(&objects, "app", "");
    assert!(
        objects.len() >= 5,
        "rollSize made {} objects",
        objects.len()
    );
    let got = w.cat(&bucket, "app/");
    assert_eq!(missing(&want, &got), 0);
    assert_eq!(got.len(), want.len(), "duplicates or foreign lines");
    let left = staged_files(&tmp.path().join("staging"));
    assert!(left.is_empty(), "staged files left after stop: {left:?}");
}

#[test]
fn an_s3_sink_takes_its_credentials_from_the_aws_environment_without_keys() {
    let Some(w) = server() else { return };
    let _turn = s3_support::shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let bucket = w.bucket("plainenv");
    let http = free_port();
    let source = "a1.sources.r1.type = seq\na1.sources.r1.totalEvents = 3000\n";
    let conf = plain_conf(
        tmp.path(),
        w,
        source,
        &bucket,
        "a1.sinks.k1.keyPrefix = /seq/%Y%m%d/%H/\na1.sinks.k1.fileType = CompressedStream\n\
         a1.sinks.k1.codeC = gzip\na1.sinks.k1.rollCount = 1000\na1.sinks.k1.rollSize = 0\n\
         a1.sinks.k1.rollInterval = 0\n",
    );
    let env = vec![
        ("AWS_ACCESS_KEY_ID".to_owned(), ACCESS_KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), SECRET_KEY.to_owned()),
    ];
    let mut a = HttpAgent::spawn_env(tmp.path(), "a1", &conf, Vec::new(), env, http, None);
    wait_objects(w, &a, &bucket, "seq/", 3);
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
    let objects = w.ls(&bucket, "");
    assert_layout(&objects, "seq", ".gz");
    assert_eq!(
        objects.len(),
        3,
        "rollCount 1000 of 3000 events: {objects:?}"
    );
    let got = w.cat(&bucket, "seq/");
    let want: Vec<String> = (0..3000).map(|i| i.to_string()).collect();
    assert_eq!(missing(&want, &got), 0, "{}", a.log_text());
    assert_eq!(got.len(), want.len());
}

#[test]
fn a_sequence_file_object_reads_back_through_hadoops_own_reader() {
    let Some(w) = server() else { return };
    let _turn = s3_support::shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let bucket = w.bucket("seqfile");
    let (nc, http) = (free_port(), free_port());
    let source = format!(
        "a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {nc}\n"
    );
    let conf = plain_conf(
        tmp.path(),
        w,
        &source,
        &bucket,
        &format!(
            "a1.sinks.k1.keyPrefix = sf/%Y%m%d/%H\na1.sinks.k1.accessKey = {ACCESS_KEY}\n\
             a1.sinks.k1.secretKey = {SECRET_KEY}\na1.sinks.k1.fileType = SequenceFile\n\
             a1.sinks.k1.writeFormat = Text\na1.sinks.k1.rollCount = 1000\n\
             a1.sinks.k1.rollSize = 0\na1.sinks.k1.rollInterval = 0\n"
        ),
    );
    let mut a = HttpAgent::spawn(tmp.path(), "a1", &conf, Vec::new(), http, Some(nc));
    let want = lines("sf", 0..3000);
    send_all(&a, nc, &want);
    wait_objects(w, &a, &bucket, "sf/", 3);
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
    let objects = w.ls(&bucket, "");
    assert_layout(&objects, "sf", "");
    let dl = tmp.path().join("downloaded");
    std::fs::create_dir_all(&dl).unwrap();
    let files = w.download(&bucket, "sf/", &dl);
    assert_eq!(files.len(), 3, "rollCount 1000 of 3000 lines: {files:?}");
    let mut got = Vec::new();
    for f in &files {
        let Some(out) = local_text(f) else { return };
        assert!(
            out.status.success(),
            "hadoop fs -text {}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            std::fs::read(f).unwrap().starts_with(b"SEQ\x06"),
            "not a SequenceFile v6"
        );
        // `-text` prints each record as `key<TAB>value`: the timestamp, then the line.
        for l in String::from_utf8_lossy(&out.stdout).lines() {
            let (ts, body) = l.split_once('\t').unwrap_or_else(|| panic!("{l:?}"));
            assert!(ts.parse::<u64>().is_ok(), "key {ts:?} is no timestamp");
            got.push(body.to_owned());
        }
    }
    assert_eq!(missing(&want, &got), 0);
    assert_eq!(got.len(), want.len(), "duplicates or foreign records");
}

fn check(text: &str) -> (Option<i32>, String) {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("a.properties");
    std::fs::write(&f, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["config", "check", "-n", "a1", "-f"])
        .arg(&f)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn config_check_accepts_a_good_s3_sink_and_names_each_bad_key_with_its_line() {
    let base = "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
                a1.sources.r1.type = seq\na1.sources.r1.channels = c1\n\
                a1.channels.c1.type = memory\na1.sinks.k1.type = s3\na1.sinks.k1.channel = c1\n";
    let (code, text) = check(&format!(
        "{base}a1.sinks.k1.bucket = logs\na1.sinks.k1.keyPrefix = app/%Y%m%d\n\
         a1.sinks.k1.endpoint = http://127.0.0.1:9000\na1.sinks.k1.pathStyleAccess = true\n\
         a1.sinks.k1.rollInterval = 300\na1.sinks.k1.fileType = DataStream\n\
         a1.sinks.k1.stagingDir = /var/lib/sluice/s3\na1.sinks.k1.useLocalTimeStamp = true\n"
    ));
    // (Without useLocalTimeStamp the seq source's events have no timestamp for %Y%m%d:
    // config check warns, issue 79.)
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("warning"), "{text}");
    // The missing bucket at the sink's listing (line 3); the bad keys at lines 10 and 11.
    let (code, text) = check(&format!(
        "{base}a1.sinks.k1.keyPrefix = app\na1.sinks.k1.hdfs.rollSize = 10\n\
         a1.sinks.k1.rollSise = 10\n"
    ));
    assert_eq!(code, Some(1), "{text}");
    for (line, key, what) in [
        (
            ":3: a1.sinks.k1.bucket:",
            "bucket",
            "required key is missing",
        ),
        (
            ":10: a1.sinks.k1.hdfs.rollSize:",
            "hdfs.rollSize",
            "without `hdfs.`",
        ),
        (
            ":11: a1.sinks.k1.rollSise:",
            "rollSise",
            "did you mean `rollSize`?",
        ),
    ] {
        assert!(
            text.lines().any(|l| l.contains(line) && l.contains(what)),
            "{key}: no line with {line:?} and {what:?}:\n{text}"
        );
    }
}
