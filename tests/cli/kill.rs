//! Process kill tests: run the real `sluice channel put` fed by a pipe, SIGKILL it while it is
//! committing, reopen the channel and check that every `committed N` it printed is there, in
//! order, and that nothing beyond the next (possibly durable but unprinted) batch appears.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use sluice_core::{FileChannel, FileChannelConfig};

fn config(root: &Path) -> FileChannelConfig {
    FileChannelConfig::with_dirs(
        root.join("checkpoint"),
        vec![root.join("data0"), root.join("data1")],
    )
}

/// Runs `channel put` on `root` with lines `r{round}-{i}`, kills it once it has printed
/// `kill_after` commits, and returns the last committed total it printed.
fn put_and_kill(root: &Path, round: usize, batch: usize, kill_after: usize) -> u64 {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["channel", "put", "--checkpoint-dir"])
        .arg(root.join("checkpoint"))
        .arg("--data-dirs")
        .arg(format!(
            "{},{}",
            root.join("data0").display(),
            root.join("data1").display()
        ))
        .args(["--batch", &batch.to_string()])
        .args(["--set", "minimumRequiredSpace=1048576"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sluice");
    let mut stdin = child.stdin.take().unwrap();
    let feeder = thread::spawn(move || {
        for i in 0..2_000_000u64 {
            if writeln!(stdin, "r{round}-{i}").is_err() {
                return;
            }
        }
    });
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = thread::spawn(move || {
        let mut last = 0u64;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(n) = line.strip_prefix("committed ") {
                last = n.parse().expect("committed N");
                let _ = tx.send(last);
            }
        }
        last
    });
    let mut seen = 0;
    while seen < kill_after {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(_) => seen += 1,
            Err(e) => panic!("round {round}: child stopped committing after {seen}: {e}"),
        }
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    let last = reader.join().unwrap();
    feeder.join().unwrap();
    last
}

#[test]
fn every_printed_commit_survives_sigkill_in_the_middle_of_committing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let cfg = config(root);
    let moments = [(1, 1), (10, 3), (1, 40), (100, 7), (7, 100)];
    for (round, &(batch, kill_after)) in moments.iter().enumerate() {
        let printed = put_and_kill(root, round, batch, kill_after);
        assert!(printed >= kill_after as u64 * batch as u64);
        let ch = FileChannel::open(cfg.clone()).unwrap();
        let mut tx = ch.transaction();
        let mut got = Vec::new();
        while let Some(e) = tx.take().unwrap() {
            got.push(String::from_utf8(Vec::from(e.into_parts().1)).unwrap());
        }
        tx.commit().unwrap();
        ch.close().unwrap();
        let n = got.len() as u64;
        // Every printed commit is there; at most one more batch was durable but unprinted.
        assert!(
            n == printed || n == printed + batch as u64,
            "round {round}: printed {printed}, recovered {n}"
        );
        for (i, body) in got.iter().enumerate() {
            assert_eq!(body, &format!("r{round}-{i}"), "round {round}: order");
        }
    }
}
