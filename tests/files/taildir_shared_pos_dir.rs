//! Two TAILDIR sources whose position files share a directory (the default
//! `~/.flume/taildir_position.json` beside another source's): each keeps its own spool,
//! `.taildir-spool/<positionFile name>`, so at a restart neither takes up the other's links.
//! Before, both spooled into one `.taildir-spool`, and at a restart each took up every link:
//! the other source's file was read again from its start (its lines shipped twice), and once
//! read its link was removed (the other's file lost, had it been rotated away meanwhile).
//! Entries an earlier version left in the shared spool move to the source whose saved
//! positions name them.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::support::file_sources_support::{
    duplicates, start_agent, wait_for_all, wait_until, written,
};

fn conf(root: &Path) -> String {
    format!(
        "a1.sources = r1 r2\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = TAILDIR\na1.sources.r1.channels = c1\n\
         a1.sources.r1.positionFile = {r}/pos/one.json\n\
         a1.sources.r1.filegroups = f1\na1.sources.r1.filegroups.f1 = {r}/logs1/a\\\\.log\n\
         a1.sources.r1.batchSize = 7\n\
         a1.sources.r2.type = TAILDIR\na1.sources.r2.channels = c1\n\
         a1.sources.r2.positionFile = {r}/pos/two.json\n\
         a1.sources.r2.filegroups = f1\na1.sources.r2.filegroups.f1 = {r}/logs2/b\\\\.log\n\
         a1.sources.r2.batchSize = 7\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {r}/ck\n\
         a1.channels.c1.dataDirs = {r}/data\na1.channels.c1.minimumRequiredSpace = 1048576\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {r}/out\na1.sinks.k1.sink.rollInterval = 0\n\
         a1.sinks.k1.sink.batchSize = 5\n",
        r = root.display()
    )
}

fn setup(root: &Path) -> PathBuf {
    for d in ["logs1", "logs2", "pos"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let conf_path = root.join("agent.properties");
    std::fs::write(&conf_path, conf(root)).unwrap();
    conf_path
}

/// Appends lines `tag-from..tag-(from+n)` to `file`; the lines.
fn append(file: &Path, tag: &str, from: usize, n: usize) -> Vec<String> {
    let lines: Vec<String> = (from..from + n).map(|i| format!("{tag}-{i:04}")).collect();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .unwrap();
    for l in &lines {
        writeln!(f, "{l}").unwrap();
    }
    lines
}

/// The entries of a spool directory.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn spool_name(file: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(file).unwrap();
    format!("{}-{}", m.ino(), m.dev())
}

/// Runs the agent once over both files, stops it, lets `between` change the spool, runs it
/// again with more lines; every line must come out exactly once.
fn restart_ships_each_line_once(between: impl FnOnce(&Path)) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let conf_path = setup(&root);
    let (a, b) = (root.join("logs1/a.log"), root.join("logs2/b.log"));
    let out = root.join("out");
    let mut want = append(&a, "a", 0, 20);
    want.extend(append(&b, "b", 0, 20));
    let mut agent = start_agent(&root, &conf_path, 0);
    wait_for_all(&out, &want, &agent);
    assert_eq!(agent.terminate(), Some(0));
    let spool = root.join("pos/.taildir-spool");
    assert_eq!(entries(&spool.join("one.json")), vec![spool_name(&a)]);
    assert_eq!(entries(&spool.join("two.json")), vec![spool_name(&b)]);
    between(&spool);
    let mut agent = start_agent(&root, &conf_path, 1);
    want.extend(append(&a, "a", 20, 10));
    want.extend(append(&b, "b", 20, 10));
    let counts = wait_for_all(&out, &want, &agent);
    // Whatever a source took up that is not its own is read at start, before these.
    let settled = !wait_until(|| written(&out).len() > want.len());
    assert_eq!(agent.terminate(), Some(0));
    let mut counts_now: BTreeMap<String, usize> = BTreeMap::new();
    for l in written(&out) {
        *counts_now.entry(l).or_default() += 1;
    }
    assert_eq!(
        duplicates(&counts_now),
        0,
        "lines shipped twice: {:?}",
        counts_now
            .iter()
            .filter(|(_, n)| **n > 1)
            .collect::<Vec<_>>()
    );
    assert!(settled, "more lines than written: {counts:?}");
    assert_eq!(counts_now.len(), want.len());
    assert_eq!(entries(&spool.join("one.json")), vec![spool_name(&a)]);
    assert_eq!(entries(&spool.join("two.json")), vec![spool_name(&b)]);
    tmp
}

#[test]
fn two_sources_with_position_files_in_one_directory_take_up_only_their_own_spool_links() {
    restart_ships_each_line_once(|_| {});
}

#[test]
fn links_an_earlier_version_left_in_the_shared_spool_move_to_the_source_that_saved_them() {
    let tmp = restart_ships_each_line_once(|spool| {
        // The layout of earlier versions: every source's links in `.taildir-spool` itself.
        for own in ["one.json", "two.json"] {
            for e in entries(&spool.join(own)) {
                std::fs::rename(spool.join(own).join(&e), spool.join(&e)).unwrap();
            }
            std::fs::remove_dir(spool.join(own)).unwrap();
        }
    });
    let spool = tmp.path().join("pos/.taildir-spool");
    let left: Vec<String> = entries(&spool)
        .into_iter()
        .filter(|e| !e.ends_with(".json"))
        .collect();
    assert!(left.is_empty(), "shared entries left: {left:?}");
}
