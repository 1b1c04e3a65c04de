//! Helpers shared by the criterion benches: a channel in a temporary directory, events of a
//! given size, filling a backlog, and short criterion settings for a shared 2-core machine.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use criterion::Criterion;
use sluice_core::{Event, FileChannel, FileChannelConfig};

/// Criterion settings that keep a full run within minutes: 10 samples, short windows.
pub fn quick() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .without_plots()
}

/// A channel config over `<root>/checkpoint` and `<root>/data`, sized for benches.
pub fn config(root: &Path, batch: usize) -> FileChannelConfig {
    let mut c = FileChannelConfig::with_dirs(root.join("checkpoint"), vec![root.join("data")]);
    c.capacity = 1 << 40;
    c.transaction_capacity = (batch as u64).max(10_000);
    c.minimum_required_space_bytes = 1 << 20;
    c
}

/// Opens a fresh channel in a new temporary directory (kept alive by the returned guard).
pub fn fresh(batch: usize) -> (tempfile::TempDir, FileChannel) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let ch = FileChannel::open(config(tmp.path(), batch)).expect("open channel");
    (tmp, ch)
}

/// An event with a body of `size` bytes and two 8-byte headers (Flume's timestamp and host).
pub fn event(size: usize, i: u64) -> Event {
    let mut body = vec![0u8; size];
    let n = size.min(8);
    body[..n].copy_from_slice(&i.to_le_bytes()[..n]);
    Event::new(body)
        .header("timestam", format!("{:08}", i % 100_000_000))
        .header("hostname", "bench-01")
}

/// Puts `n` events of `size` bytes in commits of 1000.
pub fn fill(ch: &FileChannel, n: u64, size: usize) {
    let mut i = 0;
    while i < n {
        let mut tx = ch.transaction();
        let end = (i + 1000).min(n);
        for k in i..end {
            tx.put(event(size, k)).expect("put");
        }
        tx.commit().expect("commit");
        i = end;
    }
}

/// Puts `batch` events in one transaction and commits it.
pub fn put_batch(ch: &FileChannel, size: usize, batch: usize, seq: u64) {
    let mut tx = ch.transaction();
    for k in 0..batch as u64 {
        tx.put(event(size, seq + k)).expect("put");
    }
    tx.commit().expect("commit");
}

/// Takes `batch` events in one transaction and commits it; returns how many it got.
pub fn take_batch(ch: &FileChannel, batch: usize) -> usize {
    let mut tx = ch.transaction();
    let mut n = 0;
    while n < batch {
        match tx.take().expect("take") {
            Some(e) => {
                std::hint::black_box(e);
                n += 1;
            }
            None => break,
        }
    }
    tx.commit().expect("commit");
    n
}
