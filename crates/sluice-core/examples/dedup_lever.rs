//! Whether the dedup table is a lever on other committers (issue 64, item 5): a "netcat"
//! committer (batches of 10, no ids, each taken back) runs alone for 5 s, then beside a second
//! committer of 1,000-event batches for 15 s (after 10 s of it alone), and prints its rate
//! under that load as a share of its rate alone, and its longest gap. The second committer's
//! events carry, by MODE: `none` no ids; `benign` one origin's consecutive ids (a Sluice hop);
//! `origins` a new origin per event (100,000 and more: the table full and evicting); `sparse`
//! one origin's every other id (a range per event). `none` and `benign` are the same load
//! without the attack: the dedup table is no lever when `origins` and `sparse` keep the
//! netcat committer at their share.
//!
//! Run with `cargo run --release -p sluice-core --example dedup_lever -- MODE`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_core::dedup::{IdSpan, EVENT_ID_HEADER};
use sluice_core::{ChannelError, Event, FileChannel, FileChannelConfig};

/// Events of the second committer's batches.
const LOAD_BATCH: u64 = 1_000;

/// Commits batches of 10 until `stop` or `secs`; its rate and its longest gap.
fn netcat(ch: &FileChannel, stop: &AtomicBool, secs: f64) -> Result<(f64, Duration), ChannelError> {
    let t0 = Instant::now();
    let (mut n, mut last, mut gap) = (0u64, Instant::now(), Duration::ZERO);
    while !stop.load(Ordering::Relaxed) && t0.elapsed().as_secs_f64() < secs {
        let mut tx = ch.transaction();
        for i in 0..10 {
            tx.put(Event::new(format!("nc {n} {i}")))?;
        }
        tx.commit()?;
        let mut tx = ch.transaction();
        for _ in 0..10 {
            let _ = tx.take()?;
        }
        tx.commit()?;
        n += 10;
        gap = gap.max(last.elapsed());
        last = Instant::now();
    }
    Ok((n as f64 / t0.elapsed().as_secs_f64(), gap))
}

/// The second committer's event number `next`, as `mode` says.
fn loaded(mode: &str, next: u64) -> Event {
    let span = match mode {
        "origins" => IdSpan::one(next, 1),
        "sparse" => IdSpan::one(7, next * 2),
        "benign" => IdSpan::one(7, next),
        _ => None,
    };
    match span {
        Some(s) => Event::new("x").header(EVENT_ID_HEADER, s.to_string()),
        None => Event::new("x"),
    }
}

fn main() -> Result<(), ChannelError> {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "origins".into());
    let dir = std::env::temp_dir().join(format!("sluice-dedup-lever-{}", std::process::id()));
    let cfg = FileChannelConfig {
        checkpoint_dir: dir.join("ck"),
        data_dirs: vec![dir.join("data")],
        capacity: 10_000_000,
        ..FileChannelConfig::default()
    };
    let ch = Arc::new(FileChannel::open(cfg)?);
    let stop = Arc::new(AtomicBool::new(false));
    let (alone, _) = netcat(&ch, &stop, 5.0)?;
    let load = {
        let (ch, stop, mode) = (ch.clone(), stop.clone(), mode.clone());
        std::thread::spawn(move || -> Result<u64, ChannelError> {
            let mut next = 1u64;
            while !stop.load(Ordering::Relaxed) {
                let mut tx = ch.transaction();
                for _ in 0..LOAD_BATCH {
                    tx.put(loaded(&mode, next))?;
                    next += 1;
                }
                tx.commit()?;
                let mut tx = ch.transaction();
                for _ in 0..LOAD_BATCH {
                    let _ = tx.take()?;
                }
                tx.commit()?;
            }
            Ok(next - 1)
        })
    };
    std::thread::sleep(Duration::from_secs(10));
    let (under, gap) = netcat(&ch, &stop, 15.0)?;
    stop.store(true, Ordering::Relaxed);
    let events = load.join().unwrap_or(Ok(0))?;
    println!(
        "{mode}: netcat alone {alone:.0}/s, beside the load {under:.0}/s = {:.2}x, longest gap {gap:?}; load events {events}, origins in the table {}",
        under / alone,
        ch.stats().dedup_origins
    );
    ch.close()?;
    #[allow(
        clippy::disallowed_methods,
        reason = "removes the example's own temporary directory"
    )]
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
