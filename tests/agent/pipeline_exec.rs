//! The real binary's `exec` source after its read path was rebuilt (64 KiB reads, memchr
//! splitting, batches put on their own task while the next is read): every line arrives once
//! and in order across many batches, `\r\n` and an unterminated last line included, and a
//! restarted command's lines follow the first run's.

use crate::support::agent_proc;

use agent_proc::Proc;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Every line the file_roll sink wrote, files in name order.
fn written(out: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(out) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd.map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            let t = std::fs::read_to_string(f).unwrap_or_default();
            t.lines().map(str::to_owned).collect::<Vec<_>>()
        })
        .collect()
}

fn conf(command: &str, extra: &str, out: &Path) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = exec\na1.sources.r1.command = {command}\n\
         a1.sources.r1.shell = /bin/sh -c\na1.sources.r1.batchSize = 100\n\
         a1.sources.r1.batchTimeout = 100\na1.sources.r1.channels = c1\n{extra}\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 50000\n\
         a1.channels.c1.transactionCapacity = 100\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.rollInterval = 0\na1.sinks.k1.sink.batchSize = 100\n\
         a1.sinks.k1.sink.directory = {}\n",
        out.display()
    )
}

#[test]
fn exec_delivers_every_line_once_in_order_with_crlf_and_an_unterminated_last_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let command = "seq 1 20000; printf 'crlf line\\r\\n\\nlast without newline'";
    let agent = Proc::plain(tmp.path(), &conf(command, "", &out), &[]);
    let mut want: Vec<String> = (1..=20_000).map(|i| i.to_string()).collect();
    want.extend(["crlf line", "", "last without newline"].map(str::to_owned));
    let mut got = Vec::new();
    agent.wait_until("not every line arrived", || {
        got = written(&out);
        got.len() >= want.len()
    });
    // Nothing more arrives afterwards (no duplicate), and the lines are the command's, in order.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(written(&out), want);
    let mut agent = agent;
    assert_eq!(agent.terminate(), Some(0));
}

#[test]
fn a_restarted_command_s_lines_follow_the_first_run_s() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let runs = tmp.path().join("runs");
    // Each run appends a mark to `runs` and prints its run number on three lines.
    let command = format!(
        "echo x >> {r}; n=$(wc -l < {r}); for i in 1 2 3; do echo run$n-$i; done",
        r = runs.display()
    );
    let extra = "a1.sources.r1.restart = true\na1.sources.r1.restartThrottle = 100\n";
    let mut agent = Proc::plain(tmp.path(), &conf(&command, extra, &out), &[]);
    let mut got = Vec::new();
    agent.wait_until("the command did not run three times", || {
        got = written(&out);
        got.len() >= 9
    });
    let want: Vec<String> = (1..=3)
        .flat_map(|n| (1..=3).map(move |i| format!("run{n}-{i}")))
        .collect();
    assert_eq!(got.get(..9), Some(&want[..]), "{got:?}");
    assert_eq!(agent.terminate(), Some(0));
}
