//! `multiline.maxHeldBytes` through the real `sluice agent`: 48 TAILDIR files each hold a
//! large open stack trace (no line ends it before `multiline.timeout`), 7 times the budget
//! in all; the source's `HeldBytesPeak` gauge stays
//! within the budget, and every line reaches the sink exactly once (events split early by the
//! budget, joined with `|` by a search_replace interceptor, are split back into lines here).

use crate::support::file_sources_support;
use crate::support::status_support;

use std::collections::BTreeMap;
use std::path::Path;

use file_sources_support::{channel_and_sink, written};
use status_support::{start_agent, HttpAgent};

const FILES: usize = 48;
const FRAMES: usize = 400;
const HELD_BYTES_MAX: u64 = 256 * 1024;
/// Beats' documented pattern for Java stack traces.
const JAVA: &str = r"^[[:space:]]+(at|\\.{3})[[:space:]]+\\b|^Caused by:";

fn conf(root: &Path) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = TAILDIR\na1.sources.r1.channels = c1\n\
         a1.sources.r1.positionFile = {r}/taildir_position.json\n\
         a1.sources.r1.filegroups = f1\n\
         a1.sources.r1.filegroups.f1 = {r}/logs/app[0-9]+\\\\.log\n\
         a1.sources.r1.batchSize = 50\na1.sources.r1.maxBackoffSleep = 200\n\
         a1.sources.r1.multiline.pattern = {JAVA}\n\
         a1.sources.r1.multiline.match = after\n\
         a1.sources.r1.multiline.timeout = 10s\n\
         a1.sources.r1.multiline.maxLines = 1000\n\
         a1.sources.r1.multiline.maxBytes = 65536\n\
         a1.sources.r1.multiline.maxHeldBytes = {HELD_BYTES_MAX}\n\
         a1.sources.r1.interceptors = j\n\
         a1.sources.r1.interceptors.j.type = search_replace\n\
         a1.sources.r1.interceptors.j.searchPattern = \\\\n\n\
         a1.sources.r1.interceptors.j.replaceString = |\n{}",
        channel_and_sink(root, 100),
        r = root.display()
    )
}

fn gauge(agent: &HttpAgent, key: &str) -> u64 {
    agent.json()["SOURCE.r1"][key]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Each line written to the sink's files, split back out of its event.
fn lines_out(out: &Path) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for event in written(out) {
        for l in event.split('|') {
            *counts.entry(l.to_owned()).or_default() += 1;
        }
    }
    counts
}

#[test]
fn many_files_holding_large_open_events_stay_within_max_held_bytes_and_lose_no_line() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("logs")).unwrap();
    let mut want = Vec::new();
    for f in 0..FILES {
        let mut text = format!("Exception in file {f}\n");
        want.push(format!("Exception in file {f}"));
        for i in 0..FRAMES {
            let l = format!("\tat f{f}.m{i}(App.java:{i}) {}", "x".repeat(60));
            text.push_str(&l);
            text.push('\n');
            want.push(l);
        }
        std::fs::write(root.join(format!("logs/app{f}.log")), text).unwrap();
    }
    let agent = start_agent(root, &conf(root));
    let out = root.join("out");
    agent.wait_until("every line at the sink", || {
        let got = lines_out(&out);
        want.iter().all(|l| got.contains_key(l))
    });
    let got = lines_out(&out);
    let twice: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "lines written twice: {twice:?}");
    assert_eq!(got.len(), want.len(), "no line beyond those written");
    let peak = gauge(&agent, "HeldBytesPeak");
    assert!(
        peak <= HELD_BYTES_MAX,
        "held {peak} bytes at most, budget {HELD_BYTES_MAX}"
    );
    // Each file's event alone is about 32 KiB: the budget was reached, not just unused.
    assert!(peak > HELD_BYTES_MAX / 2, "held {peak} bytes at most");
    assert_eq!(
        gauge(&agent, "HeldBytes"),
        0,
        "nothing held once all is sent"
    );
}
