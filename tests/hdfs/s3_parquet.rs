//! `serializer = parquet` on the hdfs sink on a real S3 store (SeaweedFS): 100,000 events
//! (UTF-8, empty and 1 MiB bodies) land in Parquet objects (each uploaded whole) that
//! pyarrow AND DuckDB read back exactly, no object with an in-use name, and kill -9 rounds
//! leave every acknowledged event in exactly one readable object.

use std::path::Path;

use crate::support::hdfs_support::{free_port, HttpAgent};
use crate::support::parquet_support::events::{numbered, send};
use crate::support::parquet_support::{kill_rounds, python, read};
use crate::support::s3_support::{self, server, Weed, SECRET_KEY};

use super::hdfs_parquet::{
    assert_each_once, assert_exact, assert_recovered, file_channel, files_below, killed_round,
    memory_channel, pq_conf, send_100000, wait_drained, WAIT,
};

/// The sink keys of an S3 path: the store's core-site.xml and the staging directory.
fn s3_keys(w: &Weed, root: &Path, extra: &str) -> String {
    let conf_dir = w.core_site(root, SECRET_KEY);
    format!(
        "a1.sinks.k1.hdfs.hdfsConfigDir = {}\na1.sinks.k1.hdfs.s3StagingDir = {}/staging\n{extra}",
        conf_dir.display(),
        root.display()
    )
}

/// Waits until nothing is left staged for upload below `root/staging`, then downloads
/// every object under `prefix` into `root/got`.
fn download(w: &Weed, root: &Path, bucket: &str, prefix: &str) -> std::path::PathBuf {
    let end = std::time::Instant::now() + WAIT;
    while !files_below(&root.join("staging")).is_empty() {
        assert!(std::time::Instant::now() < end, "uploads still staged");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let local = root.join("got");
    std::fs::create_dir_all(&local).unwrap();
    w.download(bucket, prefix, &local);
    local
}

#[test]
fn s3_parquet_objects_hold_100000_events_exactly_as_pyarrow_and_duckdb_read_them() {
    let Some(py) = python() else { return };
    let Some(w) = server() else { return };
    let _turn = s3_support::shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let bucket = w.bucket("parquet");
    let (port, http) = (free_port(), free_port());
    let extra = s3_keys(
        w,
        root,
        "a1.sinks.k1.hdfs.rollInterval = 0\na1.sinks.k1.hdfs.rollSize = 4000000\n\
         a1.sinks.k1.hdfs.batchSize = 1000\n\
         a1.sinks.k1.hdfs.useLocalTimeStamp = true\n",
    );
    let text = pq_conf(
        root,
        port,
        &format!("s3a://{bucket}/pq"),
        &memory_channel(),
        &extra,
    );
    let mut a = HttpAgent::spawn(root, "a1", &text, Vec::new(), http, Some(port));
    let want = send_100000(port);
    wait_drained(&a, want.len() as u64);
    assert_eq!(a.proc.terminate(), Some(0), "{}", a.proc.log_text());
    let objects = w.ls(&bucket, "pq/");
    assert!(
        objects.iter().all(|(k, _)| k.ends_with(".parquet")),
        "{objects:?}"
    );
    let local = download(w, root, &bucket, "pq/");
    let got = read(&py, &local).unwrap_or_else(|e| panic!("an object unreadable: {e}"));
    assert_exact(&got, &want);
    assert!(got.files >= 2, "files rolled: {}", got.files);
    assert_eq!(w.pending_uploads(&bucket), 0, "a multipart upload left");
    let open = files_below(&root.join("pq/open"));
    assert!(open.is_empty(), "rows left staged as open: {open:?}");
}

#[test]
fn s3_parquet_kill_9_rounds_leave_every_acked_event_in_exactly_one_readable_object() {
    let Some(py) = python() else { return };
    let Some(w) = server() else { return };
    let _turn = s3_support::shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let bucket = w.bucket("parquet-kill");
    let port = free_port();
    let extra = s3_keys(
        w,
        root,
        "a1.sinks.k1.hdfs.rollInterval = 1\na1.sinks.k1.hdfs.rollSize = 0\n\
         a1.sinks.k1.hdfs.batchSize = 100\n",
    );
    let text = pq_conf(
        root,
        port,
        &format!("s3a://{bucket}/pq"),
        &file_channel(root),
        &extra,
    );
    let (mut next, mut acked) = (0u64, Vec::new());
    for _ in 0..kill_rounds(3) {
        let (done, id) = killed_round(root, &text, port, next);
        acked.extend(done);
        next = id;
    }
    let mut a = HttpAgent::spawn(root, "a1", &text, Vec::new(), free_port(), Some(port));
    assert_eq!(send(port, &[numbered(next)]), 1);
    acked.extend(next..next + 50);
    wait_drained(&a, 50);
    assert_eq!(a.proc.terminate(), Some(0), "{}", a.proc.log_text());
    assert_recovered(&a.proc.log_text());
    let local = download(w, root, &bucket, "pq/");
    let objects = w.ls(&bucket, "pq/");
    assert!(
        objects.iter().all(|(k, _)| k.ends_with(".parquet")),
        "an object with an in-use name: {objects:?}"
    );
    let got = read(&py, &local).unwrap_or_else(|e| panic!("an object unreadable: {e}"));
    assert_each_once(&got, &acked);
    let open = files_below(&root.join("pq/open"));
    assert!(open.is_empty(), "rows left staged as open: {open:?}");
}
