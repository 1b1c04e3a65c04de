//! Line helpers shared by the end-to-end support modules (multihop, alarms, kafka): numbered
//! lines, a netcat client that counts `OK` answers, and the complete lines a file sink wrote.
//! Used by the other support modules through `crate::support::lines_support`.

#![allow(dead_code)] // each test crate uses a different subset

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `prefix-000000`, `prefix-000001`, ... for `range`.
pub fn lines(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}-{i:06}")).collect()
}

/// Sends `lines` to a netcat source on loopback `port`; returns how many were answered `OK`
/// (0 when the source cannot be reached).
pub fn netcat_send(port: u16, lines: &[String]) -> usize {
    let Ok(w) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    w.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut r = BufReader::new(w.try_clone().unwrap());
    let mut w = w;
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    if w.write_all(text.as_bytes()).is_err() {
        return 0;
    }
    let mut ok = 0;
    for _ in lines {
        let mut answer = String::new();
        match r.read_line(&mut answer) {
            Ok(n) if n > 0 && answer == "OK\n" => ok += 1,
            _ => break,
        }
    }
    ok
}

/// Every complete line of every file under `dir` (a process killed mid-write may leave a
/// torn last line).
pub fn written(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap_or_default();
        let complete = text.rsplit_once('\n').map(|(c, _)| c).unwrap_or("");
        out.extend(complete.lines().map(str::to_owned));
    }
    out
}

/// Waits (at most `wait`) until every line of `want` is in a file under one of `dirs`;
/// returns every line written there. On timeout, panics with the count missing, the first
/// one, and `logs()`.
pub fn wait_for_all(
    dirs: &[PathBuf],
    want: &[String],
    wait: Duration,
    logs: impl Fn() -> String,
) -> Vec<String> {
    let end = Instant::now() + wait;
    loop {
        let got: Vec<String> = dirs.iter().flat_map(|d| written(d)).collect();
        let have: BTreeSet<&String> = got.iter().collect();
        let missing: Vec<&String> = want.iter().filter(|l| !have.contains(l)).collect();
        if missing.is_empty() {
            return got;
        }
        if Instant::now() >= end {
            panic!(
                "{} of {} lines missing, first {:?}\n{}",
                missing.len(),
                want.len(),
                missing[0],
                logs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Lines written more than once.
pub fn duplicates(got: &[String]) -> usize {
    let unique: BTreeSet<&String> = got.iter().collect();
    got.len() - unique.len()
}
