//! Adopting a real Flume 1.11 file channel (`shared/reference/flume-channel/`) with the real
//! binary: `sluice channel adopt` (dry run, new directories, an encrypted channel with its
//! JCEKS keystore, kill -9 at a random moment and a rerun, a live Flume's lock refused), and an
//! agent whose file channel sets `adoptFlumeChannel = true` delivering exactly what Flume
//! itself delivered from the same files, in its order.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::agent_proc::Proc;
use crate::support::cli_support::{free_port, outcome, sluice};
use crate::support::java_support::reference;
use crate::support::lines_support::written;
use crate::support::wait::wait_until;

pub(super) fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A copy of fixture `name` in a temporary directory.
pub(super) fn fixture(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&reference().join("flume-channel").join(name), tmp.path());
    std::fs::create_dir_all(tmp.path().join("checkpoint")).unwrap();
    tmp
}

fn truth(name: &str) -> Vec<String> {
    let t = reference()
        .join("flume-channel")
        .join(name)
        .join("truth.txt");
    std::fs::read_to_string(t)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

const FLUME: [&str; 4] = [
    "--flume-checkpoint-dir",
    "checkpoint",
    "--flume-data-dirs",
    "data",
];
const TARGET: [&str; 4] = [
    "--checkpoint-dir",
    "new/checkpoint",
    "--data-dirs",
    "new/d1,new/d2",
];

/// Every body in the new channel, taken in order.
fn take_all(dir: &Path) -> Vec<String> {
    let out = sluice(
        dir,
        &[&["channel", "take"][..], &TARGET, &["--max", "100000"]].concat(),
    );
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!(code, 0, "{stderr}");
    stdout.lines().map(str::to_owned).collect()
}

/// The first index where `got` and `want` differ, for a short message.
fn same(got: &[String], want: &[String]) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{} events instead of {}", got.len(), want.len()));
    }
    match (0..got.len()).find(|i| got[*i] != want[*i]) {
        None => Ok(()),
        Some(i) => Err(format!("event {i}: {:?} instead of {:?}", got[i], want[i])),
    }
}

#[test]
fn a_dry_run_reports_what_flume_left_queued_and_writes_nothing() {
    let tmp = fixture("kill9-midstream");
    let out = sluice(
        tmp.path(),
        &[&["channel", "adopt", "--dry-run"][..], &FLUME].concat(),
    );
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let n = truth("kill9-midstream").len();
    assert!(stdout.contains(&format!("events: {n} (")), "{stdout}");
    assert!(
        stdout.contains("in-flight takes returned to the head: 40"),
        "{stdout}"
    );
    assert!(stdout.contains("replayed from the checkpoint"), "{stdout}");
    assert!(!tmp.path().join("new").exists());
}

#[test]
fn an_encrypted_flume_channel_is_adopted_with_its_jceks_keystore_in_flumes_order() {
    let tmp = fixture("encrypted");
    let keys = [
        "--flume-keystore-file",
        "keys/keystore.jceks",
        "--flume-keystore-password-file",
        "keys/keystore.password",
        "--flume-keys",
        "key-0 key-1",
        "--flume-key-password-file",
        "key-1=keys/key-1.password",
    ];
    // Into a channel without keys of its own: plaintext, which only the flag allows.
    let out = sluice(
        tmp.path(),
        &[
            &["channel", "adopt"][..],
            &FLUME,
            &TARGET,
            &keys,
            &["--allow-plaintext"],
        ]
        .concat(),
    );
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let want = truth("encrypted");
    assert!(
        stdout.contains(&format!("adopted {} events", want.len())),
        "{stdout}"
    );
    assert!(stdout.contains("key key-1"), "{stdout}");
    same(&take_all(tmp.path()), &want).unwrap();
    // Without the keys: refused, naming the alias, and nothing adopted.
    let tmp = fixture("encrypted");
    let out = sluice(
        tmp.path(),
        &[&["channel", "adopt"][..], &FLUME, &TARGET].concat(),
    );
    let (code, _, stderr) = outcome(&out);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("key-0") || stderr.contains("key-1"),
        "{stderr}"
    );
}

/// Starts `sluice ARGS` in `dir`, kills it (SIGKILL) after `delay_ms`, then runs it again to
/// the end and asserts the rerun succeeded.
fn kill_then_rerun(dir: &Path, args: &[&str], delay_ms: u64, round: usize) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(delay_ms));
    let _ = child.kill();
    let _ = child.wait();
    let (code, stdout, stderr) = outcome(&sluice(dir, args));
    assert_eq!(code, 0, "round {round}: {stdout}{stderr}");
}

#[test]
fn an_adoption_killed_at_a_random_moment_and_rerun_queues_every_event_once() {
    let want = truth("clean-stop");
    for (round, delay_ms) in [3u64, 15, 40, 90, 200].into_iter().enumerate() {
        let tmp = fixture("clean-stop");
        let args = [&["channel", "adopt"][..], &FLUME, &TARGET].concat();
        kill_then_rerun(tmp.path(), &args, delay_ms, round);
        same(&take_all(tmp.path()), &want)
            .unwrap_or_else(|e| panic!("round {round} (kill after {delay_ms} ms): {e}"));
    }
}

#[test]
fn an_in_place_adoption_killed_at_a_random_moment_and_rerun_gives_the_same_channel() {
    let want = truth("two-datadirs");
    for (round, delay_ms) in [2u64, 10, 25, 60, 150].into_iter().enumerate() {
        let tmp = fixture("two-datadirs");
        kill_then_rerun(tmp.path(), &ADOPT_TWO_DIRS, delay_ms, round);
        same(&take_two_dirs(tmp.path()), &want)
            .unwrap_or_else(|e| panic!("round {round} (kill after {delay_ms} ms): {e}"));
    }
}

/// `channel adopt --in-place` of the `two-datadirs` fixture.
const ADOPT_TWO_DIRS: [&str; 7] = [
    "channel",
    "adopt",
    "--in-place",
    "--flume-checkpoint-dir",
    "checkpoint",
    "--flume-data-dirs",
    "data-1,data-2",
];

/// Every event the adopted `two-datadirs` channel gives back (`channel take`).
fn take_two_dirs(dir: &Path) -> Vec<String> {
    let take = [
        "channel",
        "take",
        "--checkpoint-dir",
        "checkpoint",
        "--data-dirs",
        "data-1,data-2",
        "--max",
        "100000",
    ];
    let (code, got, stderr) = outcome(&sluice(dir, &take));
    assert_eq!(code, 0, "{stderr}");
    got.lines().map(str::to_owned).collect()
}

/// A kill after `adopt.done` was written and before `adopt.state` was removed (the window the
/// random kills above can hit): the rerun finishes the adoption instead of reading it as done.
#[test]
fn a_rerun_after_a_kill_between_done_and_state_removal_finishes_the_adoption() {
    let want = truth("two-datadirs");
    let tmp = fixture("two-datadirs");
    let (code, stdout, stderr) = outcome(&sluice(tmp.path(), &ADOPT_TWO_DIRS));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let ckpt = tmp.path().join("checkpoint");
    let done = std::fs::read_to_string(ckpt.join("adopt.done")).unwrap();
    let events = done.split_whitespace().nth(1).unwrap().to_owned();
    let folder = std::fs::read_dir(tmp.path().join("data-1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("flume-adopted-"))
        .unwrap();
    std::fs::write(
        ckpt.join("adopt.state"),
        format!("raising {folder} {events}\n"),
    )
    .unwrap();
    let (code, stdout, stderr) = outcome(&sluice(tmp.path(), &ADOPT_TWO_DIRS));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("finished an interrupted adoption"),
        "{stdout}"
    );
    assert!(!ckpt.join("adopt.state").exists());
    same(&take_two_dirs(tmp.path()), &want).unwrap();
}

#[test]
fn verify_flume_reports_a_flume_channel_without_writing() {
    let tmp = fixture("two-datadirs");
    let out = sluice(
        tmp.path(),
        &[
            "channel",
            "verify",
            "--flume",
            "--checkpoint-dir",
            "checkpoint",
            "--data-dirs",
            "data-1,data-2",
        ],
    );
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let n = truth("two-datadirs").len();
    assert!(stdout.contains(&format!("events: {n} (")), "{stdout}");
    assert!(!tmp.path().join("checkpoint/.sluice-adopt").exists());
}

/// Issue 87 (item 15): `channel inspect` on a Flume channel's directories advised
/// `adoptFlumeChannel = true`, which this tool never reads (the same refusal again); it names
/// the commands that do read it, and the one it names works.
#[test]
fn inspect_of_a_flume_channel_names_a_command_that_reads_it() {
    let tmp = fixture("two-datadirs");
    let dirs = [
        "--checkpoint-dir",
        "checkpoint",
        "--data-dirs",
        "data-1,data-2",
    ];
    let out = sluice(tmp.path(), &[&["channel", "inspect"][..], &dirs].concat());
    let (code, stdout, stderr) = outcome(&out);
    assert_ne!(code, 0, "{stdout}{stderr}");
    assert!(
        !stderr.contains("set adoptFlumeChannel = true on this channel"),
        "{stderr}"
    );
    // The command it names, run as printed, reads the channel.
    let named = stderr
        .split('`')
        .find(|c| c.starts_with("sluice channel adopt --flume-checkpoint-dir "))
        .unwrap_or_else(|| panic!("no adopt command named: {stderr}"));
    let args: Vec<&str> = named.split_whitespace().skip(1).collect();
    let out = sluice(tmp.path(), &args);
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!(code, 0, "{named}: {stdout}{stderr}");
    assert!(stdout.contains("events: "), "{stdout}");
}

#[test]
fn a_flume_still_holding_its_lock_is_refused() {
    let tmp = fixture("clean-stop");
    let lock = tmp.path().join("data/in_use.lock");
    std::fs::write(&lock, b"").unwrap();
    // Java's FileChannel.lock is an fcntl lock: hold one as a live Flume does.
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import fcntl,sys,time;f=open(sys.argv[1],'r+');fcntl.lockf(f,fcntl.LOCK_EX);print('held',flush=True);time.sleep(60)",
        ])
        .arg(&lock)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let out = sluice(
        tmp.path(),
        &[&["channel", "adopt"][..], &FLUME, &TARGET].concat(),
    );
    let _ = holder.kill();
    let _ = holder.wait();
    let (code, _, stderr) = outcome(&out);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("locked by process"), "{stderr}");
    assert!(!tmp.path().join("new/checkpoint").exists());
}

/// Waits until `agent` has written as many lines into `root/out` as fixture `name`'s truth
/// holds, stops it, and checks they are the truth in Flume's order and that it said it
/// adopted; returns its log.
fn delivers_in_flumes_order(root: &Path, agent: &mut Proc, name: &str) -> String {
    let want = truth(name);
    let out: PathBuf = root.join("out");
    wait_until(
        Duration::from_secs(60),
        || written(&out).len() >= want.len(),
        || {
            format!(
                "{} of {} delivered:\n{}",
                written(&out).len(),
                want.len(),
                agent.log_text()
            )
        },
    );
    agent.stop();
    same(&written(&out), &want).unwrap();
    let log = agent.log_text();
    assert!(
        log.contains("adopted the Apache Flume file channel"),
        "{log}"
    );
    log
}

/// An agent whose file channel is the fixture's Flume channel, draining into `out/`.
fn agent_conf(root: &Path, port: u16, adopt: bool) -> String {
    let p = |s: &str| root.join(s).display().to_string();
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {}\n\
         a1.channels.c1.dataDirs = {}\na1.channels.c1.adoptFlumeChannel = {adopt}\n\
         a1.channels.c1.eventIds = false\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {}\na1.sinks.k1.sink.rollInterval = 0\n",
        p("checkpoint"),
        p("data"),
        p("out"),
    )
}

#[test]
fn an_agent_with_adopt_flume_channel_delivers_what_flume_would_have_in_its_order() {
    let tmp = fixture("kill9-midstream");
    let root = tmp.path().to_path_buf();
    std::fs::create_dir_all(root.join("out")).unwrap();
    // Without the key the agent refuses the directories and names the key and the command.
    let port = free_port();
    let mut refused = Proc::spawn(&root, "a1", &agent_conf(&root, port, false), vec![], None);
    let code = refused.wait_exit();
    let log = refused.log_text();
    assert_ne!(code, Some(0), "{log}");
    assert!(log.contains("adoptFlumeChannel = true"), "{log}");
    assert!(log.contains("sluice channel adopt"), "{log}");
    let port = free_port();
    let mut agent = Proc::spawn(
        &root,
        "a1",
        &agent_conf(&root, port, true),
        vec![],
        Some(port),
    );
    delivers_in_flumes_order(&root, &mut agent, "kill9-midstream");
    let moved: Vec<_> = std::fs::read_dir(root.join("data"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("flume-adopted-")
        })
        .collect();
    assert_eq!(moved.len(), 1, "Flume's files are kept in one folder");
}

/// Issue 65: the `encrypted` fixture's own `encryption.*` lines, as Flume was given them
/// (relative paths, the agent started in the fixture's folder), with `adoptFlumeChannel`: the
/// agent reads Flume's AES-CTR logs with those keys, delivers what Flume would have, and
/// the events it moved are sealed with the active key.
#[test]
fn an_agent_adopts_an_encrypted_flume_channel_with_its_own_encryption_keys() {
    let tmp = fixture("encrypted");
    let root = tmp.path().to_path_buf();
    std::fs::create_dir_all(root.join("out")).unwrap();
    let drain = std::fs::read_to_string(root.join("drain.conf")).unwrap();
    let keys: String = drain
        .lines()
        .filter(|l| l.contains(".channels.c1.encryption."))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(keys.lines().count(), 7, "{drain}");
    let port = free_port();
    let conf = agent_conf(&root, port, true) + &keys;
    let mut agent = Proc::builder(&root)
        .conf_text(&conf)
        .cwd(&root)
        .ready_port(port)
        .spawn();
    let log = delivers_in_flumes_order(&root, &mut agent, "encrypted");
    assert!(log.contains("AES-256-GCM"), "{log}");
    let mut sealed = 0;
    for e in std::fs::read_dir(root.join("data")).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("log-"))
        {
            let b = std::fs::read(&p).unwrap();
            assert_eq!(
                b.get(8..12),
                Some(&[3u8, 0, 0, 0][..]),
                "{} is not sealed",
                p.display()
            );
            assert!(
                !b.windows(13).any(|w| w == b"pub:encrypted"),
                "{} holds plaintext",
                p.display()
            );
            sealed += 1;
        }
    }
    assert!(sealed > 0, "no sealed segment");
}
