//! Exactly once from a client to HDFS through two tiers (issue 46): netcat → edge (file
//! channel → avro sink) → collector (avro source → file channel → hdfs sink on the real
//! cluster, rolling every 20 kB), while the collector, the edge and the DataNode are killed
//! with SIGKILL in turn at random moments and a client keeps sending. Hadoop's own
//! `FsShell -cat` then reads every acknowledged line, and every line exactly once: the
//! collector drops the batches the edge sends again (event ids), and its hdfs sink cuts its
//! files back to the last committed take. HDFS's own hole with one replica is allowed for (at
//! most one checksum chunk per DataNode kill, `datanode_loss`). 9 kills, 30 with
//! `SLUICE_LONG`; `SLUICE_SEED` repeats a run.

use crate::support::{hdfs_support, multihop};

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdfs_support::{cluster, duplicates, exclusive_turn, lost_with_the_datanodes_last_chunks};
use multihop::{
    avro_sink, edge_conf, free_port, kill_schedule_of, lines, logs_of, patient, spawn_sender, Proc,
};

/// Longest wait for the last acknowledged line to reach HDFS.
const WAIT: Duration = Duration::from_secs(180);

fn collector_conf(root: &std::path::Path, port: u16, url: &str, dir: &str) -> String {
    format!(
        "col.sources = r1\ncol.channels = c1\ncol.sinks = k1\n\
         col.sources.r1.type = avro\ncol.sources.r1.bind = 127.0.0.1\n\
         col.sources.r1.port = {port}\ncol.sources.r1.channels = c1\n\
         col.channels.c1.type = file\ncol.channels.c1.checkpointDir = {r}/col/ck\n\
         col.channels.c1.dataDirs = {r}/col/data\n\
         col.channels.c1.minimumRequiredSpace = 1048576\n\
         col.sinks.k1.type = hdfs\ncol.sinks.k1.channel = c1\n\
         col.sinks.k1.hdfs.path = {url}{dir}/%Y%m%d\ncol.sinks.k1.hdfs.useLocalTimeStamp = true\n\
         col.sinks.k1.hdfs.fileType = DataStream\ncol.sinks.k1.hdfs.filePrefix = logs\n\
         col.sinks.k1.hdfs.rollInterval = 0\ncol.sinks.k1.hdfs.rollCount = 0\n\
         col.sinks.k1.hdfs.rollSize = 20000\ncol.sinks.k1.hdfs.batchSize = 100\n\
         col.sinks.k1.hdfs.callTimeout = 5000\ncol.sinks.k1.hdfs.retryInterval = 1\n",
        r = root.display()
    )
}

#[test]
fn kill_9_of_edge_collector_and_datanode_leaves_every_line_in_hdfs_exactly_once() {
    let Some(c) = cluster() else { return };
    let _turn = exclusive_turn();
    let (kills, _, mut rng) = kill_schedule_of(" (edge, collector, DataNode in turn)", 9, 30);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let dir = c.test_dir("exactly-once");
    let (nc, avro) = (free_port(), free_port());
    let col_conf = collector_conf(root, avro, &c.url(), &dir);
    let mut collector = Proc::start(root, "col", &col_conf, avro, &[]);
    let conf = patient(&edge_conf(root, nc, "k1", &avro_sink("k1", avro)));
    let mut edge = Proc::start(root, "edge", &conf, nc, &[]);
    let done = Arc::new(AtomicBool::new(false));
    let sender = spawn_sender(nc, "x", done.clone());
    let mut datanode_kills = 0;
    for i in 0..kills {
        std::thread::sleep(Duration::from_millis(rng.u64(500..2500)));
        match i % 3 {
            0 => {
                eprintln!("kill -9 collector");
                collector.kill9();
                std::thread::sleep(Duration::from_millis(rng.u64(0..800)));
                collector.restart();
            }
            1 => {
                eprintln!("kill -9 edge");
                edge.kill9();
                std::thread::sleep(Duration::from_millis(rng.u64(0..800)));
                edge.restart();
            }
            _ => {
                eprintln!("kill -9 DataNode");
                c.kill_datanode();
                datanode_kills += 1;
                std::thread::sleep(Duration::from_millis(rng.u64(0..2000)));
                c.restart_datanode();
            }
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    done.store(true, Ordering::SeqCst);
    let (acked, sent) = sender.join().unwrap();
    assert!(
        acked.len() >= 100,
        "only {} lines acknowledged",
        acked.len()
    );
    let procs = [&edge, &collector];
    // A `-cat` fails when a roll renames a file between the glob's expansion and the read,
    // or while a file's lease recovery is not finished (`Cannot obtain block length`, after a
    // DataNode kill): read again, for a bounded while.
    let read_back = || -> Vec<String> {
        let glob = format!("{dir}/*/*");
        let mut why = String::new();
        for _ in 0..30 {
            let out = c.tool("org.apache.hadoop.fs.FsShell", &["-cat", &glob]);
            if out.status.success() {
                return String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .map(str::to_owned)
                    .collect();
            }
            why = String::from_utf8_lossy(&out.stderr).into_owned();
            std::thread::sleep(Duration::from_secs(2));
        }
        panic!(
            "FsShell -cat {glob} kept failing: {why}\nlogs:\n{}",
            logs_of(procs)
        );
    };
    let end = Instant::now() + WAIT;
    let mut got = read_back();
    while lost_with_the_datanodes_last_chunks(&acked, &got, datanode_kills).is_err() {
        assert!(
            Instant::now() < end,
            "{}; logs:\n{}",
            lost_with_the_datanodes_last_chunks(&acked, &got, datanode_kills).unwrap_err(),
            logs_of(procs)
        );
        std::thread::sleep(Duration::from_secs(2));
        got = read_back();
    }
    // Whatever the sinks still had in flight lands too before the count.
    std::thread::sleep(Duration::from_secs(3));
    let got = read_back();
    let lost = lost_with_the_datanodes_last_chunks(&acked, &got, datanode_kills);
    assert!(
        lost.is_ok(),
        "{}; logs:\n{}",
        lost.unwrap_err(),
        logs_of(procs)
    );
    let sent: BTreeSet<String> = lines("x", 0..sent).into_iter().collect();
    assert!(
        got.iter().all(|l| sent.contains(l)),
        "a torn or foreign line in HDFS"
    );
    let twice = duplicates(&got);
    eprintln!(
        "{kills} kills ({datanode_kills} of the DataNode): {} lines acknowledged, {} read back, {twice} duplicates, {} lost with the DataNode's last chunks",
        acked.len(),
        got.len(),
        lost.unwrap_or_default()
    );
    assert_eq!(
        twice,
        0,
        "lines written twice (docs/exactly-once.md); logs:\n{}",
        logs_of(procs)
    );
}
