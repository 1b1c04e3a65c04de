//! Exactly once with file sources and file_roll (docs/exactly-once.md), on the real agent:
//! a TAILDIR line read again because its position write was lost (as a power loss leaves the
//! position file; also before the file's first position was saved) is recognised by the file
//! channel, and file_roll cuts its output back to the
//! last committed take at start. Each scenario also runs without the mechanism (`eventIds =
//! false`; a memory channel, which keeps no cursor), where the same steps do leave lines
//! twice or uncommitted lines behind: the scenarios really exercise it.

use crate::support::file_sources_support;

use std::io::Write;
use std::path::Path;

use file_sources_support::{duplicates, start_agent, wait_for_all, written};

fn conf(root: &Path, ids: bool) -> String {
    file_conf(root, ids)
}

/// The same agent on a memory channel, which keeps no cursors.
fn memory_conf(root: &Path) -> String {
    let c = file_conf(root, false);
    c.lines()
        .filter(|l| !l.starts_with("a1.channels.c1."))
        .chain(["a1.channels.c1.type = memory"])
        .map(|l| format!("{l}\n"))
        .collect()
}

fn file_conf(root: &Path, ids: bool) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = TAILDIR\na1.sources.r1.channels = c1\n\
         a1.sources.r1.positionFile = {r}/pos/taildir_position.json\n\
         a1.sources.r1.filegroups = f1\na1.sources.r1.filegroups.f1 = {r}/logs/app\\\\.log\n\
         a1.sources.r1.batchSize = 7\na1.sources.r1.maxBackoffSleep = 200\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {r}/ck\n\
         a1.channels.c1.dataDirs = {r}/data\na1.channels.c1.minimumRequiredSpace = 1048576\n\
         a1.channels.c1.eventIds = {ids}\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {r}/out\na1.sinks.k1.sink.rollInterval = 0\n\
         a1.sinks.k1.sink.batchSize = 5\n",
        r = root.display()
    )
}

/// Appends `line-<from>` .. `line-<to - 1>` to `logs/app.log`; the lines written.
pub(crate) fn append(root: &Path, from: usize, to: usize) -> Vec<String> {
    let lines: Vec<String> = (from..to).map(|i| format!("line-{i:04}")).collect();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(root.join("logs/app.log"))
        .unwrap();
    for l in &lines {
        writeln!(f, "{l}").unwrap();
    }
    lines
}

/// The position and fingerprint files (not the origins, which are fsynced before use, nor
/// the spool of hard links).
fn position_files(root: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let Ok(dir) = std::fs::read_dir(root.join("pos")) else {
        return Vec::new();
    };
    dir.map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.to_string_lossy().contains("origins"))
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect()
}

/// Runs the lost-position scenario; returns how many lines were written twice. `young`: the
/// position files are set back to before the file was first read (a file killed, or its
/// power lost, before its first position was saved), else to after its first 40 lines.
fn lost_position_write(ids: bool, young: bool) -> usize {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("logs")).unwrap();
    let conf_path = root.join("agent.properties");
    std::fs::write(&conf_path, conf(root, ids)).unwrap();
    let out = root.join("out");
    let mut agent = start_agent(root, &conf_path, 0);
    let mut old = position_files(root);
    let mut want = append(root, 0, 40);
    wait_for_all(&out, &want, &agent);
    if !young {
        // The position files as a power loss could leave them: from this moment.
        old = position_files(root);
    }
    want.extend(append(root, 40, 100));
    wait_for_all(&out, &want, &agent);
    agent.kill9();
    for (p, _) in position_files(root) {
        std::fs::remove_file(p).unwrap();
    }
    for (p, bytes) in &old {
        std::fs::write(p, bytes).unwrap();
    }
    let mut agent = start_agent(root, &conf_path, 1);
    want.extend(append(root, 100, 110));
    let counts = wait_for_all(&out, &want, &agent);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let counts = if counts.values().sum::<usize>() < written(&out).len() {
        wait_for_all(&out, &want, &agent)
    } else {
        counts
    };
    agent.terminate();
    assert!(counts.keys().all(|l| want.contains(l)), "only input lines");
    duplicates(&counts)
}

#[test]
fn taildir_lines_read_again_after_a_lost_position_write_are_committed_once() {
    assert_eq!(lost_position_write(true, false), 0);
    let without = lost_position_write(false, false);
    assert!(
        without >= 50,
        "without ids the re-read lines come twice ({without})"
    );
}

/// A file whose first position was never saved is read again from its start with the
/// origin its anchor names: every line it had committed is dropped as a resend.
#[test]
fn a_young_files_lines_read_again_from_its_start_are_committed_once() {
    assert_eq!(lost_position_write(true, true), 0);
}

/// Runs the uncommitted-output scenario (on a file channel, or a memory one); returns the
/// lines written twice, and those written that were never input.
fn uncommitted_output(file_channel: bool) -> (usize, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("logs")).unwrap();
    let conf_path = root.join("agent.properties");
    let text = if file_channel {
        conf(root, true)
    } else {
        memory_conf(root)
    };
    std::fs::write(&conf_path, text).unwrap();
    let out = root.join("out");
    let mut want = append(root, 0, 30);
    let mut agent = start_agent(root, &conf_path, 0);
    wait_for_all(&out, &want, &agent);
    agent.kill9();
    // What a crash between a batch's write and its take's commit leaves: bytes after the
    // committed length, and a file opened after the committed one.
    let file = std::fs::read_dir(&out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    f.write_all(b"uncommitted-1\nuncommitted-2\n").unwrap();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let (series, _) = name.rsplit_once('-').unwrap();
    std::fs::write(out.join(format!("{series}-99")), "uncommitted-3\n").unwrap();
    let mut agent = start_agent(root, &conf_path, 1);
    want.extend(append(root, 30, 40));
    let counts = wait_for_all(&out, &want, &agent);
    agent.terminate();
    let foreign = counts
        .keys()
        .filter(|l| !want.contains(l))
        .cloned()
        .collect();
    (duplicates(&counts), foreign)
}

#[test]
fn file_roll_cuts_its_output_back_to_the_last_committed_take_at_start() {
    assert_eq!(uncommitted_output(true), (0, Vec::new()));
    let (_, foreign) = uncommitted_output(false);
    assert_eq!(
        foreign.len(),
        3,
        "a memory channel keeps no cursor: {foreign:?}"
    );
}
