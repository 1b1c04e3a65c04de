//! The SIGKILL schedule the two-tier kill tests share: how many kills and which seed
//! (`SLUICE_LONG`, `SLUICE_SEED`), a netcat sender that keeps sending batches of 20 lines and
//! records what the edge acknowledged, the kills themselves (collector and edge in turn), and
//! the final check that every acknowledged line reached the collector's output, and only once.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::{duplicates, lines, wait_for_all, Client, Proc};

/// 10 kills (issue 46: at least 10 rounds in CI), 20 with `SLUICE_LONG`; the seed from
/// `SLUICE_SEED` or a fresh one (printed).
pub fn kill_schedule(what: &str) -> (usize, u64, fastrand::Rng) {
    kill_schedule_of(what, 10, 20)
}

/// `short` kills, `long` with `SLUICE_LONG`; the seed as [`kill_schedule`]'s.
pub fn kill_schedule_of(what: &str, short: usize, long: usize) -> (usize, u64, fastrand::Rng) {
    let kills = if crate::support::long_runs::long_runs() {
        long
    } else {
        short
    };
    let seed: u64 = std::env::var("SLUICE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("seed {seed}, {kills} kills{what}");
    (kills, seed, fastrand::Rng::with_seed(seed))
}

/// A sender of lines `prefix-N` to the netcat source on `port`, 20 per batch, reconnecting
/// when the edge dies, until `done`; joins to (the lines acknowledged, how many were sent).
pub fn spawn_sender(
    port: u16,
    prefix: &'static str,
    done: Arc<AtomicBool>,
) -> JoinHandle<(Vec<String>, usize)> {
    std::thread::spawn(move || {
        let (mut acked, mut next, mut client) = (Vec::new(), 0, None);
        for _ in 0..100_000 {
            if done.load(Ordering::SeqCst) {
                break;
            }
            let Some(c) = client.as_mut() else {
                client = Client::connect(port).ok();
                if client.is_none() {
                    std::thread::sleep(Duration::from_millis(50));
                }
                continue;
            };
            let batch = lines(prefix, next..next + 20);
            next += 20;
            let ok = c.send(&batch);
            acked.extend_from_slice(&batch[..ok]);
            if ok < batch.len() {
                client = None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        (acked, next)
    })
}

/// Kills the collector and the edge in turn, `kills` times, each after 0.3–1.5 s of work, and
/// restarts each after up to 0.8 s.
pub fn kill_in_turn(rng: &mut fastrand::Rng, kills: usize, collector: &mut Proc, edge: &mut Proc) {
    for i in 0..kills {
        std::thread::sleep(Duration::from_millis(rng.u64(300..1500)));
        let victim = if i % 2 == 0 {
            &mut *collector
        } else {
            &mut *edge
        };
        eprintln!("kill -9 {}", victim.name);
        victim.kill9();
        std::thread::sleep(Duration::from_millis(rng.u64(0..800)));
        victim.restart();
    }
}

/// Stops the sender and checks the outcome: at least 100 lines acknowledged, every one of
/// them in `out` (waiting for the agents to deliver), nothing there that was not sent.
pub fn stop_and_check(
    sender: JoinHandle<(Vec<String>, usize)>,
    done: &AtomicBool,
    prefix: &str,
    out: PathBuf,
    procs: &[&Proc],
) {
    std::thread::sleep(Duration::from_millis(500));
    done.store(true, Ordering::SeqCst);
    let (acked, sent) = sender.join().unwrap();
    assert!(
        acked.len() >= 100,
        "only {} lines acknowledged",
        acked.len()
    );
    let got = wait_for_all(&[out], &acked, procs);
    let sent: BTreeSet<String> = lines(prefix, 0..sent).into_iter().collect();
    assert!(
        got.iter().all(|l| sent.contains(l)),
        "only sent lines arrive"
    );
    let twice = duplicates(&got);
    eprintln!(
        "{} lines acknowledged, {} written, {twice} duplicates, 0 lost",
        acked.len(),
        got.len(),
    );
    // File channels on both tiers: the collector drops the batches the edge sends again
    // (event ids), and its file_roll sink cuts its file back to the last committed take.
    assert_eq!(twice, 0, "lines written twice (docs/exactly-once.md)");
}
