//! Kill -9 of the agent mid-stream (netcat → file channel → hdfs sink on `s3a://`, a real S3
//! store): the killed agent leaves its open files staged on local disk; the restarted agent
//! cuts each after its last whole line, uploads it to its final key and removes it. After the
//! rounds every acknowledged line is in an object, no staged file is left, no object holds a
//! torn line or carries an in-use name, no multipart upload is pending, and the duplicates
//! are counted.

use crate::support::hdfs_support::HttpAgent;
use crate::support::hdfs_support::{drained, duplicates, free_port, lines, missing, netcat_send};
use crate::support::s3_support::{self, server, Weed, SECRET_KEY};

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::s3_sink::{s3_agent_conf, staged_files};

/// Kill -9 rounds.
const ROUNDS: usize = 4;
/// Longest wait for anything here.
const WAIT: Duration = Duration::from_secs(120);

/// Starts a sender of 50-line chunks from `start`; the lines answered `OK` go to `acked`.
fn sender(
    nc: u16,
    start: usize,
    acked: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut i = start;
        while !stop.load(Ordering::Relaxed) {
            let chunk = lines("kill", i..i + 50);
            let ok = netcat_send(nc, &chunk);
            acked.lock().unwrap().extend(chunk.into_iter().take(ok));
            i += 50;
            if ok < 50 {
                break;
            }
        }
        i
    })
}

/// How many staged files the agent's starts have recovered or removed.
fn recoveries(a: &HttpAgent) -> usize {
    let log = a.log_text();
    log.matches("recovered an in-use file").count()
        + log
            .matches("removed a staged file that held no whole record")
            .count()
}

/// netcat on `nc` -> file channel -> hdfs sink on `s3a://{bucket}/kill/%Y%m%d` (the store
/// configured in `conf_dir`), rolling at 100,000 bytes or 2 s idle.
fn kill_conf(root: &Path, nc: u16, bucket: &str, conf_dir: &Path) -> String {
    s3_agent_conf(
        root,
        nc,
        &format!("s3a://{bucket}/kill/%Y%m%d"),
        &format!(
            "a1.sinks.k1.hdfs.hdfsConfigDir = {}\na1.sinks.k1.hdfs.fileType = DataStream\n\
             a1.sinks.k1.hdfs.rollInterval = 0\na1.sinks.k1.hdfs.rollCount = 0\n\
             a1.sinks.k1.hdfs.rollSize = 100000\na1.sinks.k1.hdfs.idleTimeout = 2\n",
            conf_dir.display()
        ),
    )
}

/// Waits until everything acknowledged is in the bucket (the last file once idle for 2 s).
fn wait_in_bucket(w: &Weed, bucket: &str, want: &[String], a: &HttpAgent) {
    let end = Instant::now() + WAIT;
    loop {
        let got = w.cat(bucket, "kill/");
        if missing(want, &got) == 0 {
            return;
        }
        assert!(
            Instant::now() < end,
            "{} acknowledged lines missing; log:\n{}",
            missing(want, &got),
            a.log_text()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// `ROUNDS` rounds: a sender, then SIGKILL once the sink has written part of the stream
/// (leaving a staged file), then a restart that uploads the killed agent's files.
fn kill_rounds(
    a: &mut HttpAgent,
    (nc, http): (u16, u16),
    staging: &Path,
    acked: &Arc<Mutex<Vec<String>>>,
) {
    let mut next = 0usize;
    for round in 0..ROUNDS {
        let stop = Arc::new(AtomicBool::new(false));
        let s = sender(nc, next, acked.clone(), stop.clone());
        // Kill once this round's sink has written part of the stream.
        let base = drained(http, "k1");
        let end = Instant::now() + WAIT;
        while drained(http, "k1") < base + 3000 {
            assert!(Instant::now() < end, "round {round}: {}", a.log_text());
            std::thread::sleep(Duration::from_millis(20));
        }
        a.kill9();
        stop.store(true, Ordering::Relaxed);
        next = s.join().unwrap();
        let staged = staged_files(staging);
        assert!(
            staged.iter().any(|f| f.ends_with(".tmp")),
            "round {round}: no staged file left by the kill: {staged:?}"
        );
        let before = recoveries(a);
        a.proc.restart();
        a.wait_until(
            "the restarted agent uploads the killed agent's files",
            || recoveries(a) > before,
        );
    }
}

#[test]
fn kill_9_rounds_lose_no_acknowledged_line_and_leave_no_staged_file_or_partial_object() {
    let Some(w) = server() else { return };
    let _turn = s3_support::shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let bucket = w.bucket("kill");
    let conf_dir = w.core_site(tmp.path(), SECRET_KEY);
    let (nc, http) = (free_port(), free_port());
    let conf = kill_conf(tmp.path(), nc, &bucket, &conf_dir);
    let staging = tmp.path().join("staging");
    let mut a = HttpAgent::spawn(tmp.path(), "a1", &conf, Vec::new(), http, Some(nc));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    kill_rounds(&mut a, (nc, http), &staging, &acked);
    // Everything acknowledged reaches the bucket (the last file once idle for 2 s).
    let want = acked.lock().unwrap().clone();
    wait_in_bucket(w, &bucket, &want, &a);
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
    let left = staged_files(&staging);
    assert!(left.is_empty(), "staged files left: {left:?}");
    let objects = w.ls(&bucket, "kill/");
    assert!(
        objects.iter().all(|(k, _)| !k.ends_with(".tmp")),
        "an object under an in-use name: {objects:?}"
    );
    let got = w.cat(&bucket, "kill/");
    assert_eq!(missing(&want, &got), 0);
    assert!(
        got.iter()
            .all(|l| l.len() == "kill-000000".len() && l.starts_with("kill-")),
        "a torn or foreign line in an object"
    );
    assert_eq!(
        w.pending_uploads(&bucket),
        0,
        "a multipart upload left pending"
    );
    eprintln!(
        "{ROUNDS} kill -9 rounds on s3a: {} acknowledged, {} read back, {} duplicates, {} objects",
        want.len(),
        got.len(),
        duplicates(&got),
        objects.len()
    );
}
