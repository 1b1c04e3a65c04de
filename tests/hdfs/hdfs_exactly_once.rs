//! Exactly once from a client to HDFS through two tiers (issue 46): netcat → edge (file
//! channel → avro sink) → collector (avro source → file channel → hdfs sink on the real
//! cluster, rolling every 20 kB), while the collector, the edge and the DataNode are killed
//! with SIGKILL in turn at random moments and a client keeps sending. Hadoop's own
//! `FsShell -cat` then reads every acknowledged line, and every line exactly once: the
//! collector drops the batches the edge sends again (event ids), and its hdfs sink cuts its
//! files back to the last committed take. HDFS's own hole with one replica is allowed for (at
//! most one checksum chunk per DataNode kill, `datanode_loss`). 12 kills, 30 with
//! `SLUICE_LONG`; `SLUICE_SEED` repeats a run.

use crate::support::rotating_log::RotatingLog;
use crate::support::{hdfs_support, multihop};

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdfs_support::{
    cluster, duplicates, exclusive_turn, lost_with_the_datanodes_last_chunks, Cluster,
};
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
    let (kills, _, mut rng) = kill_schedule_of(" (edge, collector, DataNode in turn)", 12, 30);
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
    let (got, lost) = read_back_all(c, &dir, &acked, datanode_kills, procs);
    let sent: BTreeSet<String> = lines("x", 0..sent).into_iter().collect();
    assert!(
        got.iter().all(|l| sent.contains(l)),
        "a torn or foreign line in HDFS"
    );
    let twice = duplicates(&got);
    eprintln!(
        "{kills} kills ({datanode_kills} of the DataNode): {} lines acknowledged, {} read back, {twice} duplicates, {lost} lost with the DataNode's last chunks",
        acked.len(),
        got.len(),
    );
    assert_eq!(
        twice,
        0,
        "lines written twice (docs/exactly-once.md); logs:\n{}",
        logs_of(procs)
    );
}

/// Reads `dir` back with `FsShell -cat` until every line of `want` is there but for HDFS's
/// one-replica hole (a chunk per DataNode kill), then once more after the sinks' last batches
/// landed; panics with the agents' logs past [`WAIT`]. Returns the lines and how many the
/// hole took.
fn read_back_all(
    c: &hdfs_support::Cluster,
    dir: &str,
    want: &[String],
    datanode_kills: usize,
    procs: [&Proc; 2],
) -> (Vec<String>, usize) {
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
    while let Err(e) = lost_with_the_datanodes_last_chunks(want, &got, datanode_kills) {
        assert!(Instant::now() < end, "{e}; logs:\n{}", logs_of(procs));
        std::thread::sleep(Duration::from_secs(2));
        got = read_back();
    }
    // Whatever the sinks still had in flight lands too before the count.
    std::thread::sleep(Duration::from_secs(3));
    let got = read_back();
    match lost_with_the_datanodes_last_chunks(want, &got, datanode_kills) {
        Ok(lost) => (got, lost),
        Err(e) => panic!("{e}; logs:\n{}", logs_of(procs)),
    }
}

/// The edge of [`taildir_fed_chain_under_kill_9_leaves_every_written_line_in_hdfs_exactly_once`]:
/// TAILDIR on `logs/app.log*` -> file channel -> `sinks`.
fn taildir_edge_conf(root: &std::path::Path, sinks: &str) -> String {
    format!(
        "edge.sources = r1\nedge.channels = c1\nedge.sinks = k1\n\
         edge.sources.r1.type = TAILDIR\nedge.sources.r1.channels = c1\n\
         edge.sources.r1.filegroups = f1\nedge.sources.r1.filegroups.f1 = {r}/logs/app.log.*\n\
         edge.sources.r1.positionFile = {r}/edge/taildir_position.json\n\
         edge.channels.c1.type = file\nedge.channels.c1.checkpointDir = {r}/edge/ck\n\
         edge.channels.c1.dataDirs = {r}/edge/data\n\
         edge.channels.c1.minimumRequiredSpace = 1048576\n{sinks}",
        r = root.display()
    )
}

/// Appends lines `t-N` to `logs/app.log` in bursts, renaming it to `app.log.K` every few
/// thousand lines (the old file keeps matching the edge's pattern), until `done`; joins to
/// how many lines it wrote.
fn spawn_log_writer(
    logs: std::path::PathBuf,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut log = RotatingLog::open(&logs);
        let mut n = 0usize;
        let mut next_rotation = fastrand::usize(1000..4000);
        while !done.load(Ordering::SeqCst) {
            let mut text = String::new();
            for _ in 0..fastrand::usize(1..40) {
                text.push_str(&format!(
                    "t-{n:07}-{}\n",
                    "y".repeat(fastrand::usize(0..60))
                ));
                n += 1;
            }
            log.write(text.as_bytes());
            if n >= next_rotation {
                next_rotation = n + fastrand::usize(1000..4000);
                log.rotate();
            }
            std::thread::sleep(Duration::from_millis(fastrand::u64(1..8)));
        }
        n
    })
}

/// `kills` SIGKILLs at random moments: the collector, the edge and the DataNode in turn,
/// each restarted after a random pause; answers how many were of the DataNode.
fn kill_in_turn(
    c: &Cluster,
    collector: &mut Proc,
    edge: &mut Proc,
    kills: usize,
    rng: &mut fastrand::Rng,
) -> usize {
    let mut datanode_kills = 0;
    for i in 0..kills {
        std::thread::sleep(Duration::from_millis(rng.u64(500..2500)));
        match i % 3 {
            0 => {
                collector.kill9();
                std::thread::sleep(Duration::from_millis(rng.u64(0..800)));
                collector.restart();
            }
            1 => {
                edge.kill9();
                std::thread::sleep(Duration::from_millis(rng.u64(0..800)));
                edge.restart();
            }
            _ => {
                c.kill_datanode();
                datanode_kills += 1;
                std::thread::sleep(Duration::from_millis(rng.u64(0..2000)));
                c.restart_datanode();
            }
        }
    }
    datanode_kills
}

/// The lines as written, padding and all, read back from the files in `logs` themselves, in
/// the writer's order.
fn lines_of(logs: &std::path::Path) -> Vec<String> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(logs).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        all.extend(text.lines().map(str::to_owned));
    }
    all.sort_by_key(|l| l.get(2..9).and_then(|d| d.parse::<usize>().ok()));
    all
}

/// The chain fed by files (issue 46's first test): TAILDIR on a log being appended and
/// rotated -> edge file channel -> avro -> collector -> hdfs, the collector, the edge and the
/// DataNode killed with SIGKILL in turn. The files are the durable source, so every line
/// written is in HDFS afterwards, exactly once: a line the edge reads again after a kill has
/// its file's id and offset, and the edge's channel or the collector drops it.
#[test]
fn taildir_fed_chain_under_kill_9_leaves_every_written_line_in_hdfs_exactly_once() {
    let Some(c) = cluster() else { return };
    let _turn = exclusive_turn();
    let what = " (TAILDIR edge, collector, DataNode in turn)";
    let (kills, _, mut rng) = kill_schedule_of(what, 12, 30);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let logs = root.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let dir = c.test_dir("exactly-once-taildir");
    let avro = free_port();
    let col_conf = collector_conf(root, avro, &c.url(), &dir);
    let mut collector = Proc::start(root, "col", &col_conf, avro, &[]);
    let conf = patient(&taildir_edge_conf(root, &avro_sink("k1", avro)));
    let mut edge = Proc::spawn(root, "edge", &conf, vec!["--no-reload-conf".into()], None);
    let done = Arc::new(AtomicBool::new(false));
    let writer = spawn_log_writer(logs.clone(), done.clone());
    let datanode_kills = kill_in_turn(c, &mut collector, &mut edge, kills, &mut rng);
    done.store(true, Ordering::SeqCst);
    let n = writer.join().unwrap();
    assert!(n >= 1000, "only {n} lines written");
    let written = lines_of(&logs);
    assert_eq!(
        written.len(),
        n,
        "the writer's files hold {} lines",
        written.len()
    );
    let procs = [&edge, &collector];
    let (got, lost) = read_back_all(c, &dir, &written, datanode_kills, procs);
    let twice = duplicates(&got);
    eprintln!(
        "{kills} kills ({datanode_kills} of the DataNode): {n} lines written, {} read back, {twice} duplicates, {lost} lost with the DataNode's last chunks",
        got.len()
    );
    let known: BTreeSet<&str> = written.iter().map(String::as_str).collect();
    assert!(
        got.iter().all(|l| known.contains(l.as_str())),
        "a torn or foreign line in HDFS"
    );
    assert_eq!(
        twice,
        0,
        "lines written twice (docs/exactly-once.md); logs:\n{}",
        logs_of(procs)
    );
}
