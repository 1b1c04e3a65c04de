//! Issue 47, item 11: an `hdfs` sink whose `maxOpenFiles` (default 5,000) is above the
//! process's open-file limit. The agent runs with `RLIMIT_NOFILE` 256 (soft and hard, so it
//! cannot raise it) and writes 400 buckets at once: the sink clamps `maxOpenFiles` below the
//! limit with one WARN naming both numbers, closes the least recently used bucket instead of
//! failing on EMFILE, and every event arrives.

use crate::support::agent_proc::Proc;
use crate::support::lines_support::netcat_send;
use crate::support::ports::free_port;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

const NOFILE: u64 = 256;
const BUCKETS: usize = 400;
const ROUNDS: usize = 3;
const WAIT: Duration = Duration::from_secs(60);

/// `sluice agent` on `conf` with the open-file limit at `nofile` (soft and hard).
fn start(root: &Path, conf: &Path, nofile: u64) -> Proc {
    Proc::builder(root)
        .conf_file(conf)
        .log("agent.log")
        .arg("--no-reload-conf")
        .nofile(nofile)
        .wait(WAIT)
        .spawn()
}

/// Every complete line of every file below `dir`, in-use files included.
fn lines_below(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let complete = text.rsplit_once('\n').map(|(c, _)| c).unwrap_or("");
            out.extend(complete.lines().map(str::to_owned));
        }
    }
    out
}

#[test]
fn an_hdfs_sink_with_more_buckets_than_open_files_clamps_max_open_files_and_delivers_all() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    let port = free_port();
    let conf = root.path().join("agent.conf");
    std::fs::write(
        &conf,
        format!(
            "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
             a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n\
             a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n\
             a1.sources.r1.interceptors = i1\n\
             a1.sources.r1.interceptors.i1.type = regex_extractor\n\
             a1.sources.r1.interceptors.i1.regex = ^(b[0-9]+)-\n\
             a1.sources.r1.interceptors.i1.serializers = s1\n\
             a1.sources.r1.interceptors.i1.serializers.s1.name = key\n\
             a1.channels.c1.type = memory\na1.channels.c1.capacity = 10000\n\
             a1.channels.c1.transactionCapacity = 1000\n\
             a1.sinks.k1.type = hdfs\na1.sinks.k1.channel = c1\n\
             a1.sinks.k1.hdfs.path = {}/%{{key}}\n\
             a1.sinks.k1.hdfs.fileType = DataStream\n\
             a1.sinks.k1.hdfs.rollCount = 0\na1.sinks.k1.hdfs.rollSize = 0\n\
             a1.sinks.k1.hdfs.rollInterval = 0\na1.sinks.k1.hdfs.batchSize = 100\n",
            out.display()
        ),
    )
    .unwrap();
    let agent = start(root.path(), &conf, NOFILE);
    // Every bucket in turn, ROUNDS times: all of them are open at once unless evicted.
    let want: Vec<String> = (0..ROUNDS)
        .flat_map(|r| (0..BUCKETS).map(move |b| format!("b{b}-round{r}")))
        .collect();
    let end = Instant::now() + WAIT;
    let mut sent = 0;
    while sent < want.len() {
        assert!(
            Instant::now() < end,
            "the source took {sent} of {} lines; log:\n{}",
            want.len(),
            agent.log_text()
        );
        sent += netcat_send(port, &want[sent..(sent + 100).min(want.len())]);
        if sent == 0 {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    loop {
        let have: BTreeSet<String> = lines_below(&out).into_iter().collect();
        let missing = want.iter().filter(|l| !have.contains(*l)).count();
        if missing == 0 {
            break;
        }
        assert!(
            Instant::now() < end,
            "{missing} of {} lines never arrived; log:\n{}",
            want.len(),
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = agent.log_text();
    let clamp = log
        .lines()
        .find(|l| l.contains("WARN") && l.contains("maxOpenFiles"))
        .unwrap_or_else(|| panic!("no WARN about maxOpenFiles:\n{log}"));
    assert!(
        clamp.contains("5000") && clamp.contains(&NOFILE.to_string()),
        "the WARN names both numbers: {clamp}"
    );
}
