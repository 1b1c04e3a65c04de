//! The `hdfs` sink in the real `sluice agent`: netcat → file channel → hdfs (hourly buckets
//! on the local disk). Kill -9 rounds while clients send: afterwards every acknowledged line is
//! in a closed or recovered file, no file keeps an in-use name, and none is written twice.
//! Compressed output is checked with the standard tools when they are installed.
//! `SLUICE_LONG=1` runs more rounds.

use crate::support::agent_proc::Proc;
use crate::support::ports;
use ports::free_port;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

/// `sluice agent -n a1 -f CONF --no-reload-conf` with `RUST_LOG=info`, its log in
/// `root/agent-<n>.log`; waits until `port` listens.
fn start_agent(root: &Path, conf: &Path, port: u16, n: usize) -> Proc {
    Proc::builder(root)
        .conf_file(conf)
        .log(&format!("agent-{n}.log"))
        .arg("--no-reload-conf")
        .wait(WAIT)
        .ready_port(port)
        .spawn()
}

/// Sends `prefix-N` lines in batches of 20 until an answer is not OK or `max` lines are
/// acknowledged; returns the acknowledged lines.
fn send_until_failure(port: u16, prefix: String, max: usize) -> Vec<String> {
    let Ok(w) = TcpStream::connect(("127.0.0.1", port)) else {
        return Vec::new();
    };
    w.set_read_timeout(Some(WAIT)).unwrap();
    let mut w2 = w.try_clone().unwrap();
    let mut r = BufReader::new(w);
    let mut acked = Vec::new();
    'outer: for round in 0.. {
        let batch: Vec<String> = (round * 20..round * 20 + 20)
            .map(|i| format!("{prefix}-{i:06}"))
            .collect();
        let text: String = batch.iter().map(|l| format!("{l}\n")).collect();
        if w2.write_all(text.as_bytes()).is_err() {
            break;
        }
        for l in batch {
            let mut answer = String::new();
            match r.read_line(&mut answer) {
                Ok(n) if n > 0 && answer == "OK\n" => acked.push(l),
                _ => break 'outer,
            }
        }
        if acked.len() >= max {
            break;
        }
    }
    acked
}

/// Every file under `dir`, recursively: (path, bytes).
fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(b) = std::fs::read(&p) {
                out.push((p, b));
            }
        }
    }
    out.sort();
    out
}

fn in_use(files: &[(PathBuf, Vec<u8>)]) -> BTreeSet<PathBuf> {
    files
        .iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "tmp"))
        .map(|(p, _)| p.clone())
        .collect()
}

/// Lines of the closed (final-named) files.
fn closed_lines(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (p, b) in all_files(dir) {
        if p.extension().is_some_and(|e| e == "tmp") {
            continue;
        }
        let text = String::from_utf8(b).unwrap();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{} ends with a torn line",
            p.display()
        );
        out.extend(text.lines().map(str::to_owned));
    }
    out
}

fn conf(root: &Path, port: u16, extra: &str) -> PathBuf {
    let text = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {port}\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {r}/ck\n\
         a1.channels.c1.dataDirs = {r}/d1\na1.channels.c1.minimumRequiredSpace = 1048576\n\
         a1.sinks.k1.type = hdfs\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.hdfs.path = file://{r}/out/%Y%m%d/%H\n\
         a1.sinks.k1.hdfs.useLocalTimeStamp = true\n\
         a1.sinks.k1.hdfs.rollSize = 0\na1.sinks.k1.hdfs.rollInterval = 0\n\
         a1.sinks.k1.hdfs.batchSize = 100\n{extra}",
        r = root.display()
    );
    let p = root.join("agent.properties");
    std::fs::write(&p, text).unwrap();
    p
}

/// One round: an agent, two senders until it fails, killed with SIGKILL once the closed
/// files hold 300 lines more than the `acked` of the rounds before (the in-use files of the
/// run before recovered at its start); the lines acknowledged.
fn kill_round(root: &Path, conf: &Path, port: u16, round: usize, acked: usize) -> Vec<String> {
    let out = root.join("out");
    let mut agent = start_agent(root, conf, port, round);
    let left_in_use = in_use(&all_files(&out));
    let senders: Vec<_> = ["a", "b"]
        .iter()
        .map(|p| {
            let prefix = format!("{p}{round}");
            std::thread::spawn(move || send_until_failure(port, prefix, 50_000))
        })
        .collect();
    // Let the sink write some files, then kill the agent mid-flight.
    let end = Instant::now() + WAIT;
    while closed_lines(&out).len() < acked + 300 {
        assert!(
            Instant::now() < end,
            "no progress in round {round}; log:\n{}",
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The in-use files of the previous run were recovered at start.
    let now = in_use(&all_files(&out));
    if !left_in_use.is_disjoint(&now) {
        let before =
            std::fs::read_to_string(root.join(format!("agent-{}.log", round.saturating_sub(1))))
                .unwrap_or_default();
        panic!(
            "round {round}: in-use files not recovered: {:?}\nfiles now: {:?}\nlog of the run before:\n{before}\nlog:\n{}",
            left_in_use.intersection(&now).collect::<Vec<_>>(),
            all_files(&out).iter().map(|(p, b)| (p, b.len())).collect::<Vec<_>>(),
            agent.log_text()
        );
    }
    agent.signal(libc::SIGKILL);
    agent.wait_exit();
    senders
        .into_iter()
        .flat_map(|s| s.join().unwrap())
        .collect()
}

/// A last run drains the channel (restarted until every acknowledged line is in a closed
/// file: a clean stop closes the files still open); the agent, still running.
fn drain_all(root: &Path, conf: &Path, port: u16, rounds: usize, acked: &[String]) -> Proc {
    let out = root.join("out");
    let mut agent = start_agent(root, conf, port, rounds);
    let want: BTreeSet<&String> = acked.iter().collect();
    let end = Instant::now() + WAIT;
    loop {
        let got = closed_lines(&out);
        let have: BTreeSet<&String> = got.iter().collect();
        let missing = want.iter().filter(|l| !have.contains(**l)).count();
        if missing == 0 {
            return agent;
        }
        // Files still open hold the tail: a clean stop closes them.
        if Instant::now() > end {
            panic!(
                "{missing} acknowledged lines missing; log:\n{}",
                agent.log_text()
            );
        }
        agent.terminate();
        agent = start_agent(root, conf, port, rounds + 1);
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn acknowledged_lines_are_in_closed_files_after_kill_9_rounds() {
    let rounds = if crate::support::long_runs::long_runs() {
        12
    } else {
        3
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let out = root.join("out");
    let port = free_port();
    let conf = conf(
        root,
        port,
        "a1.sinks.k1.hdfs.fileType = DataStream\na1.sinks.k1.hdfs.rollCount = 300\n",
    );
    let mut acked: Vec<String> = Vec::new();
    for round in 0..rounds {
        acked.extend(kill_round(root, &conf, port, round, acked.len()));
    }
    // A last run drains the channel; a clean stop closes every file.
    let mut agent = drain_all(root, &conf, port, rounds, &acked);
    agent.terminate();
    let files = all_files(&out);
    assert!(
        in_use(&files).is_empty(),
        "in-use files after a clean stop: {:?}",
        in_use(&files)
    );
    let got = closed_lines(&out);
    let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
    for l in &got {
        counts.entry(l).or_default();
        *counts.get_mut(l).unwrap() += 1;
    }
    let dups: usize = counts.values().map(|c| c - 1).sum();
    eprintln!(
        "kill -9 rounds: {rounds}, acknowledged {}, written {}, duplicates {dups}, files {}",
        acked.len(),
        got.len(),
        files.len()
    );
    assert!(acked.iter().all(|l| counts.contains_key(l)));
    // Each take commits the output's cursor, and the first start commits a baseline before
    // any take: every restart cuts back what uncommitted takes wrote.
    assert_eq!(dups, 0, "lines written twice");
    let sent = |l: &str| {
        l.split_once('-').is_some_and(|(p, n)| {
            (p.starts_with('a') || p.starts_with('b'))
                && p[1..].parse::<usize>().is_ok_and(|r| r < rounds)
                && n.parse::<usize>().is_ok()
        })
    };
    assert!(
        counts.keys().all(|l| sent(l)),
        "only sent lines were written"
    );
}

fn tool_ok(tool: &str, args: &[&str], file: &Path) -> Option<bool> {
    let status = Command::new(tool)
        .args(args)
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    Some(status.success())
}

#[test]
fn compressed_outputs_pass_the_standard_tools() {
    for (codec, tool, ext) in [
        ("gzip", "gzip", "gz"),
        ("bzip2", "bzip2", "bz2"),
        ("zstd", "zstd", "zst"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let port = free_port();
        let conf = conf(
            root,
            port,
            &format!("a1.sinks.k1.hdfs.fileType = CompressedStream\na1.sinks.k1.hdfs.codeC = {codec}\na1.sinks.k1.hdfs.batchSize = 10\na1.sinks.k1.hdfs.rollCount = 100\n"),
        );
        let mut agent = start_agent(root, &conf, port, 0);
        let acked = send_until_failure(port, "z0".into(), 700);
        assert!(acked.len() >= 700);
        let end = Instant::now() + WAIT;
        while all_files(&root.join("out"))
            .iter()
            .filter(|(p, _)| p.extension().is_some_and(|e| e == ext))
            .count()
            < 7
        {
            assert!(
                Instant::now() < end,
                "{codec}: no closed file; log:\n{}",
                agent.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        agent.terminate();
        let files = all_files(&root.join("out"));
        assert!(in_use(&files).is_empty());
        let mut lines = 0;
        for (p, _) in &files {
            assert_eq!(p.extension().and_then(|e| e.to_str()), Some(ext));
            match tool_ok(tool, &["-t"], p) {
                Some(ok) => assert!(ok, "{tool} -t {} failed", p.display()),
                None => eprintln!("{tool} is not installed; skipped its check"),
            }
            if let Ok(o) = Command::new(tool).args(["-dc"]).arg(p).output() {
                lines += o.stdout.iter().filter(|b| **b == b'\n').count();
            }
        }
        if Command::new(tool).arg("--version").output().is_ok() {
            assert_eq!(lines, acked.len(), "{codec}: lines decoded by {tool}");
        }
    }
}

fn check(conf: &Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["config", "check", "-n", "a1", "-f"])
        .arg(conf)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn config_check_accepts_the_example_and_refuses_hdfs_uris_with_their_line() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/taildir-hdfs.properties");
    let (code, text) = check(&example);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("warning"), "{text}");
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.properties");
    std::fs::write(
        &bad,
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1 k2\n\
         a1.sources.r1.type = seq\na1.sources.r1.channels = c1\na1.channels.c1.type = memory\n\
         a1.sinks.k1.type = hdfs\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.hdfs.path = gs://logs/%Y\n\
         a1.sinks.k1.hdfs.codeC = lzo\n\
         a1.sinks.k2.type = http\na1.sinks.k2.channel = c1\na1.sinks.k2.endpoint = ftp://x\n\
         a1.sinks.k2.backoff.6X = true\n",
    )
    .unwrap();
    let (code, text) = check(&bad);
    assert_eq!(code, Some(1), "{text}");
    for want in [
        ":9: a1.sinks.k1.hdfs.path:",
        "gs:// scheme is not supported",
        ":10: a1.sinks.k1.hdfs.codeC: unknown codec \"lzo\"",
        ":13: a1.sinks.k2.endpoint: expected an http:// or https:// URL",
        ":14: a1.sinks.k2.backoff.6X:",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

/// Issue 87: the in-use file swapped for a symbolic link while the agent was down made the
/// next start cut a 1 MiB victim to its committed length. Now the start refuses the link,
/// naming it, and the victim stays byte for byte.
#[test]
fn an_in_use_file_swapped_for_a_symlink_while_down_is_refused_and_the_victim_is_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let port = free_port();
    let conf = conf(root, port, "a1.sinks.k1.hdfs.rollCount = 0\n");
    let out = root.join("out");
    let mut agent = start_agent(root, &conf, port, 0);
    let sent = crate::support::lines_support::lines("line", 0..100);
    assert_eq!(crate::support::lines_support::netcat_send(port, &sent), 100);
    let mut open = None;
    agent.wait_until("the 100 lines synced in an in-use file", || {
        let files = all_files(&out);
        open = in_use(&files).into_iter().next();
        files
            .iter()
            .any(|(p, b)| Some(p) == open.as_ref() && b.len() >= 100 * 12)
    });
    agent.signal(libc::SIGKILL);
    agent.wait_exit();
    let open = open.unwrap();
    let victim = root.join("victim.bin");
    let bytes: Vec<u8> = (0..1u32 << 20)
        .map(|i| b"0123456789\n"[i as usize % 11])
        .collect();
    std::fs::write(&victim, &bytes).unwrap();
    std::fs::remove_file(&open).unwrap();
    std::os::unix::fs::symlink(&victim, &open).unwrap();
    // Not waited for: whether the source listens while the sink cannot start is not the point.
    let mut agent = Proc::builder(root)
        .conf_file(&conf)
        .log("agent-1.log")
        .arg("--no-reload-conf")
        .wait(WAIT)
        .spawn();
    let said = format!(
        "{} is a symbolic link; refusing to follow it",
        open.display()
    );
    let seen = crate::support::wait::poll_until(WAIT, || agent.log_text().contains(&said));
    let after = std::fs::read(&victim).unwrap();
    agent.stop();
    assert!(seen, "the start names the link; log:\n{}", agent.log_text());
    assert_eq!(after.len(), bytes.len(), "the victim was cut");
    assert!(after == bytes, "the victim changed");
}
