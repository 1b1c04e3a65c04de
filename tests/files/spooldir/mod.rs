//! The spooldir source's reader against Flume's documented behaviour, in-process: events and
//! headers, rename suffix, tracker_dir markers, deletion, resume from the tracker, empty
//! files, reused names, files changed after they were dropped in, charsets and decode
//! policies, a 100 MB line, BLOB, an unreadable spool directory and configuration errors.
//!
//! This file holds the helpers, the reading and completion policies and the settings;
//! `decode.rs` charsets, decode policies, long lines and BLOB; `faults.rs` files changed
//! under the reader, a missing spool dir, a damaged tracker and a full disk.

mod decode;
mod faults;

use std::path::Path;
use std::sync::Arc;

use sluice::agent::registry::SourceKind;
use sluice::agent::source::spooldir::spooler::{Spooler, Step};
use sluice::agent::source::spooldir::SpoolDirConfig;
use sluice::agent::topology::load;
use sluice_core::Event;

fn config(spool: &Path, extra: &str) -> SpoolDirConfig {
    let text = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = spooldir\na1.sources.r1.channels = c1\n\
         a1.sources.r1.spoolDir = {}\n{extra}\
         a1.channels.c1.type = memory\na1.channels.c1.transactionCapacity = 1000\n\
         a1.channels.c1.capacity = 100000\n\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n",
        spool.display()
    );
    let loaded = load(&text, "a1", &[]);
    let cfg = loaded
        .config
        .unwrap_or_else(|| panic!("config rejected: {:?}", loaded.problems));
    match cfg.sources["r1"].kind.clone() {
        SourceKind::SpoolDir(c) => c,
        other => panic!("not spooldir: {other:?}"),
    }
}

fn problems(spool: &Path, extra: &str) -> Vec<String> {
    let text = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = spooldir\na1.sources.r1.channels = c1\n\
         a1.sources.r1.spoolDir = {}\n{extra}\
         a1.channels.c1.type = memory\n\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n",
        spool.display()
    );
    load(&text, "a1", &[])
        .problems
        .iter()
        .map(|p| p.render("agent.properties"))
        .collect()
}

/// Runs the spooler to idle as the task does (every batch committed at once); returns the
/// events.
fn drain(s: &mut Spooler) -> Vec<Event> {
    let mut out = Vec::new();
    for _ in 0..1_000_000 {
        match s.next_step().unwrap() {
            Step::Events { events, pos } => {
                out.extend(events);
                s.committed(pos).unwrap();
            }
            Step::Done => s.complete().unwrap(),
            Step::Idle => return out,
        }
    }
    panic!("spooler never went idle");
}

fn bodies(ev: &[Event]) -> Vec<String> {
    ev.iter()
        .map(|e| String::from_utf8_lossy(&e.body).into_owned())
        .collect()
}

fn spooler(cfg: SpoolDirConfig) -> Spooler {
    Spooler::new(Arc::new(cfg)).unwrap()
}

#[test]
fn every_line_becomes_an_event_with_flumes_headers_and_the_file_is_renamed() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.log"), "one\ntwo\nlast-without-newline").unwrap();
    let cfg = config(
        d.path(),
        "a1.sources.r1.fileHeader = true\na1.sources.r1.basenameHeader = true\n",
    );
    let ev = drain(&mut spooler(cfg));
    assert_eq!(bodies(&ev), ["one", "two", "last-without-newline"]);
    let abs = d.path().join("a.log").display().to_string();
    assert_eq!(ev[0].headers.get("file"), Some(abs.as_str()));
    assert_eq!(ev[0].headers.get("basename"), Some("a.log"));
    assert!(!d.path().join("a.log").exists());
    assert!(d.path().join("a.log.COMPLETED").exists());
    assert!(
        !d.path()
            .join(".flumespool/sluice-spool-position.json")
            .exists(),
        "the tracker is cleared once the file is completed"
    );
}

#[test]
fn header_keys_and_suffix_follow_the_configuration() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.log"), "x\n").unwrap();
    let cfg = config(
        d.path(),
        "a1.sources.r1.fileHeader = true\na1.sources.r1.fileHeaderKey = path\n\
         a1.sources.r1.basenameHeader = true\na1.sources.r1.basenameHeaderKey = name\n\
         a1.sources.r1.fileSuffix = .done\n",
    );
    let ev = drain(&mut spooler(cfg));
    assert!(ev[0].headers.contains_key("path"));
    assert_eq!(ev[0].headers.get("name"), Some("a.log"));
    assert!(d.path().join("a.log.done").exists());
}

#[test]
fn files_are_read_oldest_first_and_patterns_select_them() {
    let d = tempfile::tempdir().unwrap();
    for (i, name) in ["c.log", "a.log", "b.txt", "skip.log"].iter().enumerate() {
        let p = d.path().join(name);
        std::fs::write(&p, format!("{name}\n")).unwrap();
        let t = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000 + i as u64);
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
    let cfg = config(
        d.path(),
        "a1.sources.r1.includePattern = .*\\\\.log\na1.sources.r1.ignorePattern = skip.*\n",
    );
    assert_eq!(bodies(&drain(&mut spooler(cfg))), ["c.log", "a.log"]);
    assert!(d.path().join("b.txt").exists() && d.path().join("skip.log").exists());
}

#[test]
fn tracker_dir_policy_marks_files_instead_of_renaming_them() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.log"), "x\n").unwrap();
    let cfg = config(d.path(), "a1.sources.r1.trackingPolicy = tracker_dir\n");
    assert_eq!(drain(&mut spooler(cfg.clone())).len(), 1);
    assert!(d.path().join("a.log").exists());
    assert!(d.path().join(".flumespool/a.log.COMPLETED").exists());
    assert!(
        drain(&mut spooler(cfg)).is_empty(),
        "a marked file is not read again"
    );
}

#[test]
fn delete_policy_immediate_deletes_completed_files() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.log"), "x\n").unwrap();
    let cfg = config(d.path(), "a1.sources.r1.deletePolicy = immediate\n");
    assert_eq!(drain(&mut spooler(cfg)).len(), 1);
    assert_eq!(
        std::fs::read_dir(d.path())
            .unwrap()
            .filter(|e| !e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.'))
            .count(),
        0
    );
}

#[test]
fn a_restart_resumes_after_the_last_committed_batch() {
    let d = tempfile::tempdir().unwrap();
    let text: String = (0..10).map(|i| format!("line{i}\n")).collect();
    std::fs::write(d.path().join("a.log"), text).unwrap();
    let cfg = config(d.path(), "a1.sources.r1.batchSize = 3\n");
    let mut s = spooler(cfg.clone());
    let Step::Events { events, pos } = s.next_step().unwrap() else {
        panic!()
    };
    assert_eq!(bodies(&events), ["line0", "line1", "line2"]);
    s.committed(pos).unwrap();
    // The next batch is read but never committed: the agent dies.
    let Step::Events { .. } = s.next_step().unwrap() else {
        panic!()
    };
    drop(s);
    let ev = drain(&mut spooler(cfg));
    assert_eq!(bodies(&ev)[0], "line3", "resumes after the committed batch");
    assert_eq!(ev.len(), 7);
}

#[test]
fn an_empty_file_is_completed_at_once() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("empty.log"), "").unwrap();
    std::fs::write(d.path().join("z.log"), "z\n").unwrap();
    let ev = drain(&mut spooler(config(d.path(), "")));
    assert_eq!(bodies(&ev), ["z"]);
    assert!(d.path().join("empty.log.COMPLETED").exists());
}

#[test]
fn a_reused_name_is_set_aside_and_the_other_files_go_on() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.log"), "new\n").unwrap();
    std::fs::write(d.path().join("a.log.COMPLETED"), "old\n").unwrap();
    std::fs::write(d.path().join("b.log"), "b\n").unwrap();
    let ev = drain(&mut spooler(config(d.path(), "")));
    assert_eq!(bodies(&ev), ["b"]);
    assert_eq!(
        std::fs::read_to_string(d.path().join("a.log")).unwrap(),
        "new\n"
    );
    assert_eq!(
        std::fs::read_to_string(d.path().join("a.log.COMPLETED")).unwrap(),
        "old\n",
        "the completed file is not overwritten"
    );
}

#[test]
fn nothing_is_read_renamed_or_deleted_through_a_link_in_the_spool() {
    let d = tempfile::tempdir().unwrap();
    let spool = d.path().join("spool");
    let outside = d.path().join("outside");
    std::fs::create_dir_all(&spool).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("victim"), "SECRET\n").unwrap();
    std::fs::write(spool.join("a.log"), "a\n").unwrap();
    std::os::unix::fs::symlink(outside.join("victim"), spool.join("x.log")).unwrap();
    std::os::unix::fs::symlink(&outside, spool.join("d")).unwrap();
    for extra in [
        "",
        "a1.sources.r1.recursiveDirectorySearch = true\na1.sources.r1.deletePolicy = immediate\n",
    ] {
        std::fs::write(spool.join("a.log"), "a\n").unwrap();
        let ev = drain(&mut spooler(config(&spool, extra)));
        assert_eq!(bodies(&ev), ["a"], "{extra}");
        assert_eq!(
            std::fs::read_to_string(outside.join("victim")).unwrap(),
            "SECRET\n",
            "{extra}"
        );
        assert!(!outside.join("victim.COMPLETED").exists(), "{extra}");
        assert!(
            std::fs::symlink_metadata(spool.join("x.log")).is_ok(),
            "{extra}"
        );
    }
}

#[test]
fn bad_settings_are_reported_with_their_key() {
    let d = tempfile::tempdir().unwrap();
    let cases = [
        ("a1.sources.r1.deletePolicy = sometimes\n", "deletePolicy"),
        ("a1.sources.r1.consumeOrder = newest\n", "consumeOrder"),
        (
            "a1.sources.r1.decodeErrorPolicy = SKIP\n",
            "decodeErrorPolicy",
        ),
        ("a1.sources.r1.inputCharset = UTF-16\n", "inputCharset"),
        ("a1.sources.r1.includePattern = (\n", "includePattern"),
        ("a1.sources.r1.deserializer = AVRO\n", "deserializer"),
        ("a1.sources.r1.batchSize = 0\n", "batchSize"),
    ];
    for (line, key) in cases {
        let p = problems(d.path(), line);
        assert!(
            p.iter()
                .any(|m| m.contains(key) && m.contains("agent.properties:7:")),
            "{line}: {p:?}"
        );
    }
}
