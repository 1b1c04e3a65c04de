//! Helpers for the file-source tests that run the real `sluice agent`: start, SIGKILL,
//! SIGTERM, and reading what file_roll wrote.
#![allow(dead_code)]

use crate::support::agent_proc::Proc;
use crate::support::wait;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const WAIT: Duration = Duration::from_secs(60);

/// Starts `sluice agent -n a1 -f CONF --no-reload-conf` with `RUST_LOG=info`, its log in
/// `dir/agent-<run>.log`; not waited for.
pub fn start_agent(dir: &Path, conf: &Path, run: usize) -> Proc {
    Proc::builder(dir)
        .conf_file(conf)
        .log(&format!("agent-{run}.log"))
        .arg("--no-reload-conf")
        .wait(WAIT)
        .spawn()
}

/// Every complete line file_roll wrote under `dir` (a torn last line is left out).
pub fn written(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = rd.map(|e| e.unwrap().path()).collect();
    paths.sort();
    for p in paths {
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
        let complete = text.rsplit_once('\n').map(|(c, _)| c).unwrap_or("");
        out.extend(complete.lines().map(str::to_owned));
    }
    out
}

/// Waits until every wanted line was written; returns the count of each line written.
pub fn wait_for_all(out: &Path, want: &[String], agent: &Proc) -> BTreeMap<String, usize> {
    let end = Instant::now() + WAIT;
    loop {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for l in written(out) {
            *counts.entry(l).or_default() += 1;
        }
        let missing: Vec<&String> = want.iter().filter(|l| !counts.contains_key(*l)).collect();
        if missing.is_empty() {
            return counts;
        }
        assert!(
            Instant::now() < end,
            "{} of {} lines missing, first {:?}; log:\n{}",
            missing.len(),
            want.len(),
            missing[0],
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits (up to 20 s) until `done` holds: a spool file is completed only after its last
/// commit, so its lines can reach the sink before it is renamed.
pub fn wait_until(done: impl FnMut() -> bool) -> bool {
    wait::poll_until(Duration::from_secs(20), done)
}

/// Lines written more than once, in total.
pub fn duplicates(counts: &BTreeMap<String, usize>) -> usize {
    counts.values().map(|&n| n - 1).sum()
}

/// Rounds of kills: a few by default, more with `SLUICE_LONG=1`.
pub fn rounds(short: usize, long: usize) -> usize {
    if crate::support::long_runs::long_runs() {
        long
    } else {
        short
    }
}

/// The file channel -> file_roll half of a test agent's configuration.
pub fn channel_and_sink(root: &Path, sink_batch: usize) -> String {
    format!(
        "a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {r}/ck\n\
         a1.channels.c1.dataDirs = {r}/data\na1.channels.c1.minimumRequiredSpace = 1048576\n\
         a1.channels.c1.capacity = 1000000\na1.channels.c1.transactionCapacity = 1000\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {r}/out\na1.sinks.k1.sink.rollInterval = 0\n\
         a1.sinks.k1.sink.batchSize = {sink_batch}\n",
        r = root.display()
    )
}
