//! Criterion: put+commit and take+commit on the file channel (fsync on every commit) at batch
//! 1, 100 and 1000, events of 256 B and 1 KiB, with 1 and 4 threads. One iteration is one
//! transaction per thread; throughput is in events.
//!
//! `cargo bench --bench channel_put_take` (add a filter such as `put/b100` to run a part).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "benchmark harness: a failed unwrap aborts the run and names the line"
)]

mod support;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const BATCHES: [usize; 3] = [1, 100, 1000];
const SIZES: [usize; 2] = [256, 1024];
const THREADS: [usize; 2] = [1, 4];

/// Runs `f(thread, iteration)` for `iters` iterations on each of `threads` threads at once and
/// returns the wall time.
fn timed_threads(threads: usize, iters: u64, f: &(dyn Fn(usize, u64) + Sync)) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                for i in 0..iters {
                    f(t, i);
                }
            });
        }
    });
    start.elapsed()
}

fn put_commit(c: &mut Criterion) {
    let mut g = c.benchmark_group("put");
    for batch in BATCHES {
        for size in SIZES {
            for threads in THREADS {
                let (_tmp, ch) = support::fresh(batch);
                g.throughput(Throughput::Elements((batch * threads) as u64));
                let id = BenchmarkId::from_parameter(format!("b{batch}/{size}B/t{threads}"));
                g.bench_function(id, |b| {
                    b.iter_custom(|iters| {
                        timed_threads(threads, iters, &|t, i| {
                            let seq = ((t as u64) << 40) | (i * batch as u64);
                            support::put_batch(&ch, size, batch, seq);
                        })
                    })
                });
                ch.close().expect("close");
            }
        }
    }
    g.finish();
}

fn take_commit(c: &mut Criterion) {
    let mut g = c.benchmark_group("take");
    for batch in BATCHES {
        for size in SIZES {
            for threads in THREADS {
                let (_tmp, ch) = support::fresh(batch);
                g.throughput(Throughput::Elements((batch * threads) as u64));
                let id = BenchmarkId::from_parameter(format!("b{batch}/{size}B/t{threads}"));
                g.bench_function(id, |b| {
                    b.iter_custom(|iters| {
                        support::fill(&ch, iters * (batch * threads) as u64, size);
                        timed_threads(threads, iters, &|_, _| {
                            support::take_batch(&ch, batch);
                        })
                    })
                });
                ch.close().expect("close");
            }
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = support::quick();
    targets = put_commit, take_commit
}
criterion_main!(benches);
