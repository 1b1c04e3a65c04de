//! Faults of the hdfs sink on S3 (SeaweedFS): the store killed mid-stream until the staging
//! space is full (takes refused, the `StagedBytes` gauge and one WARN; after the restart every
//! line reaches the bucket), credentials refused (one line naming the bucket, the endpoint
//! and the store's reason; another sink of the same agent keeps delivering), and a missing
//! bucket (the start-time probe says so).

use crate::support::hdfs_support::{counter, drained, duplicates, free_port, lines, missing};
use crate::support::hdfs_support::{netcat_send, HttpAgent};
use crate::support::lines_support::written;
use crate::support::s3_support::{self, server, SECRET_KEY};

use std::time::{Duration, Instant};

use super::s3_sink::{s3_agent_conf, send_all, staged_files};

/// Longest wait for anything here.
const WAIT: Duration = Duration::from_secs(120);

/// Lines of about 100 bytes.
fn padded(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    let pad = "p".repeat(88);
    lines(prefix, range)
        .into_iter()
        .map(|l| format!("{l}-{pad}"))
        .collect()
}

fn wait_for(a: &HttpAgent, what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < end, "{what}; log:\n{}", a.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_store_killed_mid_stream_fills_staging_then_every_line_arrives_after_its_restart() {
    let Some(w) = server() else { return };
    let _turn = s3_support::exclusive_turn();
    let tmp = tempfile::tempdir().unwrap();
    let bucket = w.bucket("outage");
    let conf_dir = w.core_site(tmp.path(), SECRET_KEY);
    let (nc, http) = (free_port(), free_port());
    let conf = s3_agent_conf(
        tmp.path(),
        nc,
        &format!("s3a://{bucket}/out/%Y%m%d"),
        &format!(
            "a1.sinks.k1.hdfs.hdfsConfigDir = {}\na1.sinks.k1.hdfs.fileType = DataStream\n\
             a1.sinks.k1.hdfs.rollInterval = 0\na1.sinks.k1.hdfs.rollCount = 0\n\
             a1.sinks.k1.hdfs.rollSize = 300000\na1.sinks.k1.hdfs.idleTimeout = 10\n\
             a1.sinks.k1.hdfs.maxStagedBytes = 1048576\na1.sinks.k1.hdfs.retryInterval = 5\n",
            conf_dir.display()
        ),
    )
    .replace("callTimeout = 5000", "callTimeout = 2000");
    let mut a = HttpAgent::spawn(tmp.path(), "a1", &conf, Vec::new(), http, Some(nc));
    let first = padded("out", 0..2_000);
    send_all(&a, nc, &first);
    w.kill();
    // Acknowledged into the file channel while the sink stages what it can.
    let during = padded("out", 2_000..22_000);
    for chunk in during.chunks(500) {
        assert_eq!(netcat_send(nc, chunk), chunk.len());
    }
    wait_for(&a, "the sink refuses takes once staging is full", || {
        counter(http, "SINK.k1", "StagingFullRefusals") > 0
    });
    let staged = counter(http, "SINK.k1", "StagedBytes");
    assert!(
        (1_000_000..2_000_000).contains(&staged),
        "StagedBytes {staged} near hdfs.maxStagedBytes"
    );
    w.restart();
    let want: Vec<String> = first.into_iter().chain(during).collect();
    wait_for(&a, "every line in the bucket", || {
        missing(&want, &w.cat(&bucket, "out/")) == 0
    });
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
    let log = a.log_text();
    // One WARN from the staging bound for the outage (the runner's failed deliveries quote
    // it too, at its backoff).
    let warns = log
        .lines()
        .filter(|l| l.contains("s3::staging") && l.contains("would pass hdfs.maxStagedBytes"))
        .count();
    assert_eq!(warns, 1, "one WARN for the outage:\n{log}");
    assert!(log.contains("S3 staging has room again"), "{log}");
    let left = staged_files(&tmp.path().join("staging"));
    assert!(left.is_empty(), "staged files left: {left:?}");
    let got = w.cat(&bucket, "out/");
    assert_eq!(missing(&want, &got), 0);
    eprintln!(
        "store outage: {} lines, {} read back, {} duplicates",
        want.len(),
        got.len(),
        duplicates(&got)
    );
}

/// An agent whose netcat source feeds `k1` (hdfs on `path` through `conf_dir`) and `k2`
/// (file_roll into `out`).
fn two_sink_conf(dir: &std::path::Path, nc: u16, path: &str, conf_dir: &str) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1 c2\na1.sinks = k1 k2\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {nc}\n\
         a1.sources.r1.channels = c1 c2\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {0}/ckpt\n\
         a1.channels.c1.dataDirs = {0}/data\na1.channels.c2.type = memory\n\
         a1.sinks.k1.type = hdfs\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.hdfs.path = {path}\na1.sinks.k1.hdfs.useLocalTimeStamp = true\n\
         a1.sinks.k1.hdfs.hdfsConfigDir = {conf_dir}\n\
         a1.sinks.k1.hdfs.s3StagingDir = {0}/staging\na1.sinks.k1.hdfs.callTimeout = 2000\n\
         a1.sinks.k2.type = file_roll\na1.sinks.k2.channel = c2\n\
         a1.sinks.k2.sink.directory = {0}/out\na1.sinks.k2.sink.rollInterval = 0\n",
        dir.display()
    )
}

/// Runs the two-sink agent against `path`, checks that `k2` delivers every line while `k1`
/// delivers none, and returns the agent's log.
fn other_sink_flows(path: &str, secret: &str) -> String {
    let w = server().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let conf_dir = w.core_site(tmp.path(), secret);
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let (nc, http) = (free_port(), free_port());
    let conf = two_sink_conf(tmp.path(), nc, path, &conf_dir.display().to_string());
    let mut a = HttpAgent::spawn(tmp.path(), "a1", &conf, Vec::new(), http, Some(nc));
    let want = lines("other", 0..1_000);
    for chunk in want.chunks(500) {
        assert_eq!(netcat_send(nc, chunk), chunk.len());
    }
    wait_for(&a, "the file_roll sink delivers every line", || {
        missing(&want, &written(&out)) == 0
    });
    wait_for(&a, "the hdfs sink reports its failure", || {
        a.log_text().contains("checking the store under")
    });
    assert_eq!(drained(http, "k1"), 0, "{}", a.log_text());
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
    a.log_text()
}

#[test]
fn refused_credentials_are_one_line_naming_bucket_and_endpoint_and_other_sinks_keep_flowing() {
    let Some(w) = server() else { return };
    let _turn = s3_support::shared_turn();
    let bucket = w.bucket("secret");
    let log = other_sink_flows(&format!("s3a://{bucket}/x/%Y%m%d"), "not-the-secret");
    let line = log
        .lines()
        .find(|l| l.contains("checking the store under"))
        .unwrap();
    let at = format!("bucket {bucket} at {}", w.endpoint());
    assert!(line.contains(&at), "{line}");
    assert!(line.contains("SignatureDoesNotMatch"), "{line}");
}

#[test]
fn a_missing_bucket_fails_the_start_with_a_line_saying_so() {
    let Some(w) = server() else { return };
    let _turn = s3_support::shared_turn();
    let bucket = format!("no-such-bucket-{}", std::process::id());
    let log = other_sink_flows(&format!("s3a://{bucket}/x/%Y%m%d"), SECRET_KEY);
    let line = log
        .lines()
        .find(|l| l.contains("checking the store under"))
        .unwrap();
    let at = format!("bucket {bucket} at {}", w.endpoint());
    assert!(line.contains(&at), "{line}");
    assert!(line.contains("NoSuchBucket"), "{line}");
}
