//! TAILDIR reads the oldest unread data first (issue 81), in-process: after a restart the
//! rotated files come before `app.log`, oldest first, whatever their inodes; and a file
//! rotated while the source follows its successor is finished first. While it catches up (a
//! backlog past `catchUpBytes`) the live `app.log` gets a batch after every backlog batch,
//! unless the backlog is at risk (the spool off).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sluice::agent::registry::SourceKind;
use sluice::agent::source::taildir::tailer::Tailer;
use sluice::agent::source::taildir::TaildirConfig;
use sluice::agent::topology::load;

fn config(dir: &Path, extra: &str) -> TaildirConfig {
    let text = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = TAILDIR\na1.sources.r1.channels = c1\n\
         a1.sources.r1.positionFile = {d}/pos/taildir_position.json\n\
         a1.sources.r1.filegroups = f1\n\
         a1.sources.r1.filegroups.f1 = {d}/logs/app\\.log.*\n\
         a1.sources.r1.batchSize = 100\n{extra}\
         a1.channels.c1.type = memory\na1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n",
        d = dir.display()
    );
    let loaded = load(&text, "a1", &[]);
    let cfg = loaded
        .config
        .unwrap_or_else(|| panic!("config rejected: {:?}", loaded.problems));
    match cfg.sources["r1"].kind.clone() {
        SourceKind::Taildir(c) => c,
        other => panic!("not TAILDIR: {other:?}"),
    }
}

/// The first line of each batch, reading everything there is.
fn first_lines(t: &mut Tailer) -> Vec<String> {
    t.scan();
    let mut out = Vec::new();
    while let Some(b) = t.next_batch() {
        out.push(String::from_utf8_lossy(&b.events[0].body).into_owned());
        t.commit(b.inode, b.end);
    }
    out
}

/// Writes `name` with one line, modified `age_s` seconds ago.
fn file(dir: &Path, name: &str, age_s: u64) {
    let p = dir.join(name);
    std::fs::write(&p, format!("{name}\n")).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(age_s))
        .unwrap();
}

#[test]
fn rotated_files_are_read_before_app_log_oldest_first_whatever_their_inodes() {
    let d = tempfile::tempdir().unwrap();
    let logs = d.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    // Created newest first, so inode order would read app.log first.
    file(&logs, "app.log", 0);
    file(&logs, "app.log.1", 30);
    file(&logs, "app.log.2", 60);
    file(&logs, "app.log.3", 90);
    let mut t = Tailer::new(Arc::new(config(d.path(), "")), Vec::new()).unwrap();
    assert_eq!(
        first_lines(&mut t),
        ["app.log.3", "app.log.2", "app.log.1", "app.log"]
    );
}

#[test]
fn a_file_rotated_away_is_finished_before_the_new_app_log() {
    let d = tempfile::tempdir().unwrap();
    let logs = d.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    file(&logs, "app.log", 0);
    let mut t = Tailer::new(Arc::new(config(d.path(), "")), Vec::new()).unwrap();
    assert_eq!(first_lines(&mut t), ["app.log"]);
    std::fs::OpenOptions::new()
        .append(true)
        .open(logs.join("app.log"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"old tail\n"))
        .unwrap();
    std::fs::rename(logs.join("app.log"), logs.join("app.log.1")).unwrap();
    std::fs::write(logs.join("app.log"), "new head\n").unwrap();
    assert_eq!(first_lines(&mut t), ["old tail", "new head"]);
}

/// Every line there is to read now, in the order handed out (each batch committed).
fn all_lines(t: &mut Tailer, batches: Option<usize>) -> Vec<String> {
    let mut out = Vec::new();
    let mut n = 0;
    while batches.is_none_or(|b| n < b) {
        let Some(b) = t.next_batch() else { break };
        out.extend(
            b.events
                .iter()
                .map(|e| String::from_utf8_lossy(&e.body).into_owned()),
        );
        t.commit(b.inode, b.end);
        n += 1;
    }
    out
}

/// A backlog of three rotated files of 300 lines (about 16 KB each) behind `app.log`.
fn backlog(logs: &Path) {
    for (k, age) in [(3, 90), (2, 60), (1, 30)] {
        let p = logs.join(format!("app.log.{k}"));
        let text: String = (0..300)
            .map(|n| format!("backlog-{k}-{n:03} {}\n", "x".repeat(40)))
            .collect();
        std::fs::write(&p, text).unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(age))
            .unwrap();
    }
    file(logs, "app.log", 0);
}

/// Reads two batches (a backlog batch and app.log's turn, if it gets one), appends a fresh
/// line to `app.log`, and reads everything else: every line in the order handed out.
fn read_with_a_fresh_line(extra: &str) -> Vec<String> {
    let d = tempfile::tempdir().unwrap();
    let logs = d.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    backlog(&logs);
    let mut t = Tailer::new(Arc::new(config(d.path(), extra)), Vec::new()).unwrap();
    t.scan();
    let mut got = all_lines(&mut t, Some(2));
    std::fs::OpenOptions::new()
        .append(true)
        .open(logs.join("app.log"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"fresh\n"))
        .unwrap();
    t.scan();
    got.extend(all_lines(&mut t, None));
    assert_eq!(got.len(), 3 * 300 + 2, "every line once: {got:?}");
    got
}

fn index_of(got: &[String], prefix: &str) -> usize {
    got.iter()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("{prefix} not read"))
}

#[test]
fn while_catching_up_a_line_appended_to_app_log_is_read_before_the_backlog_is_drained() {
    let got = read_with_a_fresh_line("a1.sources.r1.catchUpBytes = 4096\n");
    let fresh = index_of(&got, "fresh");
    let last_backlog = index_of(&got, "backlog-1-299");
    assert!(
        fresh < last_backlog,
        "fresh line at {fresh}, after the whole backlog (last backlog line at {last_backlog})"
    );
    // The backlog itself is still read oldest first.
    assert!(index_of(&got, "backlog-3-299") < index_of(&got, "backlog-2-000"));
    assert!(index_of(&got, "backlog-2-299") < index_of(&got, "backlog-1-000"));
}

#[test]
fn with_the_spool_off_the_backlog_at_risk_is_read_strictly_before_app_log() {
    let got =
        read_with_a_fresh_line("a1.sources.r1.catchUpBytes = 4096\na1.sources.r1.spoolBytes = 0\n");
    assert_eq!(
        index_of(&got, "app.log"),
        900,
        "app.log read before the backlog"
    );
    assert_eq!(got.last().map(String::as_str), Some("fresh"));
}

#[test]
fn below_catch_up_bytes_every_line_is_read_in_the_order_written() {
    let got = read_with_a_fresh_line("");
    assert_eq!(
        index_of(&got, "app.log"),
        900,
        "app.log read before the backlog"
    );
    assert_eq!(got.last().map(String::as_str), Some("fresh"));
}
