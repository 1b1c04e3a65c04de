//! TAILDIR fed a trickle of lines (one every 30 ms, so the source finds nothing to read
//! between any two): the position file is not made durable after every batch. The durable
//! writes are the ones that also replace `<positionFile>.fingerprints`, so the test counts
//! that file's replacements while the lines come (every batch's durable write would give one per
//! line), then checks that once the lines stop the source still writes it durably, at the
//! file's end, when it has gone quiet.

use crate::support::file_sources_support;

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::taildir_edges::taildir_conf;
use file_sources_support::{start_agent, wait_for_all, WAIT};

const LINES: usize = 60;

/// The fingerprint file's position for the one file tailed (0 when there is none yet).
fn fingerprint_pos(path: &Path) -> u64 {
    let Ok(bytes) = std::fs::read(path) else {
        return 0;
    };
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    v.get(0)
        .and_then(|f| f.get("pos"))
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0)
}

#[test]
fn trickle_makes_the_position_durable_when_quiet_not_per_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let logs = root.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let conf_path = root.join("agent.properties");
    std::fs::write(&conf_path, taildir_conf(root, "")).unwrap();
    let app = logs.join("app.log");
    let mut f = std::fs::File::create(&app).unwrap();
    writeln!(f, "first").unwrap();
    let agent = start_agent(root, &conf_path, 0);
    wait_for_all(&root.join("out"), &["first".to_string()], &agent);
    let fps = root.join("taildir_position.json.fingerprints");

    // Count the fingerprint file's replacements while the lines trickle in.
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (fps, stop) = (fps.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut inodes = std::collections::HashSet::new();
            while !stop.load(Ordering::Relaxed) {
                // Inode numbers come back once freed: a replacement is a new (inode, ctime).
                if let Ok(m) = std::fs::metadata(&fps) {
                    inodes.insert((m.ino(), m.ctime(), m.ctime_nsec()));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            inodes.len()
        })
    };
    let mut want = vec!["first".to_string()];
    for i in 0..LINES {
        let line = format!("trickle-{i:03}");
        writeln!(f, "{line}").unwrap();
        want.push(line);
        std::thread::sleep(Duration::from_millis(30));
    }
    wait_for_all(&root.join("out"), &want, &agent);
    stop.store(true, Ordering::Relaxed);
    let replaced = watcher.join().unwrap();
    // Per batch it would be about one per line (61 for 60); `writePosInterval` (3 s) gives
    // one or two, and each pause of this writer past 250 ms on a loaded machine one more.
    assert!(
        replaced <= 15,
        "the fingerprint file was replaced {replaced} times for {LINES} lines a batch each: \
         the position file is made durable per batch"
    );

    // Quiet now: the next idle trips write it durably, at the end of the file.
    let end = std::fs::metadata(&app).unwrap().len();
    let deadline = Instant::now() + WAIT;
    while fingerprint_pos(&fps) != end {
        assert!(
            Instant::now() < deadline,
            "the fingerprint file never reached the file's end {end} (at {}) once the source was quiet",
            fingerprint_pos(&fps)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(agent);
}
