//! Line helpers shared by the end-to-end support modules (multihop, alarms, kafka): numbered
//! lines, a netcat client that counts `OK` answers, and the complete lines a file sink wrote.
//! Included with `#[path]` by each support module, so one copy serves every test crate.

#![allow(dead_code)] // each test crate uses a different subset

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

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
