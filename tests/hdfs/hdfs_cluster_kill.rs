//! Kill -9 of the agent mid-stream (netcat → file channel → hdfs sink on a real HDFS): the
//! killed writer's lease stays with the dead client, so another writer is refused the file
//! (Hadoop's own `-appendToFile` here) until the restarted agent recovers the lease itself,
//! closes the file and renames it as a roll would. After the rounds every acknowledged line
//! is in a closed file, no in-use file is left, and none is there twice (the sink cuts its
//! files back to the last committed take, docs/exactly-once.md).

use crate::support::hdfs_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdfs_support::{
    cluster, drained, duplicates, free_port, lines, missing, netcat_send, Cluster, HttpAgent,
};

/// Kill -9 rounds.
const ROUNDS: usize = 3;
/// Longest wait for anything here.
const WAIT: Duration = Duration::from_secs(120);

/// netcat on `nc` -> file channel under `root` -> hdfs sink into `{url}{dir}/%Y%m%d`, rolling
/// at 300,000 bytes only.
fn kill_conf(root: &std::path::Path, url: &str, dir: &str, nc: u16) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {nc}\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {0}/ckpt\n\
         a1.channels.c1.dataDirs = {0}/data\n\
         a1.sinks.k1.type = hdfs\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.hdfs.path = {1}{dir}/%Y%m%d\na1.sinks.k1.hdfs.useLocalTimeStamp = true\n\
         a1.sinks.k1.hdfs.fileType = DataStream\na1.sinks.k1.hdfs.filePrefix = logs-\n\
         a1.sinks.k1.hdfs.rollInterval = 0\na1.sinks.k1.hdfs.rollCount = 0\n\
         a1.sinks.k1.hdfs.rollSize = 300000\na1.sinks.k1.hdfs.batchSize = 100\n\
         a1.sinks.k1.hdfs.callTimeout = 5000\n",
        root.display(),
        url
    )
}

/// A sender of chunks of 50 lines from line `start` until `stop` (or a chunk not wholly
/// acknowledged); the acknowledged lines go to `acked`; answers the next line number.
fn send_until_stopped(
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

/// The dead writer still holds the lease of `file`: another writer is refused.
fn another_writer_is_refused(c: &Cluster, tmp: &std::path::Path, file: &str) {
    let extra = tmp.join("extra.txt");
    std::fs::write(&extra, "not from the sink\n").unwrap();
    let out = c.tool(
        "org.apache.hadoop.fs.FsShell",
        &["-appendToFile", extra.to_str().unwrap(), file],
    );
    assert!(
        !out.status.success(),
        "append to {file} was allowed while the killed writer's lease stands"
    );
}

/// Waits until every acknowledged line is in `dir` (the agent still runs: a roll may rename
/// a file between the glob and its read).
fn wait_all_acked(c: &Cluster, dir: &str, want: &[String], a: &HttpAgent) {
    let end = Instant::now() + WAIT;
    loop {
        let got: Vec<String> = c
            .cat_live(&format!("{dir}/*/*"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
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

#[test]
fn kill_9_rounds_lose_no_acknowledged_line_and_leave_no_in_use_file() {
    let Some(c) = cluster() else { return };
    let _turn = hdfs_support::shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let dir = c.test_dir("kill");
    let (nc, http) = (free_port(), free_port());
    let conf = kill_conf(tmp.path(), &c.url(), &dir, nc);
    let mut a = HttpAgent::spawn(tmp.path(), "a1", &conf, Vec::new(), http, Some(nc));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut next = 0usize;
    for round in 0..ROUNDS {
        let stop = Arc::new(AtomicBool::new(false));
        let sender = send_until_stopped(nc, next, acked.clone(), stop.clone());
        // Kill once this round's sink has written part of the stream.
        let base = drained(http, "k1");
        let end = Instant::now() + WAIT;
        while drained(http, "k1") < base + 1000 {
            assert!(Instant::now() < end, "round {round}: {}", a.log_text());
            std::thread::sleep(Duration::from_millis(20));
        }
        a.kill9();
        stop.store(true, Ordering::Relaxed);
        next = sender.join().unwrap();
        let in_use: Vec<String> = c
            .ls(&dir)
            .into_iter()
            .filter(|f| f.ends_with(".tmp"))
            .collect();
        assert!(
            !in_use.is_empty(),
            "round {round}: no file left in use by the kill"
        );
        if round == 0 {
            another_writer_is_refused(c, tmp.path(), &in_use[0]);
        }
        a.proc.restart();
        a.wait_until(
            "the restarted agent recovers the killed writer's files",
            || {
                let log = a.log_text();
                log.matches("recovered an in-use file").count()
                    + log.matches("output cut back").count()
                    > round
            },
        );
    }
    // Drain what was acknowledged, then stop cleanly.
    let want = acked.lock().unwrap().clone();
    wait_all_acked(c, &dir, &want, &a);
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
    let files = c.ls(&dir);
    let left: Vec<&String> = files.iter().filter(|f| f.ends_with(".tmp")).collect();
    assert!(left.is_empty(), "in-use files left: {left:?}");
    let got: Vec<String> = c
        .cat(&format!("{dir}/*/*"))
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(missing(&want, &got), 0);
    assert!(
        got.iter().all(|l| l.starts_with("kill-")),
        "a torn or foreign line in a closed file"
    );
    eprintln!(
        "{ROUNDS} kill -9 rounds: {} acknowledged, {} read back, {} duplicates, {} files",
        want.len(),
        got.len(),
        duplicates(&got),
        files.len()
    );
    // The sink cut its files back to the last committed take at each restart.
    assert_eq!(
        duplicates(&got),
        0,
        "lines written twice; log:\n{}",
        a.log_text()
    );
}
