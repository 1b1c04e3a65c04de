//! Performance checks of TAILDIR against the issue's bars, run by hand in release mode:
//!
//! ```text
//! cargo test --release --test files file_sources_perf:: -- --ignored --nocapture --test-threads 1
//! ```
//!
//! - `taildir_rate_against_bench`: one file of 200-byte lines read by TAILDIR (batch 1,000)
//!   into the file channel (fsync on), against `sluice bench --phase put` with the same event
//!   size and batch in the same run. Bar: >= 70 %.
//! - `idle_cpu_of_1000_followed_files`: the agent's CPU time while following 1,000 idle files.
//!   Bar: < 5 % of one core.

use crate::support::file_sources_support;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::agent_proc::Proc;
use file_sources_support::start_agent;

const LINE_BYTES: usize = 200;

fn ticks_per_sec() -> f64 {
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as f64
}

/// utime + stime of a process, in seconds.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / ticks_per_sec()
}

fn conf(root: &Path, pattern: &str, batch: usize) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\n\
         a1.sources.r1.type = TAILDIR\na1.sources.r1.channels = c1\n\
         a1.sources.r1.positionFile = {r}/taildir_position.json\n\
         a1.sources.r1.filegroups = f1\na1.sources.r1.filegroups.f1 = {r}/logs/{pattern}\n\
         a1.sources.r1.batchSize = {batch}\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {r}/ck\n\
         a1.channels.c1.dataDirs = {r}/data\na1.channels.c1.minimumRequiredSpace = 1048576\n\
         a1.channels.c1.capacity = 5000000\na1.channels.c1.transactionCapacity = {batch}\n",
        r = root.display()
    )
}

fn committed_pos(pos_file: &Path) -> u64 {
    std::fs::read(pos_file)
        .ok()
        .and_then(|b| serde_json::from_slice::<Vec<serde_json::Value>>(&b).ok())
        .map(|v| v.iter().filter_map(|e| e["pos"].as_u64()).sum())
        .unwrap_or(0)
}

fn bench_put_rate(events: usize) -> f64 {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "bench",
            "--phase",
            "put",
            "--channel",
            "file",
            "--headers",
            "0",
        ])
        .args(["--event-size", &LINE_BYTES.to_string(), "--batch", "1000"])
        .args(["--events", &events.to_string(), "--json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "bench output not JSON ({e}): {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let rate = find_rate(&v).unwrap_or_else(|| panic!("no put rate in {v}"));
    eprintln!("bench put: {rate:.0} events/s");
    rate
}

fn find_rate(v: &serde_json::Value) -> Option<f64> {
    for key in ["put", "phase_put"] {
        if let Some(r) = v
            .get(key)
            .and_then(|p| p.get("events_per_sec"))
            .and_then(|r| r.as_f64())
        {
            return Some(r);
        }
    }
    v.get("events_per_sec").and_then(|r| r.as_f64())
}

#[test]
#[ignore = "performance: run by hand in release mode"]
fn taildir_rate_against_bench() {
    let lines = 500_000usize;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir(root.join("logs")).unwrap();
    let log = root.join("logs/app.log");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
        for i in 0..lines {
            let l = format!("{i:012} {}\n", "y".repeat(LINE_BYTES - 13));
            assert_eq!(l.len(), LINE_BYTES + 1);
            f.write_all(l.as_bytes()).unwrap();
        }
    }
    let size = std::fs::metadata(&log).unwrap().len();
    let conf_path = root.join("agent.properties");
    std::fs::write(&conf_path, conf(root, "app\\\\.log", 1000)).unwrap();
    let bench_before = bench_put_rate(lines);
    let pos_file = root.join("taildir_position.json");
    let agent = start_agent(root, &conf_path, 0);
    // Time from the first committed batch to the last, so agent start-up is not counted.
    let end = Instant::now() + Duration::from_secs(300);
    let (mut t0, mut p0) = (None, 0);
    loop {
        let p = committed_pos(&pos_file);
        if t0.is_none() && p > 0 {
            t0 = Some(Instant::now());
            p0 = p;
        }
        if p >= size {
            break;
        }
        assert!(Instant::now() < end, "not done; log:\n{}", agent.log_text());
        std::thread::sleep(Duration::from_millis(2));
    }
    let secs = t0.unwrap().elapsed().as_secs_f64();
    drop(agent);
    let rate = ((size - p0) / (LINE_BYTES as u64 + 1)) as f64 / secs;
    let bench_after = bench_put_rate(lines);
    let bench = (bench_before + bench_after) / 2.0;
    eprintln!(
        "TAILDIR: {rate:.0} events/s; bench put (mean of before/after): {bench:.0} events/s; ratio {:.2} (bar 0.70)",
        rate / bench
    );
}

#[test]
#[ignore = "performance: run by hand in release mode"]
fn idle_cpu_of_1000_followed_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir(root.join("logs")).unwrap();
    for i in 0..1000 {
        std::fs::write(
            root.join(format!("logs/f{i:04}.log")),
            format!("line {i}\n"),
        )
        .unwrap();
    }
    let conf_path = root.join("agent.properties");
    std::fs::write(&conf_path, conf(root, ".*\\\\.log", 100)).unwrap();
    let mut agent = start_agent(root, &conf_path, 0);
    let pos_file = root.join("taildir_position.json");
    let end = Instant::now() + Duration::from_secs(60);
    while committed_pos(&pos_file)
        < (0..1000)
            .map(|i: u64| format!("line {i}\n").len() as u64)
            .sum()
    {
        assert!(
            Instant::now() < end,
            "not caught up; log:\n{}",
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(agent.alive());
    let pid = agent_pid(&agent);
    std::thread::sleep(Duration::from_secs(2));
    let (c0, t0) = (cpu_secs(pid), Instant::now());
    std::thread::sleep(Duration::from_secs(20));
    let share = (cpu_secs(pid) - c0) / t0.elapsed().as_secs_f64();
    eprintln!(
        "idle CPU with 1000 followed files: {:.3} % of one core (bar 5 %)",
        share * 100.0
    );
}

fn agent_pid(agent: &Proc) -> u32 {
    agent.pid()
}
