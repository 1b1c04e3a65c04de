//! TAILDIR reads the oldest unread data first (issue 81), in-process: after a restart the
//! rotated files come before `app.log`, oldest first, whatever their inodes; and a file
//! rotated while the source follows its successor is finished first.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sluice::agent::registry::SourceKind;
use sluice::agent::source::taildir::tailer::Tailer;
use sluice::agent::source::taildir::TaildirConfig;
use sluice::agent::topology::load;

fn config(dir: &Path) -> TaildirConfig {
    let text = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = TAILDIR\na1.sources.r1.channels = c1\n\
         a1.sources.r1.positionFile = {d}/pos/taildir_position.json\n\
         a1.sources.r1.filegroups = f1\n\
         a1.sources.r1.filegroups.f1 = {d}/logs/app\\.log.*\n\
         a1.sources.r1.batchSize = 100\n\
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
    let mut t = Tailer::new(Arc::new(config(d.path())), Vec::new()).unwrap();
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
    let mut t = Tailer::new(Arc::new(config(d.path())), Vec::new()).unwrap();
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
