//! Crash tests of the file sources with the real `sluice agent` and `kill -9`: spooldir over
//! many files, and TAILDIR while a writer appends and rotates (rename and copytruncate) at
//! random; both into a file channel and file_roll. Afterwards every input line is in the
//! output: the lines carry event ids (read again after a crash, the file channel drops them)
//! and file_roll cuts its output back to the last committed take (docs/exactly-once.md).
//! Spooldir writes every line once; TAILDIR too, but for a file killed before its first
//! fingerprint was saved (younger than `writePosInterval`), whose lines read again get a fresh
//! origin: at most a source batch per kill. A few rounds by default, more with
//! `SLUICE_LONG=1`.

use crate::support::file_sources_support;

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use file_sources_support::{
    channel_and_sink, duplicates, rounds, start_agent, wait_for_all, wait_until, written,
};

const SOURCE_BATCH: usize = 100;
const SINK_BATCH: usize = 100;

/// Drops a file into the spool directory atomically (written under a hidden name first).
fn drop_file(spool: &Path, name: &str, lines: &[String]) {
    let tmp = spool.join(format!(".{name}.tmp"));
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, spool.join(name)).unwrap();
}

#[test]
fn spooldir_loses_no_line_across_kill_9_rounds() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let spool = root.join("spool");
    std::fs::create_dir(&spool).unwrap();
    let kills = rounds(3, 12);
    let (files, per_file) = if kills > 3 { (300, 1000) } else { (60, 250) };
    let mut want = Vec::new();
    let mut next_file = 0;
    let mut add = |n: usize, want: &mut Vec<String>| {
        for _ in 0..n {
            let lines: Vec<String> = (0..per_file)
                .map(|j| format!("f{next_file:04}-l{j:05}"))
                .collect();
            drop_file(&spool, &format!("f{next_file:04}.log"), &lines);
            want.extend(lines);
            next_file += 1;
        }
    };
    add(files / 2, &mut want);
    let conf = root.join("agent.properties");
    std::fs::write(
        &conf,
        format!(
            "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
             a1.sources.r1.type = spooldir\na1.sources.r1.channels = c1\n\
             a1.sources.r1.spoolDir = {}\na1.sources.r1.batchSize = {SOURCE_BATCH}\n\
             a1.sources.r1.pollDelay = 50\n{}",
            spool.display(),
            channel_and_sink(root, SINK_BATCH)
        ),
    )
    .unwrap();
    let out = root.join("out");
    for round in 0..kills {
        let mut agent = start_agent(root, &conf, round);
        // Kill after a random amount of progress.
        let target = written(&out).len() + 200 + fastrand::usize(0..2000);
        let end = Instant::now() + Duration::from_secs(20);
        while written(&out).len() < target.min(want.len()) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(fastrand::u64(1..20)));
        }
        agent.kill9();
        if round == 0 {
            add(files - files / 2, &mut want);
        }
    }
    let mut agent = start_agent(root, &conf, kills);
    let counts = wait_for_all(&out, &want, &agent);
    wait_until(|| uncompleted(&spool).is_empty());
    agent.terminate();
    let dups = duplicates(&counts);
    eprintln!(
        "spooldir: {} lines, {kills} kills, {dups} duplicates",
        want.len()
    );
    assert!(
        counts.keys().all(|l| want.binary_search(l).is_ok()),
        "only input lines are written"
    );
    assert_eq!(dups, 0, "lines written twice (docs/exactly-once.md)");
    let left = uncompleted(&spool);
    assert!(left.is_empty(), "files not completed: {left:?}");
}

/// Spool files not yet completed.
fn uncompleted(spool: &Path) -> Vec<String> {
    std::fs::read_dir(spool)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && !n.ends_with(".COMPLETED"))
        .collect()
}

/// Whether the position file shows `path` read and committed to its end.
fn caught_up(pos_file: &Path, path: &Path) -> bool {
    let Ok(m) = std::fs::metadata(path) else {
        return false;
    };
    let Ok(text) = std::fs::read(pos_file) else {
        return false;
    };
    let Ok(entries) = serde_json::from_slice::<Vec<serde_json::Value>>(&text) else {
        return false;
    };
    entries
        .iter()
        .any(|e| e["inode"].as_u64() == Some(m.ino()) && e["pos"].as_u64() == Some(m.len()))
}

fn taildir_conf(root: &Path) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = TAILDIR\na1.sources.r1.channels = c1\n\
         a1.sources.r1.positionFile = {r}/taildir_position.json\n\
         a1.sources.r1.filegroups = f1\n\
         a1.sources.r1.filegroups.f1 = {r}/logs/app\\\\.log(\\\\.[0-9]+)?\n\
         a1.sources.r1.batchSize = {SOURCE_BATCH}\na1.sources.r1.maxBackoffSleep = 200\n\
         a1.sources.r1.backoffSleepIncrement = 50\n{}",
        channel_and_sink(root, SINK_BATCH),
        r = root.display()
    )
}

/// What the writer thread and the kill rounds share.
#[derive(Clone, Default)]
struct Shared {
    /// The writer holds this lock while it copytruncates and until the agent noticed, so a
    /// kill never falls into the window where copytruncate itself loses data (for any
    /// follower: the rest of the old file is only in the unfollowed copy).
    rotation: Arc<Mutex<()>>,
    /// Whether an agent runs (a copytruncate waits for it to catch up).
    agent_up: Arc<AtomicBool>,
    /// Lines written so far.
    written_lines: Arc<AtomicUsize>,
    /// Rotations by rename and by copytruncate.
    stats: Arc<Mutex<(usize, usize)>>,
}

/// Appends `total` lines to `logs/app.log` in bursts, rotating it every 500-3000 lines by
/// rename or (when the agent is up and caught up) by copytruncate.
fn write_rotating(logs: &Path, pos_file: &Path, total: usize, sh: &Shared) {
    let app = logs.join("app.log");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&app)
        .unwrap();
    let mut n = 0usize;
    let mut rotated = 0usize;
    let mut next_rotation = fastrand::usize(500..3000);
    while n < total {
        let burst = fastrand::usize(1..60).min(total - n);
        let mut text = String::new();
        for _ in 0..burst {
            text.push_str(&format!(
                "w-{n:07}-{}\n",
                "x".repeat(fastrand::usize(0..80))
            ));
            n += 1;
        }
        f.write_all(text.as_bytes()).unwrap();
        sh.written_lines.store(n, Ordering::SeqCst);
        if n >= next_rotation {
            next_rotation = n + fastrand::usize(500..3000);
            rotated += 1;
            rotate(&mut f, logs, pos_file, rotated, sh);
        }
        std::thread::sleep(Duration::from_micros(fastrand::u64(100..2000)));
    }
}

/// One rotation of `app.log`, under the rotation lock.
fn rotate(f: &mut std::fs::File, logs: &Path, pos_file: &Path, rotated: usize, sh: &Shared) {
    let app = logs.join("app.log");
    let guard = sh.rotation.lock().unwrap();
    if fastrand::bool() && sh.agent_up.load(Ordering::SeqCst) && {
        let end = Instant::now() + Duration::from_secs(5);
        while !caught_up(pos_file, &app) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
        }
        caught_up(pos_file, &app)
    } {
        // copytruncate: copy to a name outside the pattern, truncate in place.
        std::fs::copy(&app, logs.join(format!("copy-{rotated}"))).unwrap();
        f.set_len(0).unwrap();
        let m = std::fs::metadata(&app).unwrap();
        let end = Instant::now() + Duration::from_secs(5);
        // Wait until the agent saw the truncation (its position went back).
        while !caught_up(pos_file, &app) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = m;
        sh.stats.lock().unwrap().1 += 1;
    } else {
        // rename rotation: the old file keeps matching the pattern.
        std::fs::rename(&app, logs.join(format!("app.log.{rotated}"))).unwrap();
        *f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&app)
            .unwrap();
        sh.stats.lock().unwrap().0 += 1;
    }
    drop(guard);
}

/// `kills` rounds: an agent runs until a few hundred to a few thousand more lines are out,
/// then is killed with SIGKILL (never inside a copytruncate).
fn kill_rounds(root: &Path, conf: &Path, kills: usize, sh: &Shared) {
    let out = root.join("out");
    for round in 0..kills {
        let mut agent = start_agent(root, conf, round);
        sh.agent_up.store(true, Ordering::SeqCst);
        let target = written(&out).len() + 500 + fastrand::usize(0..3000);
        let end = Instant::now() + Duration::from_secs(20);
        while written(&out).len() < target && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(fastrand::u64(1..20)));
        }
        let guard = sh.rotation.lock().unwrap();
        sh.agent_up.store(false, Ordering::SeqCst);
        agent.kill9();
        drop(guard);
    }
}

/// Every line of every file in `logs`, sorted, once.
fn lines_in(logs: &Path) -> Vec<String> {
    let mut counts = std::collections::BTreeSet::new();
    for l in std::fs::read_dir(logs).unwrap() {
        let p = l.unwrap().path();
        for line in std::fs::read_to_string(&p).unwrap().lines() {
            counts.insert(line.to_owned());
        }
    }
    counts.into_iter().collect()
}

#[test]
fn taildir_loses_no_line_across_kill_9_rounds_while_files_rotate() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let logs = root.join("logs");
    std::fs::create_dir(&logs).unwrap();
    let kills = rounds(3, 12);
    let total = if kills > 3 { 300_000 } else { 30_000 };
    let conf = root.join("agent.properties");
    std::fs::write(&conf, taildir_conf(&root)).unwrap();
    let pos_file = root.join("taildir_position.json");
    let sh = Shared::default();
    let writer = {
        let (logs, pos_file, sh) = (logs.clone(), pos_file.clone(), sh.clone());
        std::thread::spawn(move || write_rotating(&logs, &pos_file, total, &sh))
    };
    kill_rounds(&root, &conf, kills, &sh);
    let out = root.join("out");
    let mut agent = start_agent(&root, &conf, kills);
    sh.agent_up.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    let want = lines_in(&logs);
    assert_eq!(
        want.len(),
        total,
        "the writer's lines are all in the log files"
    );
    let counts = wait_for_all(&out, &want, &agent);
    agent.terminate();
    let dups = duplicates(&counts);
    let (renames, truncations) = *sh.stats.lock().unwrap();
    eprintln!(
        "taildir: {total} lines, {kills} kills, {renames} renames, {truncations} copytruncates, {dups} duplicates"
    );
    assert!(
        counts.keys().all(|l| want.binary_search(l).is_ok()),
        "only input lines are written"
    );
    assert!(
        dups <= kills * SOURCE_BATCH,
        "{dups} duplicates exceed one source batch per kill (docs/exactly-once.md)"
    );
    assert_eq!(sh.written_lines.load(Ordering::SeqCst), total);
}
