//! Exactly once into S3 (issue 46's rule, on the S3 store): netcat → file channel → hdfs sink
//! on `s3a://` (the real store of this binary; files roll every 2 kB, so a batch often rolls
//! and uploads a file the last committed take still had open), the agent killed with SIGKILL
//! while a client keeps sending: at random moments, and in turn held after a delivered batch
//! before its take commits (failpoint `hdfs-sink-delivered`).
//! boto3 then reads every acknowledged line, and every line once: each restart cuts the
//! sink's staged files and uploaded objects back to the last committed take (an uploaded
//! object rewritten to its committed length, newer files and objects removed) and the
//! channel gives those takes again. 6 kills, 20 with `SLUICE_LONG`; `SLUICE_SEED` repeats a
//! run.

use crate::support::multihop::{
    duplicates, free_port, kill_schedule_of, lines, logs_of, spawn_sender, Proc,
};
use crate::support::s3_support::{self, server, Weed, SECRET_KEY};

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::s3_sink::{s3_agent_conf, staged_files};

/// What the agent logs when its sink is held after a delivered batch.
const HELD: &str = "failpoint hdfs-sink-delivered held";
/// Longest wait for the last acknowledged line to reach the bucket.
const WAIT: Duration = Duration::from_secs(120);

/// `kills` SIGKILLs of the agent: at random moments on even rounds, held after a delivered
/// batch on odd ones; each restart set to hold at its N-th delivered batch.
fn kill_rounds(a: &mut Proc, kills: usize, rng: &mut fastrand::Rng) {
    // Holds logged before the current start: counted before each restart, since the new
    // process may hold within milliseconds, before this loop looks again.
    let mut held = 0;
    for i in 0..kills {
        if i % 2 == 0 {
            std::thread::sleep(Duration::from_millis(rng.u64(500..2500)));
        } else {
            // Held after a delivered batch, before its take commits: the batch often rolled
            // (uploaded) a file the last committed take still had open.
            let end = Instant::now() + WAIT;
            while a.log_text().matches(HELD).count() <= held {
                assert!(Instant::now() < end, "never held; log:\n{}", logs_of([&*a]));
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        a.kill9();
        std::thread::sleep(Duration::from_millis(rng.u64(0..800)));
        // The next start holds at its N-th delivered batch (odd rounds wait for it).
        let pass = if i % 2 == 0 && i + 1 < kills {
            rng.u64(2..12)
        } else {
            1_000_000
        };
        a.env = vec![(
            "SLUICE_FAILPOINT".to_owned(),
            format!("hdfs-sink-delivered:{pass}"),
        )];
        held = a.log_text().matches(HELD).count();
        a.restart();
    }
}

/// Waits until `missing` counts nothing of what the bucket holds under `eo/`.
fn wait_in_bucket(w: &Weed, bucket: &str, missing: &dyn Fn(&[String]) -> usize, a: &Proc) {
    let end = Instant::now() + WAIT;
    let mut got = w.cat(bucket, "eo/");
    while missing(&got) > 0 {
        assert!(
            Instant::now() < end,
            "{} acknowledged lines not in the bucket; log:\n{}",
            missing(&got),
            logs_of([a])
        );
        std::thread::sleep(Duration::from_secs(1));
        got = w.cat(bucket, "eo/");
    }
}

#[test]
fn kill_9_rounds_leave_every_acknowledged_line_in_the_bucket_exactly_once() {
    let Some(w) = server() else { return };
    let _turn = s3_support::shared_turn();
    let (kills, _, mut rng) = kill_schedule_of(" (the agent, s3a sink)", 6, 20);
    let tmp = tempfile::tempdir().unwrap();
    let bucket = w.bucket("exactly");
    let conf_dir = w.core_site(tmp.path(), SECRET_KEY);
    let nc = free_port();
    let conf = s3_agent_conf(
        tmp.path(),
        nc,
        &format!("s3a://{bucket}/eo/%Y%m%d"),
        &format!(
            "a1.sinks.k1.hdfs.hdfsConfigDir = {}\na1.sinks.k1.hdfs.fileType = DataStream\n\
             a1.sinks.k1.hdfs.rollInterval = 0\na1.sinks.k1.hdfs.rollCount = 0\n\
             a1.sinks.k1.hdfs.rollSize = 2000\na1.sinks.k1.hdfs.idleTimeout = 2\n\
             a1.sinks.k1.hdfs.retryInterval = 1\n",
            conf_dir.display()
        ),
    );
    let mut a = Proc::start(tmp.path(), "a1", &conf, nc, &[]);
    let done = Arc::new(AtomicBool::new(false));
    let sender = spawn_sender(nc, "x", done.clone());
    kill_rounds(&mut a, kills, &mut rng);
    std::thread::sleep(Duration::from_millis(500));
    done.store(true, Ordering::SeqCst);
    let (acked, sent) = sender.join().unwrap();
    assert!(
        acked.len() >= 100,
        "only {} lines acknowledged",
        acked.len()
    );
    let want: BTreeSet<&str> = acked.iter().map(String::as_str).collect();
    let missing = |got: &[String]| {
        let have: BTreeSet<&str> = got.iter().map(String::as_str).collect();
        want.difference(&have).count()
    };
    wait_in_bucket(w, &bucket, &missing, &a);
    assert_eq!(a.terminate(), Some(0), "{}", logs_of([&a]));
    let got = w.cat(&bucket, "eo/");
    assert_eq!(missing(&got), 0);
    let sent: BTreeSet<String> = lines("x", 0..sent).into_iter().collect();
    assert!(
        got.iter().all(|l| sent.contains(l)),
        "a torn or foreign line in an object"
    );
    let left = staged_files(&tmp.path().join("staging"));
    assert!(left.is_empty(), "staged files left: {left:?}");
    assert_eq!(w.pending_uploads(&bucket), 0, "a multipart upload left");
    let log = logs_of([&a]);
    let twice = duplicates(&got);
    eprintln!(
        "{kills} kills on s3a: {} lines acknowledged, {} read back, {twice} duplicates, {} cut backs at start, {} objects rewritten",
        acked.len(),
        got.len(),
        log.matches("output cut back to the last committed take at start").count(),
        log.matches("cut an uploaded object back").count()
    );
    assert_eq!(twice, 0, "lines written twice; log:\n{log}");
}
