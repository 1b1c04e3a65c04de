//! The TAILDIR reader against Flume's documented behaviour, in-process: headers
//! (`headers.<fg>.<key>`, `byteoffset`, fileHeader), positions in Flume's JSON, rename
//! rotation, copytruncate, deletion, new files, skipToEnd, taking over a Flume position file,
//! maxBatchCount fairness and configuration errors.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

use sluice::agent::registry::SourceKind;
use sluice::agent::source::taildir::position::PosEntry;
use sluice::agent::source::taildir::tailer::Tailer;
use sluice::agent::source::taildir::TaildirConfig;
use sluice::agent::topology::load;
use sluice_core::Event;

fn text(dir: &Path, extra: &str) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = TAILDIR\na1.sources.r1.channels = c1\n\
         a1.sources.r1.positionFile = {d}/pos/taildir_position.json\n\
         a1.sources.r1.filegroups = f1\n\
         a1.sources.r1.filegroups.f1 = {d}/logs/app\\.log.*\n{extra}\
         a1.channels.c1.type = memory\na1.channels.c1.transactionCapacity = 1000\n\
         a1.channels.c1.capacity = 10000\n\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n",
        d = dir.display()
    )
}

fn config(dir: &Path, extra: &str) -> TaildirConfig {
    let loaded = load(&text(dir, extra), "a1", &[]);
    let cfg = loaded
        .config
        .unwrap_or_else(|| panic!("config rejected: {:?}", loaded.problems));
    match cfg.sources["r1"].kind.clone() {
        SourceKind::Taildir(c) => c,
        other => panic!("not TAILDIR: {other:?}"),
    }
}

fn tailer(cfg: &TaildirConfig, saved: Vec<PosEntry>) -> Tailer {
    Tailer::new(Arc::new(cfg.clone()), saved).unwrap()
}

/// Scans and reads everything there is, committing each batch.
fn drain(t: &mut Tailer) -> Vec<Event> {
    t.scan();
    let mut out = Vec::new();
    for _ in 0..100_000 {
        match t.next_batch() {
            Some(b) => {
                out.extend(b.events);
                t.commit(b.inode, b.end);
            }
            None => return out,
        }
    }
    panic!("no end");
}

fn bodies(ev: &[Event]) -> Vec<String> {
    ev.iter()
        .map(|e| String::from_utf8_lossy(&e.body).into_owned())
        .collect()
}

fn append(p: &Path, s: &str) {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(p)
        .unwrap()
        .write_all(s.as_bytes())
        .unwrap();
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let logs = d.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    (d, logs)
}

#[test]
fn lines_carry_group_headers_byte_offsets_and_the_file_path() {
    let (d, logs) = setup();
    let cfg = config(
        d.path(),
        "a1.sources.r1.headers.f1.headerKey1 = value1\na1.sources.r1.byteOffsetHeader = true\n\
         a1.sources.r1.fileHeader = true\n",
    );
    append(&logs.join("app.log"), "first\nsecond\r\npartial");
    let mut t = tailer(&cfg, vec![]);
    let ev = drain(&mut t);
    assert_eq!(bodies(&ev), ["first", "second"]);
    assert_eq!(ev[0].headers.get("headerKey1").unwrap(), "value1");
    assert_eq!(ev[0].headers.get("byteoffset").unwrap(), "0");
    assert_eq!(ev[1].headers.get("byteoffset").unwrap(), "6");
    assert_eq!(
        ev[1].headers["file"],
        logs.join("app.log").display().to_string()
    );
    append(&logs.join("app.log"), "-done\n");
    assert_eq!(bodies(&drain(&mut t)), ["partial-done"]);
}

#[test]
fn positions_are_flumes_json_entries_of_committed_bytes() {
    let (d, logs) = setup();
    let cfg = config(d.path(), "");
    let p = logs.join("app.log");
    append(&p, "abc\nde");
    let mut t = tailer(&cfg, vec![]);
    drain(&mut t);
    let inode = std::fs::metadata(&p).unwrap().ino();
    let json = String::from_utf8(sluice::agent::source::taildir::position::render(
        &t.positions(),
    ))
    .unwrap();
    assert_eq!(
        json,
        format!(r#"[{{"inode":{inode},"pos":4,"file":"{}"}}]"#, p.display())
    );
    // A batch read but not committed does not move the position.
    append(&p, "f\n");
    t.scan();
    let b = t.next_batch().unwrap();
    assert_eq!(bodies(&b.events), ["def"]);
    assert_eq!(t.positions()[0].pos, 4);
    t.commit(b.inode, b.end);
    assert_eq!(t.positions()[0].pos, 8);
}

#[test]
fn a_flume_position_file_is_taken_over() {
    let (d, logs) = setup();
    let cfg = config(d.path(), "");
    let p = logs.join("app.log");
    append(&p, "old\nnew\n");
    let inode = std::fs::metadata(&p).unwrap().ino();
    let flume = format!(r#"[{{"inode":{inode},"pos":4,"file":"{}"}}]"#, p.display());
    let saved = sluice::agent::source::taildir::position::parse(flume.as_bytes()).unwrap();
    let mut t = tailer(&cfg, saved);
    assert_eq!(bodies(&drain(&mut t)), ["new"]);
}

#[test]
fn rename_rotation_is_followed_by_inode_without_loss_or_duplicates() {
    let (d, logs) = setup();
    let cfg = config(d.path(), "");
    let p = logs.join("app.log");
    append(&p, "1\n");
    let mut t = tailer(&cfg, vec![]);
    assert_eq!(bodies(&drain(&mut t)), ["1"]);
    append(&p, "2\n");
    std::fs::rename(&p, logs.join("app.log.1")).unwrap();
    append(&p, "3\n");
    let mut got = bodies(&drain(&mut t));
    got.sort();
    assert_eq!(got, ["2", "3"]);
    assert_eq!(t.len(), 2);
}

#[test]
fn a_file_rotated_out_of_the_pattern_is_read_to_its_end_then_dropped() {
    let (d, logs) = setup();
    let cfg = config(d.path(), "");
    let p = logs.join("app.log");
    append(&p, "1\n");
    let mut t = tailer(&cfg, vec![]);
    drain(&mut t);
    append(&p, "2\n");
    std::fs::rename(&p, logs.join("old-app")).unwrap();
    assert_eq!(bodies(&drain(&mut t)), ["2"]);
    t.scan();
    assert!(t.is_empty(), "the rotated file is forgotten once read");
}

#[test]
fn copytruncate_is_noticed_and_the_file_is_read_from_its_start() {
    let (d, logs) = setup();
    let cfg = config(d.path(), "");
    let p = logs.join("app.log");
    append(&p, "aaaa\nbbbb\n");
    let mut t = tailer(&cfg, vec![]);
    drain(&mut t);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&p, "c\n");
    assert_eq!(bodies(&drain(&mut t)), ["c"]);
    assert_eq!(t.positions()[0].pos, 2);
}

#[test]
fn a_restart_with_a_truncated_file_reads_it_from_its_start() {
    let (d, logs) = setup();
    let cfg = config(d.path(), "");
    let p = logs.join("app.log");
    append(&p, "x\n");
    let inode = std::fs::metadata(&p).unwrap().ino();
    let saved = vec![PosEntry {
        inode,
        pos: 500,
        file: p.display().to_string(),
    }];
    assert_eq!(bodies(&drain(&mut tailer(&cfg, saved))), ["x"]);
}

#[test]
fn a_restart_after_a_truncate_and_regrow_reads_the_new_lines_from_the_start() {
    let (d, logs) = setup();
    let cfg = config(d.path(), "");
    let p = logs.join("app.log");
    append(&p, "old-1\nold-2\n");
    let mut t = tailer(&cfg, vec![]);
    assert_eq!(bodies(&drain(&mut t)), ["old-1", "old-2"]);
    let (saved, fps) = (t.positions(), t.fingerprints());
    assert_eq!(fps.len(), 1);
    drop(t);
    // Stopped: the file is truncated on its inode and grows past the saved position.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&p, "new-1\nnew-2\nnew-3\n");
    let mut t = tailer(&cfg, saved.clone());
    t.restore_fingerprints(fps.iter().map(|f| (f.inode, f.clone())).collect());
    assert_eq!(bodies(&drain(&mut t)), ["new-1", "new-2", "new-3"]);
    // Without fingerprints (a Flume position file) it resumes at the saved position.
    let mut t = tailer(&cfg, saved);
    assert_eq!(bodies(&drain(&mut t)), ["new-3"]);
}

#[test]
fn a_restart_after_appends_resumes_where_it_was() {
    let (d, logs) = setup();
    let cfg = config(d.path(), "");
    let p = logs.join("app.log");
    append(&p, &"a".repeat(3000));
    append(&p, "\nb\n");
    let mut t = tailer(&cfg, vec![]);
    assert_eq!(drain(&mut t).len(), 2);
    let (saved, fps) = (t.positions(), t.fingerprints());
    drop(t);
    append(&p, "c\n");
    let mut t = tailer(&cfg, saved);
    t.restore_fingerprints(fps.iter().map(|f| (f.inode, f.clone())).collect());
    assert_eq!(bodies(&drain(&mut t)), ["c"]);
    assert_eq!(t.fingerprints().len(), 1);
}

#[test]
fn batches_end_at_max_batch_bytes_without_splitting_a_line() {
    let (d, logs) = setup();
    let cfg = config(d.path(), "a1.sources.r1.maxBatchBytes = 10\n");
    let p = logs.join("app.log");
    append(&p, "aaaa\nbbbb\ncccc\ndddddddddddd\ne\n");
    let mut t = tailer(&cfg, vec![]);
    t.scan();
    let mut sizes = Vec::new();
    while let Some(b) = t.next_batch() {
        sizes.push(b.events.len());
        t.commit(b.inode, b.end);
    }
    assert_eq!(
        sizes,
        [3, 1, 1],
        "10 bytes: 3 lines of 4, then the long line alone"
    );
}

#[test]
fn skip_to_end_starts_new_files_at_their_end() {
    let (d, logs) = setup();
    let cfg = config(d.path(), "a1.sources.r1.skipToEnd = true\n");
    let p = logs.join("app.log");
    append(&p, "before\n");
    let mut t = tailer(&cfg, vec![]);
    assert!(drain(&mut t).is_empty());
    append(&p, "after\n");
    assert_eq!(bodies(&drain(&mut t)), ["after"]);
}

#[test]
fn position_entries_of_another_host_are_ignored() {
    let (d, logs) = setup();
    let cfg = config(d.path(), "");
    append(&logs.join("app.log"), "1\n");
    let foreign = vec![PosEntry {
        inode: 1,
        pos: 10,
        file: "/elsewhere/app.log".into(),
    }];
    assert_eq!(bodies(&drain(&mut tailer(&cfg, foreign))), ["1"]);
}

#[test]
fn max_batch_count_moves_on_to_the_next_file() {
    let (d, logs) = setup();
    let cfg = config(
        d.path(),
        "a1.sources.r1.batchSize = 2\na1.sources.r1.maxBatchCount = 1\n",
    );
    append(&logs.join("app.log.a"), "a1\na2\na3\na4\n");
    append(&logs.join("app.log.b"), "b1\nb2\nb3\nb4\n");
    let mut t = tailer(&cfg, vec![]);
    t.scan();
    let first = t.next_batch().unwrap();
    t.commit(first.inode, first.end);
    let second = t.next_batch().unwrap();
    assert_ne!(first.inode, second.inode, "one batch per file in turn");
}

#[test]
fn a_partial_line_at_the_end_of_a_deleted_file_is_not_sent() {
    let (d, logs) = setup();
    let cfg = config(d.path(), "");
    let p = logs.join("app.log");
    append(&p, "1\nhalf");
    let mut t = tailer(&cfg, vec![]);
    assert_eq!(bodies(&drain(&mut t)), ["1"]);
    std::fs::remove_file(&p).unwrap();
    assert!(drain(&mut t).is_empty());
    t.scan();
    assert!(t.is_empty());
}

#[test]
fn bad_settings_are_reported_with_their_key() {
    let d = tempfile::tempdir().unwrap();
    let with = |extra: &str| {
        load(&text(d.path(), extra), "a1", &[])
            .problems
            .iter()
            .map(|p| p.render("f"))
            .collect::<Vec<_>>()
    };
    let p = with("a1.sources.r1.filegroups.f1 = /var/log/(\n");
    assert!(
        p.iter()
            .any(|m| m.contains("filegroups.f1") && m.contains("regex")),
        "{p:?}"
    );
    let p = with("a1.sources.r1.idleTimeout = soon\n");
    assert!(p.iter().any(|m| m.contains("idleTimeout")), "{p:?}");
    let p = with("a1.sources.r1.headers.f9.k = v\n");
    assert!(
        p.iter()
            .any(|m| m.contains("headers.f9.k") && m.contains("warning")),
        "{p:?}"
    );
}

#[test]
fn the_file_source_examples_load_without_problems() {
    for example in ["taildir-file-roll", "spooldir-file-roll"] {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/{example}.properties"));
        let loaded = load(&std::fs::read_to_string(&path).unwrap(), "a1", &[]);
        assert!(
            loaded.problems.is_empty(),
            "{example}: {:?}",
            loaded.problems
        );
        assert!(loaded.config.is_some());
    }
}
