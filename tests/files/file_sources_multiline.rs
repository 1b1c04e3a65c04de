//! Multiline events through the real `sluice agent`: a Java stack trace (TAILDIR) and a
//! Python traceback (spooldir) become one event each, and kill -9 rounds while a writer
//! appends stack traces in pieces (and rotates by rename between them) split no event and
//! lose none. Each event's lines are joined with `|` by a search_replace interceptor, so
//! file_roll writes one line per event and a split event shows as a line that is not one of
//! the written events.

use crate::support::file_sources_support;
use crate::support::rotating_log::RotatingLog;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use file_sources_support::{
    channel_and_sink, duplicates, rounds, start_agent, wait_for_all, written,
};

const SOURCE_BATCH: usize = 50;
const SINK_BATCH: usize = 100;
/// Beats' documented pattern for Java stack traces.
const JAVA: &str = r"^[[:space:]]+(at|\\.{3})[[:space:]]+\\b|^Caused by:";

/// The keys of source `r` that join lines with `pattern` and write them joined by `|`.
fn multiline_keys(r: &str, pattern: &str, negate: bool, timeout: &str) -> String {
    format!(
        "a1.sources.{r}.multiline.pattern = {pattern}\n\
         a1.sources.{r}.multiline.negate = {negate}\n\
         a1.sources.{r}.multiline.match = after\n\
         a1.sources.{r}.multiline.timeout = {timeout}\n\
         a1.sources.{r}.interceptors = j\n\
         a1.sources.{r}.interceptors.j.type = search_replace\n\
         a1.sources.{r}.interceptors.j.searchPattern = \\\\n\n\
         a1.sources.{r}.interceptors.j.replaceString = |\n"
    )
}

fn taildir_keys(root: &Path) -> String {
    format!(
        "a1.sources.r1.type = TAILDIR\na1.sources.r1.channels = c1\n\
         a1.sources.r1.positionFile = {r}/taildir_position.json\n\
         a1.sources.r1.filegroups = f1\n\
         a1.sources.r1.filegroups.f1 = {r}/logs/app\\\\.log(\\\\.[0-9]+)?\n\
         a1.sources.r1.batchSize = {SOURCE_BATCH}\na1.sources.r1.maxBackoffSleep = 200\n\
         a1.sources.r1.backoffSleepIncrement = 50\n",
        r = root.display()
    )
}

fn spooldir_keys(root: &Path, r: &str) -> String {
    format!(
        "a1.sources.{r}.type = spooldir\na1.sources.{r}.channels = c1\n\
         a1.sources.{r}.spoolDir = {d}/spool\na1.sources.{r}.batchSize = {SOURCE_BATCH}\n\
         a1.sources.{r}.pollDelay = 50\n",
        d = root.display()
    )
}

fn drop_file(spool: &Path, name: &str, text: &str) {
    let tmp = spool.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, spool.join(name)).unwrap();
}

#[test]
fn a_java_stack_trace_and_a_python_traceback_are_one_event_each() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("logs")).unwrap();
    std::fs::create_dir_all(root.join("spool")).unwrap();
    let conf = root.join("agent.properties");
    std::fs::write(
        &conf,
        format!(
            "a1.sources = r1 r2\na1.channels = c1\na1.sinks = k1\n{}{}{}{}{}",
            taildir_keys(root),
            multiline_keys("r1", JAVA, false, "3s"),
            spooldir_keys(root, "r2"),
            multiline_keys("r2", r"^\\d{4}-\\d{2}-\\d{2} ", true, "5s"),
            channel_and_sink(root, SINK_BATCH)
        ),
    )
    .unwrap();
    let agent = start_agent(root, &conf, 0);
    let java = "2026-11-22 10:00:00 INFO starting\n\
        Exception in thread \"main\" java.lang.IllegalStateException: A book has a null property\n\
        \tat com.example.myproject.Author.getBookIds(Author.java:38)\n\
        \tat com.example.myproject.Bootstrap.main(Bootstrap.java:14)\n\
        Caused by: java.lang.NullPointerException\n\
        \tat com.example.myproject.Book.getId(Book.java:22)\n\
        \t... 1 more\n\
        2026-11-22 10:00:01 INFO next\n";
    // Written in two pieces, cut inside the trace: the agent must not hand out half of it.
    let (a, b) = java.split_at(java.find("Caused").unwrap() + 3);
    let app = root.join("logs/app.log");
    std::fs::write(&app, a).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let mut f = std::fs::OpenOptions::new().append(true).open(&app).unwrap();
    f.write_all(b.as_bytes()).unwrap();
    let python = "2026-11-22 10:00:00,001 ERROR request failed\n\
        Traceback (most recent call last):\n  \
        File \"/srv/app.py\", line 12, in handle\n    \
        result = compute(x)\n  \
        File \"/srv/app.py\", line 7, in compute\n    \
        return 1 / x\n\
        ZeroDivisionError: division by zero\n\
        2026-11-22 10:00:00,002 INFO next request\n";
    drop_file(&root.join("spool"), "py.log", python);
    // The events: the lines between two lines starting an event, joined.
    let events = |text: &str, starts: &dyn Fn(&str) -> bool| {
        let mut out: Vec<String> = Vec::new();
        for l in text.lines() {
            match out.last_mut() {
                Some(e) if !starts(l) => *e = format!("{e}|{l}"),
                _ => out.push(l.to_owned()),
            }
        }
        out
    };
    let mut want = events(java, &|l| {
        !l.starts_with('\t') && !l.starts_with("Caused by:")
    });
    want.extend(events(python, &|l| l.starts_with("2026-")));
    assert_eq!(want.len(), 5, "{want:#?}");
    assert!(want[1].starts_with("Exception") && want[1].ends_with("... 1 more"));
    let out = root.join("out");
    let counts = wait_for_all(&out, &want, &agent);
    let got: BTreeSet<&String> = counts.keys().collect();
    assert_eq!(got, want.iter().collect(), "exactly the joined events");
    assert_eq!(duplicates(&counts), 0);
}

/// One stack-trace-like event: a head line and `n` continuation lines, all naming `id`.
fn event(id: usize, n: usize) -> String {
    let mut s = format!("E-{id:06} java.lang.RuntimeException: boom {id}\n");
    for i in 0..n {
        s.push_str(&format!("\tat f{id}.m{i}(A.java:{i})\n"));
    }
    s
}

fn joined(text: &str) -> String {
    text.trim_end().replace('\n', "|")
}

/// Appends `total` stack-trace events to `logs`, each in one to three writes cut anywhere
/// (mid-line too), rotating by rename between events now and then.
fn write_in_pieces(logs: &Path, total: usize) {
    let mut log = RotatingLog::open(logs);
    for id in 0..total {
        let text = event(id, id % 9);
        // Each event in one to three writes, cut anywhere (mid-line too).
        let mut rest = text.as_bytes();
        while !rest.is_empty() {
            let n = fastrand::usize(1..=rest.len());
            log.write(&rest[..n]);
            rest = &rest[n..];
            if fastrand::u8(0..3) == 0 {
                std::thread::sleep(Duration::from_micros(fastrand::u64(50..1500)));
            }
        }
        // Rename rotation between events now and then.
        if fastrand::usize(0..1500) == 0 {
            log.rotate();
        }
    }
}

/// One round: an agent runs until `more` lines are out (at most 20 s), then is killed with
/// SIGKILL.
fn kill_round(root: &Path, conf: &Path, round: usize, more: usize) {
    let out = root.join("out");
    let mut agent = start_agent(root, conf, round);
    let target = written(&out).len() + more;
    let end = Instant::now() + Duration::from_secs(20);
    while written(&out).len() < target && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(fastrand::u64(1..20)));
    }
    agent.kill9();
}

#[test]
fn taildir_multiline_splits_and_loses_no_event_across_kill_9_rounds() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let logs = root.join("logs");
    std::fs::create_dir(&logs).unwrap();
    let kills = rounds(3, 12);
    let total = if kills > 3 { 60_000 } else { 6_000 };
    let conf = root.join("agent.properties");
    std::fs::write(
        &conf,
        format!(
            "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n{}{}{}",
            taildir_keys(&root),
            multiline_keys("r1", JAVA, false, "2s"),
            channel_and_sink(&root, SINK_BATCH)
        ),
    )
    .unwrap();
    let want: Vec<String> = (0..total)
        .map(|id| joined(&event(id, id % 9)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let writer = {
        let logs = logs.clone();
        std::thread::spawn(move || write_in_pieces(&logs, total))
    };
    let out = root.join("out");
    for round in 0..kills {
        kill_round(&root, &conf, round, 300 + fastrand::usize(0..1500));
    }
    let mut agent = start_agent(&root, &conf, kills);
    writer.join().unwrap();
    let counts = wait_for_all(&out, &want, &agent);
    agent.terminate();
    let dups = duplicates(&counts);
    eprintln!("taildir multiline: {total} events, {kills} kills, {dups} duplicates");
    let foreign: Vec<&String> = counts
        .keys()
        .filter(|l| want.binary_search(l).is_err())
        .collect();
    assert!(
        foreign.is_empty(),
        "split or partial events written: {:?}",
        &foreign[..foreign.len().min(5)]
    );
    assert!(
        dups <= kills * (SOURCE_BATCH + SINK_BATCH),
        "{dups} duplicates exceed one source and one sink batch per kill"
    );
}

#[test]
fn spooldir_multiline_splits_and_loses_no_event_across_kill_9_rounds() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let spool = root.join("spool");
    std::fs::create_dir(&spool).unwrap();
    let kills = rounds(3, 12);
    let (files, per_file) = if kills > 3 { (200, 300) } else { (30, 150) };
    let conf = root.join("agent.properties");
    std::fs::write(
        &conf,
        format!(
            "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n{}{}{}",
            spooldir_keys(root, "r1"),
            multiline_keys("r1", JAVA, false, "5s"),
            channel_and_sink(root, SINK_BATCH)
        ),
    )
    .unwrap();
    let mut want = BTreeSet::new();
    for f in 0..files {
        let mut text = String::new();
        for e in 0..per_file {
            let id = f * per_file + e;
            let ev = event(id, id % 7);
            want.insert(joined(&ev));
            text.push_str(&ev);
        }
        drop_file(&spool, &format!("f{f:04}.log"), &text);
    }
    let want: Vec<String> = want.into_iter().collect();
    let out = root.join("out");
    for round in 0..kills {
        let mut agent = start_agent(root, &conf, round);
        let target = written(&out).len() + 100 + fastrand::usize(0..800);
        let end = Instant::now() + Duration::from_secs(20);
        while written(&out).len() < target.min(want.len()) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(fastrand::u64(1..20)));
        }
        agent.kill9();
    }
    let mut agent = start_agent(root, &conf, kills);
    let counts = wait_for_all(&out, &want, &agent);
    agent.terminate();
    let dups = duplicates(&counts);
    eprintln!(
        "spooldir multiline: {} events, {kills} kills, {dups} duplicates",
        want.len()
    );
    let foreign: Vec<&String> = counts
        .keys()
        .filter(|l| want.binary_search(l).is_err())
        .collect();
    assert!(
        foreign.is_empty(),
        "split or partial events written: {:?}",
        &foreign[..foreign.len().min(5)]
    );
    assert!(
        dups <= kills * (SOURCE_BATCH + SINK_BATCH),
        "{dups} duplicates"
    );
}
