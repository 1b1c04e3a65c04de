//! Symbolic links planted where the agent reads, writes or cuts (issue 87), on the real agent
//! (TAILDIR → file channel → file_roll), planted while it is stopped and while it runs:
//! - file_roll's last committed file swapped for a link to a 1 MiB victim while the agent is
//!   down: the start refuses the link by name and the victim stays byte for byte;
//! - `app.log.9 -> secret` in the watched directory: not one secret line shipped by default,
//!   all of them with `followSymlinks = true`;
//! - a planted `.taildir-spool/<positionFile name>/<ino>-<dev>` link, and a `.taildir-spool` that is itself a
//!   link: refused and named, nothing read through them, nothing linked into the victim's
//!   directory.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::exactly_once::append;
use crate::support::agent_proc::Proc;
use crate::support::file_sources_support::{start_agent, wait_for_all, wait_until, written};

const REFUSED: &str = "is a symbolic link; refusing to follow it";
const LINK_SKIPPED: &str = "a symbolic link matches the file group's pattern; not read";

fn conf(root: &Path, extra: &str) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = TAILDIR\na1.sources.r1.channels = c1\n\
         a1.sources.r1.positionFile = {r}/pos/taildir_position.json\n\
         a1.sources.r1.filegroups = f1\na1.sources.r1.filegroups.f1 = {r}/logs/app\\\\.log.*\n\
         a1.sources.r1.batchSize = 7\na1.sources.r1.maxBackoffSleep = 200\n{extra}\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {r}/ck\n\
         a1.channels.c1.dataDirs = {r}/data\na1.channels.c1.minimumRequiredSpace = 1048576\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {r}/out\na1.sinks.k1.sink.rollInterval = 0\n\
         a1.sinks.k1.sink.batchSize = 5\n",
        r = root.display()
    )
}

/// A root with `logs/` and the configuration written; its path.
fn setup(root: &Path, extra: &str) -> PathBuf {
    std::fs::create_dir_all(root.join("logs")).unwrap();
    let conf_path = root.join("agent.properties");
    std::fs::write(&conf_path, conf(root, extra)).unwrap();
    conf_path
}

/// A file of `n` secret lines outside every watched directory.
fn secret(root: &Path, name: &str, n: usize) -> PathBuf {
    let p = root.join(name);
    let text: String = (0..n).map(|i| format!("SECRET-{name}-{i:03}\n")).collect();
    std::fs::write(&p, text).unwrap();
    p
}

fn secret_lines(root: &Path) -> usize {
    written(&root.join("out"))
        .iter()
        .filter(|l| l.starts_with("SECRET"))
        .count()
}

/// Waits until the log says `needle` or a secret line was shipped (today's code ships them
/// silently), then says which.
fn wait_refused_or_shipped(agent: &Proc, root: &Path, needle: &str) {
    let seen = wait_until(|| agent.log_text().contains(needle) || secret_lines(root) > 0);
    assert!(
        seen,
        "neither {needle:?} nor a secret line; log:\n{}",
        agent.log_text()
    );
}

#[test]
fn file_rolls_last_committed_file_swapped_for_a_symlink_while_stopped_leaves_the_victim_byte_identical(
) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let conf_path = setup(root, "");
    let mut agent = start_agent(root, &conf_path, 0);
    let want = append(root, 0, 200);
    wait_for_all(&root.join("out"), &want, &agent);
    assert_eq!(agent.terminate(), Some(0));
    let mut outs: Vec<PathBuf> = std::fs::read_dir(root.join("out"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    outs.sort();
    let last = outs.pop().unwrap();
    let victim = root.join("victim.bin");
    let bytes: Vec<u8> = (0..1u32 << 20)
        .map(|i| b"0123456789\n"[i as usize % 11])
        .collect();
    std::fs::write(&victim, &bytes).unwrap();
    std::fs::remove_file(&last).unwrap();
    std::os::unix::fs::symlink(&victim, &last).unwrap();
    let mut agent = start_agent(root, &conf_path, 1);
    let said = format!("{} {REFUSED}", last.display());
    let seen = wait_until(|| agent.log_text().contains(&said));
    let after = std::fs::read(&victim).unwrap();
    agent.stop();
    assert!(seen, "the start names the link; log:\n{}", agent.log_text());
    assert_eq!(after.len(), bytes.len(), "the victim was cut");
    assert!(after == bytes, "the victim changed");
    assert!(std::fs::symlink_metadata(&last)
        .unwrap()
        .file_type()
        .is_symlink());
}

/// Runs the watched-directory scenario: `app.log.9 -> secret-a` planted while the agent runs,
/// `app.log.8 -> secret-b` while it is stopped. Returns the secret lines shipped.
fn planted_in_the_watched_directory(extra: &str, follow: bool) -> usize {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let conf_path = setup(root, extra);
    let out = root.join("out");
    let mut agent = start_agent(root, &conf_path, 0);
    let mut want = append(root, 0, 20);
    wait_for_all(&out, &want, &agent);
    let a = secret(root, "secret-a", 50);
    std::os::unix::fs::symlink(&a, root.join("logs/app.log.9")).unwrap();
    want.extend(append(root, 20, 40));
    if follow {
        want.extend((0..50).map(|i| format!("SECRET-secret-a-{i:03}")));
    } else {
        wait_refused_or_shipped(&agent, root, LINK_SKIPPED);
    }
    wait_for_all(&out, &want, &agent);
    assert_eq!(agent.terminate(), Some(0));
    let b = secret(root, "secret-b", 50);
    std::os::unix::fs::symlink(&b, root.join("logs/app.log.8")).unwrap();
    let mut agent = start_agent(root, &conf_path, 1);
    want.extend(append(root, 40, 60));
    if follow {
        want.extend((0..50).map(|i| format!("SECRET-secret-b-{i:03}")));
    } else {
        let named = |a: &Proc| {
            a.log_text()
                .lines()
                .any(|l| l.contains(LINK_SKIPPED) && l.contains("app.log.8"))
        };
        let seen = wait_until(|| named(&agent) || secret_lines(root) > 50);
        assert!(seen, "app.log.8 named; log:\n{}", agent.log_text());
    }
    wait_for_all(&out, &want, &agent);
    assert_eq!(agent.terminate(), Some(0));
    if !follow {
        let log = std::fs::read_to_string(root.join("agent-0.log")).unwrap();
        let warned = log.lines().filter(|l| l.contains(LINK_SKIPPED)).count();
        assert_eq!(warned, 1, "named once while it stays: {log}");
    }
    secret_lines(root)
}

#[test]
fn a_symlink_planted_in_the_watched_directory_ships_no_secret_line_by_default() {
    assert_eq!(planted_in_the_watched_directory("", false), 0);
}

#[test]
fn with_follow_symlinks_a_linked_file_is_read_through_as_flume_does() {
    let extra = "a1.sources.r1.followSymlinks = true\n";
    assert_eq!(planted_in_the_watched_directory(extra, true), 100);
}

#[test]
fn a_link_planted_in_the_spool_while_stopped_is_refused_and_nothing_is_read_through_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let conf_path = setup(root, "");
    let out = root.join("out");
    let mut agent = start_agent(root, &conf_path, 0);
    let mut want = append(root, 0, 20);
    wait_for_all(&out, &want, &agent);
    assert_eq!(agent.terminate(), Some(0));
    let spool = root.join("pos/.taildir-spool");
    assert!(spool.is_dir(), "the spool holds app.log's link");
    let s = secret(root, "secret-s", 50);
    let m = std::fs::metadata(&s).unwrap();
    let entry = spool
        .join("taildir_position.json")
        .join(format!("{}-{}", m.ino(), m.dev()));
    std::os::unix::fs::symlink(&s, &entry).unwrap();
    let mut agent = start_agent(root, &conf_path, 1);
    wait_refused_or_shipped(&agent, root, "a symbolic link in the TAILDIR spool");
    want.extend(append(root, 20, 40));
    wait_for_all(&out, &want, &agent);
    assert_eq!(agent.terminate(), Some(0));
    assert_eq!(secret_lines(root), 0);
    let log = agent.log_text();
    assert!(log.contains(&entry.display().to_string()), "{log}");
}

#[test]
fn a_spool_directory_that_is_a_symlink_is_refused_and_nothing_is_linked_into_its_target() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let conf_path = setup(root, "");
    let victim = root.join("victim-dir");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::create_dir_all(root.join("pos")).unwrap();
    let spool = root.join("pos/.taildir-spool");
    std::os::unix::fs::symlink(&victim, &spool).unwrap();
    let out = root.join("out");
    let mut agent = start_agent(root, &conf_path, 0);
    let want = append(root, 0, 30);
    wait_for_all(&out, &want, &agent);
    assert_eq!(agent.terminate(), Some(0));
    let made: Vec<_> = std::fs::read_dir(&victim).unwrap().collect();
    assert!(
        made.is_empty(),
        "links made in the victim's directory: {made:?}"
    );
    let log = agent.log_text();
    assert!(
        log.contains("the TAILDIR spool directory is a symbolic link"),
        "{log}"
    );
    assert!(
        log.contains(&format!("{} {REFUSED}", spool.display())),
        "{log}"
    );
}
