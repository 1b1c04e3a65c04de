//! Criterion: reopening a channel that holds a backlog of 10k, 100k and 1M queued events
//! (256 B bodies), after a clean stop (checkpoint) and without any checkpoint (full replay of
//! the log, done by opening the same data directories with an empty checkpoint directory).
//!
//! `cargo bench --bench channel_reopen`. The 1M backlog writes ≈330 MB once per run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "benchmark harness: a failed unwrap aborts the run and names the line"
)]

mod support;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice_core::FileChannel;

const BACKLOGS: [u64; 3] = [10_000, 100_000, 1_000_000];
const BODY_BYTES: usize = 256;

fn reopen(c: &mut Criterion) {
    let mut g = c.benchmark_group("reopen");
    for backlog in BACKLOGS {
        let tmp = tempfile::tempdir().expect("temp dir");
        let cfg = support::config(tmp.path(), 1000);
        {
            let ch = FileChannel::open(cfg.clone()).expect("open");
            support::fill(&ch, backlog, BODY_BYTES);
            ch.close().expect("close");
        }
        g.throughput(Throughput::Elements(backlog));
        g.bench_function(BenchmarkId::new("checkpoint", backlog), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t0 = Instant::now();
                    let ch = FileChannel::open(cfg.clone()).expect("reopen");
                    total += t0.elapsed();
                    assert_eq!(ch.stats().queued, backlog);
                    ch.close().expect("close");
                }
                total
            })
        });
        g.bench_function(BenchmarkId::new("full_replay", backlog), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let empty = tempfile::tempdir().expect("temp dir");
                    let mut replay = cfg.clone();
                    replay.checkpoint_dir = empty.path().to_path_buf();
                    replay.checkpoint_on_close = false;
                    let t0 = Instant::now();
                    let ch = FileChannel::open(replay).expect("replay");
                    total += t0.elapsed();
                    assert_eq!(ch.stats().queued, backlog);
                    ch.close().expect("close");
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = support::quick();
    targets = reopen
}
criterion_main!(benches);
