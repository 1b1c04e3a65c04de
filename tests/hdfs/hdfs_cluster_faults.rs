//! The hdfs sink against a real HDFS that fails under it: a DataNode killed and restarted
//! mid-stream (netcat → file channel → hdfs: every acknowledged line ends in a closed file, but
//! for what HDFS itself drops with one replica: at most one checksum chunk, see below),
//! and a NameNode that is down when the agent starts (one clear line naming the NameNode,
//! the path and the reason; delivery once it is up). Each test stops part of the one
//! cluster of this binary, so it holds the cluster alone (`exclusive_turn`); the binary's other
//! cluster tests share it (`shared_turn`).

use crate::support::hdfs_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdfs_support::{
    cluster, drained, duplicates, free_port, lines, lost_with_the_datanodes_last_chunk, missing,
    netcat_send, HttpAgent,
};

/// Longest wait for anything here.
const WAIT: Duration = Duration::from_secs(120);

fn sink_conf(nc: u16, chan: &str, url: &str, dir: &str, extra: &str) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {nc}\n\
         a1.sources.r1.channels = c1\n{chan}\
         a1.sinks.k1.type = hdfs\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.hdfs.path = {url}{dir}\na1.sinks.k1.hdfs.fileType = DataStream\n\
         a1.sinks.k1.hdfs.rollInterval = 0\na1.sinks.k1.hdfs.rollCount = 0\n\
         a1.sinks.k1.hdfs.rollSize = 1000000\na1.sinks.k1.hdfs.batchSize = 100\n\
         a1.sinks.k1.hdfs.callTimeout = 5000\na1.sinks.k1.hdfs.retryInterval = 1\n{extra}"
    )
}

/// Checks (bounded) that no file under `dir` keeps an in-use name; returns the files.
fn wait_all_closed(c: &hdfs_support::Cluster, dir: &str, a: &HttpAgent) -> Vec<String> {
    let end = Instant::now() + WAIT;
    loop {
        let files = c.ls(dir);
        if files.iter().all(|f| !f.ends_with(".tmp")) {
            return files;
        }
        assert!(
            Instant::now() < end,
            "in-use files left: {files:?}\nlog:\n{}",
            a.log_text()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn a_datanode_killed_and_restarted_mid_stream_loses_no_acknowledged_line() {
    let Some(c) = cluster() else { return };
    let _turn = hdfs_support::exclusive_turn();
    let tmp = tempfile::tempdir().unwrap();
    let dir = c.test_dir("datanode");
    let (nc, http) = (free_port(), free_port());
    let chan = format!(
        "a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {0}/ckpt\n\
         a1.channels.c1.dataDirs = {0}/data\n",
        tmp.path().display()
    );
    let conf = sink_conf(nc, &chan, &c.url(), &dir, "");
    let mut a = HttpAgent::spawn(tmp.path(), "a1", &conf, Vec::new(), http, Some(nc));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (acked, stop) = (acked.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) && i < 200 {
                let chunk = lines("dn", i * 50..(i + 1) * 50);
                let ok = netcat_send(nc, &chunk);
                acked.lock().unwrap().extend(chunk.into_iter().take(ok));
                i += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let acked_now = || acked.lock().unwrap().len();
    let end = Instant::now() + WAIT;
    while acked_now() < 1500 {
        assert!(Instant::now() < end, "{}", a.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    c.kill_datanode();
    std::thread::sleep(Duration::from_secs(3));
    c.restart_datanode();
    sender.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    let want = acked.lock().unwrap().clone();
    assert!(want.len() >= 5000, "only {} acknowledged", want.len());
    let end = Instant::now() + WAIT;
    while drained(http, "k1") < want.len() as u64 {
        assert!(
            Instant::now() < end,
            "drained {} of {}; log:\n{}",
            drained(http, "k1"),
            want.len(),
            a.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Stopping closes the open file and any the DataNode's death left to recover.
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
    let files = wait_all_closed(c, &dir, &a);
    let got: Vec<String> = c
        .cat(&format!("{dir}/*"))
        .lines()
        .map(str::to_owned)
        .collect();
    let lost = lost_with_the_datanodes_last_chunk(&want, &got);
    assert!(
        lost.is_ok(),
        "{}; log:\n{}",
        lost.unwrap_err(),
        a.log_text()
    );
    eprintln!(
        "datanode round: {} acknowledged, {} read back, {} duplicates, {} files, {} lost with the DataNode's last chunk",
        want.len(),
        got.len(),
        duplicates(&got),
        files.len(),
        lost.unwrap_or_default()
    );
}

#[test]
fn a_namenode_down_at_start_is_reported_clearly_and_delivery_follows_once_it_is_up() {
    let Some(c) = cluster() else { return };
    let _turn = hdfs_support::exclusive_turn();
    let tmp = tempfile::tempdir().unwrap();
    let dir = c.test_dir("namenode");
    let (nc, http) = (free_port(), free_port());
    c.stop_namenode();
    let chan = "a1.channels.c1.type = memory\na1.channels.c1.capacity = 10000\n";
    let conf = sink_conf(
        nc,
        chan,
        &c.url(),
        &dir,
        "a1.sinks.k1.hdfs.callTimeout = 3000\n",
    );
    let mut a = HttpAgent::spawn(tmp.path(), "a1", &conf, Vec::new(), http, Some(nc));
    let want = lines("nn", 0..500);
    assert_eq!(netcat_send(nc, &want), want.len());
    let namenode = format!("NameNode {}", c.url());
    let started = Instant::now();
    a.wait_until("a line naming the NameNode and the path", || {
        a.log_text()
            .lines()
            .any(|l| l.contains(&namenode) && l.contains(&dir) && l.contains("onnect"))
    });
    let reported_after = started.elapsed();
    assert!(
        reported_after < Duration::from_secs(30),
        "reported after {reported_after:?}"
    );
    assert_eq!(drained(http, "k1"), 0);
    c.start_namenode();
    c.wait_ready();
    let end = Instant::now() + WAIT;
    while drained(http, "k1") < want.len() as u64 {
        assert!(Instant::now() < end, "{}", a.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
    let got: Vec<String> = c
        .cat(&format!("{dir}/*"))
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(missing(&want, &got), 0);
    // A call that timed out while the NameNode came back is retried: duplicates are allowed
    // (at-least-once), other lines are not.
    assert!(got.iter().all(|l| want.contains(l)), "only sent lines");
    let line = a
        .log_text()
        .lines()
        .find(|l| l.contains(&namenode))
        .unwrap_or_default()
        .to_owned();
    eprintln!("reported after {reported_after:?}: {line}");
}

#[test]
fn only_one_run_of_lines_within_a_chunk_counts_as_the_datanodes_loss() {
    let want: Vec<String> = (0..100).map(|i| format!("dn-{i:05}")).collect();
    // Lines `from..to` of each pair left out.
    let without = |skip: &[(usize, usize)]| -> Vec<String> {
        (0..100)
            .filter(|i| !skip.iter().any(|&(from, to)| (from..to).contains(i)))
            .map(|i| want[i].clone())
            .collect()
    };
    assert_eq!(lost_with_the_datanodes_last_chunk(&want, &want), Ok(0));
    assert_eq!(
        lost_with_the_datanodes_last_chunk(&want, &without(&[(40, 56)])),
        Ok(16)
    );
    assert!(lost_with_the_datanodes_last_chunk(&want, &without(&[(10, 12), (40, 42)])).is_err());
    assert!(lost_with_the_datanodes_last_chunk(&want, &without(&[(0, 60)])).is_err());
}
