//! The hdfs sink on a real S3 store (SeaweedFS's S3 gateway, one per test binary): netcat →
//! file channel → `hdfs.path = s3a://BUCKET/logs/%Y%m%d/%H` with the endpoint, keys and
//! path-style access in a core-site.xml's `fs.s3a.*` keys, read back with boto3; a gzip
//! CompressedStream through `s3://` and `HADOOP_CONF_DIR`, read back with Python's gzip; a
//! file above `hdfs.s3PartBytes` uploaded in parts, whole, with no upload left pending (with
//! the body unsigned, the default, and signed: `hdfs.s3SignPayload = true`).

use crate::support::hdfs_support::{drained, free_port, lines, missing, netcat_send, HttpAgent};
use crate::support::s3_support::{self, server, Weed, SECRET_KEY};

use std::path::Path;
use std::time::{Duration, Instant};

/// Longest wait for a delivery.
const WAIT: Duration = Duration::from_secs(90);

/// A netcat → file channel → hdfs sink agent `a1` writing to `path`, with `extra` sink keys.
pub fn s3_agent_conf(dir: &Path, nc: u16, path: &str, extra: &str) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {nc}\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {0}/ckpt\n\
         a1.channels.c1.dataDirs = {0}/data\n\
         a1.sinks.k1.type = hdfs\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.hdfs.path = {path}\na1.sinks.k1.hdfs.useLocalTimeStamp = true\n\
         a1.sinks.k1.hdfs.filePrefix = logs-\na1.sinks.k1.hdfs.s3StagingDir = {0}/staging\n\
         a1.sinks.k1.hdfs.batchSize = 100\na1.sinks.k1.hdfs.callTimeout = 5000\n{extra}",
        dir.display()
    )
}

/// Sends `want` in chunks of 500, each acknowledged whole, and waits until sink `k1` has
/// taken them all from the channel.
pub fn send_all(a: &HttpAgent, nc: u16, want: &[String]) {
    for chunk in want.chunks(500) {
        assert_eq!(
            netcat_send(nc, chunk),
            chunk.len(),
            "a chunk was not acknowledged"
        );
    }
    let end = Instant::now() + WAIT;
    while drained(a.http, "k1") < want.len() as u64 {
        assert!(
            Instant::now() < end,
            "sink k1 drained {} of {}; log:\n{}",
            drained(a.http, "k1"),
            want.len(),
            a.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every object under `root` is `root/YYYYMMDD/HH/logs-.N<suffix>`.
pub fn assert_layout(objects: &[(String, u64)], root: &str, suffix: &str) {
    assert!(!objects.is_empty(), "no objects under {root}");
    for (key, _) in objects {
        let rest = key
            .strip_prefix(&format!("{root}/"))
            .unwrap_or_else(|| panic!("{key} not under {root}"));
        let parts: Vec<&str> = rest.split('/').collect();
        assert_eq!(parts.len(), 3, "{key}: not in the %Y%m%d/%H layout");
        assert!(
            parts[0].len() == 8 && parts[0].bytes().all(|b| b.is_ascii_digit()),
            "{key}: day"
        );
        assert!(
            parts[1].len() == 2 && parts[1].bytes().all(|b| b.is_ascii_digit()),
            "{key}: hour"
        );
        let counter = parts[2]
            .strip_prefix("logs-.")
            .and_then(|s| s.strip_suffix(suffix))
            .unwrap_or_else(|| panic!("{key}: not named logs-.N{suffix}"));
        assert!(
            !counter.is_empty() && counter.bytes().all(|b| b.is_ascii_digit()),
            "{key}: in use or misnamed"
        );
    }
}

/// The files left in the staging directory.
pub fn staged_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            } else {
                out.push(e.path().display().to_string());
            }
        }
    }
    out
}

/// Waits until `n` objects are under `prefix`.
pub fn wait_objects(w: &Weed, a: &HttpAgent, bucket: &str, prefix: &str, n: usize) {
    let end = Instant::now() + WAIT;
    while w.ls(bucket, prefix).len() < n {
        assert!(
            Instant::now() < end,
            "fewer than {n} objects under {prefix}; log:\n{}",
            a.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Waits until every line of `want` is in an object under `prefix`.
pub fn wait_read_back(w: &Weed, a: &HttpAgent, bucket: &str, prefix: &str, want: &[String]) {
    let end = Instant::now() + WAIT;
    loop {
        let got = w.cat(bucket, prefix);
        let gone = missing(want, &got);
        if gone == 0 {
            return;
        }
        assert!(
            Instant::now() < end,
            "{gone} lines not in the bucket; log:\n{}",
            a.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn s3a_path_with_core_site_keys_delivers_every_line_into_the_hour_layout() {
    let Some(w) = server() else { return };
    let _turn = s3_support::shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let bucket = w.bucket("tutorial");
    let conf_dir = w.core_site(tmp.path(), SECRET_KEY);
    let (nc, http) = (free_port(), free_port());
    let conf = s3_agent_conf(
        tmp.path(),
        nc,
        &format!("s3a://{bucket}/logs/%Y%m%d/%H"),
        &format!(
            "a1.sinks.k1.hdfs.hdfsConfigDir = {}\na1.sinks.k1.hdfs.fileType = DataStream\n\
             a1.sinks.k1.hdfs.rollSize = 20000\na1.sinks.k1.hdfs.rollCount = 0\n\
             a1.sinks.k1.hdfs.rollInterval = 0\n",
            conf_dir.display()
        ),
    );
    let mut a = HttpAgent::spawn(tmp.path(), "a1", &conf, Vec::new(), http, Some(nc));
    let want = lines("s3a", 0..10_000);
    send_all(&a, nc, &want);
    // Files roll by size (every 2,000 lines of 10 bytes) while the lines flow.
    wait_read_back(w, &a, &bucket, "logs/", &want);
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
    let objects = w.ls(&bucket, "logs/");
    assert_layout(&objects, "logs", "");
    assert!(
        objects.len() >= 5,
        "rollSize made {} objects",
        objects.len()
    );
    let got = w.cat(&bucket, "logs/");
    assert_eq!(missing(&want, &got), 0);
    assert_eq!(got.len(), want.len(), "duplicates or foreign lines");
    let left = staged_files(&tmp.path().join("staging"));
    assert!(left.is_empty(), "staged files left after stop: {left:?}");
}

#[test]
fn a_gzip_compressed_stream_through_s3_and_hadoop_conf_dir_reads_back_with_pythons_gzip() {
    let Some(w) = server() else { return };
    let _turn = s3_support::shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let bucket = w.bucket("gzip");
    let conf_dir = w.core_site(tmp.path(), SECRET_KEY);
    let (nc, http) = (free_port(), free_port());
    let conf = s3_agent_conf(
        tmp.path(),
        nc,
        &format!("s3://{bucket}/gz/%Y%m%d/%H"),
        "a1.sinks.k1.hdfs.fileType = CompressedStream\na1.sinks.k1.hdfs.codeC = gzip\n\
         a1.sinks.k1.hdfs.rollCount = 1500\na1.sinks.k1.hdfs.rollSize = 0\n\
         a1.sinks.k1.hdfs.rollInterval = 0\na1.sinks.k1.hdfs.idleTimeout = 2\n",
    );
    let env = vec![("HADOOP_CONF_DIR".to_owned(), conf_dir.display().to_string())];
    let mut a = HttpAgent::spawn_env(tmp.path(), "a1", &conf, Vec::new(), env, http, Some(nc));
    let want = lines("gz", 0..4_000);
    send_all(&a, nc, &want);
    // The last file is uploaded once idle for 2 s (a stop uploads within its grace only).
    wait_objects(w, &a, &bucket, "gz/", 3);
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
    let objects = w.ls(&bucket, "gz/");
    assert_layout(&objects, "gz", ".gz");
    assert_eq!(
        objects.len(),
        3,
        "rollCount 1500 of 4000 lines: {objects:?}"
    );
    let got = w.cat(&bucket, "gz/");
    assert_eq!(missing(&want, &got), 0, "{}", a.log_text());
    assert_eq!(got.len(), want.len());
}

#[test]
fn a_file_above_the_part_size_is_uploaded_in_parts_as_one_whole_object() {
    multipart_round("multipart", false);
}

#[test]
fn a_multipart_upload_with_signed_payloads_is_accepted_whole() {
    multipart_round("multipart-signed", true);
}

/// A file of three parts (two in flight, the third read into the first part's buffer once
/// the store has that part) uploaded to a bucket named after `name`, with `hdfs.s3SignPayload`
/// = `sign`: one object, the whole file in order, no upload left pending.
fn multipart_round(name: &str, sign: bool) {
    let Some(w) = server() else { return };
    let _turn = s3_support::shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let bucket = w.bucket(name);
    let conf_dir = w.core_site(tmp.path(), SECRET_KEY);
    let (nc, http) = (free_port(), free_port());
    let conf = s3_agent_conf(
        tmp.path(),
        nc,
        &format!("s3a://{bucket}/big/%Y%m%d/%H"),
        &format!(
            "a1.sinks.k1.hdfs.hdfsConfigDir = {}\na1.sinks.k1.hdfs.fileType = DataStream\n\
             a1.sinks.k1.hdfs.rollSize = 0\na1.sinks.k1.hdfs.rollCount = 0\n\
             a1.sinks.k1.hdfs.rollInterval = 0\na1.sinks.k1.hdfs.idleTimeout = 2\n\
             a1.sinks.k1.hdfs.s3PartBytes = 5242880\na1.sinks.k1.hdfs.s3SignPayload = {sign}\n",
            conf_dir.display()
        ),
    );
    let mut a = HttpAgent::spawn(tmp.path(), "a1", &conf, Vec::new(), http, Some(nc));
    // 12 MiB and a bit: two whole parts of 5 MiB and a last one.
    let pad = "x".repeat(90);
    let want: Vec<String> = lines("big", 0..130_000)
        .into_iter()
        .map(|l| format!("{l}-{pad}"))
        .collect();
    send_all(&a, nc, &want);
    wait_objects(w, &a, &bucket, "big/", 1);
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
    let objects = w.ls(&bucket, "big/");
    assert_eq!(objects.len(), 1, "{objects:?}; log:\n{}", a.log_text());
    let bytes: u64 = want.iter().map(|l| l.len() as u64 + 1).sum();
    assert!(bytes > 2 * 5_242_880, "the file must pass two parts");
    assert_eq!(objects[0].1, bytes, "the object is the whole file");
    let got = w.cat(&bucket, "big/");
    assert_eq!(got, want, "the parts are in order and complete");
    assert_eq!(w.pending_uploads(&bucket), 0, "an upload left pending");
}
