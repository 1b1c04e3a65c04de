//! A benchmark of issue 81's channel scenario, behind `SLUICE_BYTE_BOUND_BENCH=1`: a file
//! channel on the real disk is filled (events of 200-500 bytes) until it refuses, then drained
//! by a taker at full speed while a putter keeps putting `PUT_RATE` events a second, for
//! `SLUICE_BENCH_SECS` seconds (30). A monitor lists the channel's directories every 25 ms; the
//! peak is printed against `capacityBytes` (`SLUICE_BENCH_BOUND`, e.g. `256m`; `0` runs
//! without a byte bound, as before it: compare). Command and figures: docs/performance.md, "A
//! byte bound on the file channel".

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_core::io::StdFs;
use sluice_core::{ChannelError, Event, FileChannel, FileChannelConfig};

/// Events a second the putter offers once the channel is full (issue 81: 10,000 lines/s).
const PUT_RATE: u64 = 10_000;
/// Events per transaction, put and take.
const BATCH: usize = 100;

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

fn config(dir: &Path, bound: u64) -> FileChannelConfig {
    let mut c = FileChannelConfig::with_dirs(dir.join("checkpoint"), vec![dir.join("data")]);
    c.capacity = 600_000;
    c.transaction_capacity = 1_000;
    c.capacity_bytes = bound;
    c.keep_alive = Duration::from_millis(100);
    c.minimum_required_space_bytes = 1 << 20;
    c
}

/// Puts batches of events of 200-500 bytes, at most `rate` a second once `paced` is set
/// (unpaced before), retrying a refused batch; until `stop`.
fn putter(ch: FileChannel, paced: Arc<AtomicBool>, stop: Arc<AtomicBool>, refused: Arc<AtomicU64>) {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = 0u64;
    let mut pace_from: Option<(Instant, u64)> = None;
    while !stop.load(Ordering::Relaxed) {
        if paced.load(Ordering::Relaxed) {
            let (t0, n0) = *pace_from.get_or_insert((Instant::now(), next));
            let due = t0 + Duration::from_micros((next - n0) * 1_000_000 / PUT_RATE);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        let mut tx = ch.transaction();
        let mut ok = true;
        for i in 0..BATCH as u64 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let len = 200 + (seed >> 33) as usize % 301;
            let mut body = format!("{:012} ", next + i).into_bytes();
            body.resize(len, b'x');
            if let Err(e) = tx.put(Event::new(body)) {
                assert!(e.is_backpressure(), "put failed: {e}");
                ok = false;
                break;
            }
        }
        if !ok {
            tx.rollback();
            refused.fetch_add(1, Ordering::Relaxed);
            paced.store(true, Ordering::Relaxed);
            continue;
        }
        match tx.commit() {
            Ok(()) => next += BATCH as u64,
            Err(e) => panic!("commit failed: {e}"),
        }
    }
}

/// Takes batches as fast as it can until `stop`; the events taken.
fn taker(ch: FileChannel, stop: Arc<AtomicBool>) -> u64 {
    let mut taken = 0;
    while !stop.load(Ordering::Relaxed) {
        let mut tx = ch.transaction();
        let mut n = 0;
        while n < BATCH {
            match tx.take() {
                Ok(Some(_)) => n += 1,
                Ok(None) => break,
                Err(ChannelError::TransactionFull { .. }) => break,
                Err(e) => panic!("take failed: {e}"),
            }
        }
        tx.commit().expect("take commit");
        taken += n as u64;
        if n == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    taken
}

#[test]
fn byte_bound_benchmark_of_a_full_channel_drained_while_filled() {
    if env("SLUICE_BYTE_BOUND_BENCH").is_none() {
        return;
    }
    let bound = env("SLUICE_BENCH_BOUND").map_or(256 << 20, |v| {
        sluice_core::parse_size("SLUICE_BENCH_BOUND", &v).expect("a size")
    });
    let secs: u64 = env("SLUICE_BENCH_SECS").map_or(30, |v| v.parse().expect("seconds"));
    let base: PathBuf = env("SLUICE_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let tmp = tempfile::tempdir_in(base).expect("bench dir");
    let dir = tmp.path().to_path_buf();
    let ch = FileChannel::open_with_fs(config(&dir, bound), Arc::new(StdFs)).expect("open");
    let (paced, stop, refused) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let put = {
        let (ch, p, s, r) = (ch.clone(), paced.clone(), stop.clone(), refused.clone());
        std::thread::spawn(move || putter(ch, p, s, r))
    };
    let t0 = Instant::now();
    let mut peak = 0u64;
    let cfg = config(&dir, bound);
    let look = |peak: &mut u64| {
        let b = crate::byte_bound::disk_bytes(&StdFs, &cfg).unwrap_or(0);
        *peak = (*peak).max(b);
    };
    while !paced.load(Ordering::Relaxed) {
        look(&mut peak);
        std::thread::sleep(Duration::from_millis(25));
    }
    let full = (ch.stats().queued, t0.elapsed());
    let take = {
        let (ch, s) = (ch.clone(), stop.clone());
        std::thread::spawn(move || taker(ch, s))
    };
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        look(&mut peak);
        std::thread::sleep(Duration::from_millis(25));
    }
    stop.store(true, Ordering::Relaxed);
    put.join().expect("putter");
    let taken = take.join().expect("taker");
    let s = ch.stats();
    ch.close().expect("close");
    let ratio = if bound == 0 {
        "no byte bound".to_owned()
    } else {
        format!("{:.3}x the bound", peak as f64 / bound as f64)
    };
    println!(
        "bound {bound} B: full at {} events after {:.1} s; then {secs} s draining while \
         putting {PUT_RATE}/s: {taken} taken, {} batches refused; peak {peak} B under the \
         channel's dirs = {ratio} ({:.0} MB); {} checkpoints",
        full.0,
        full.1.as_secs_f64(),
        refused.load(Ordering::Relaxed),
        peak as f64 / 1e6,
        s.checkpoints
    );
}
