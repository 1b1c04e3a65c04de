//! An in-process, non-durable queue with the same transaction shape as the file channel: the
//! ceiling of what the bench harness itself can drive (event generation, threads, locks).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sluice::Event;

use super::queue::{BenchQueue, QueueCounters};

/// A mutex-protected FIFO; puts become visible at commit, takes are final at commit.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    queue: Mutex<VecDeque<Event>>,
    commits: AtomicU64,
}

impl BenchQueue for MemoryQueue {
    fn put_batch(&self, events: Vec<Event>) -> anyhow::Result<Duration> {
        let t0 = Instant::now();
        self.queue.lock().extend(events);
        self.commits.fetch_add(1, Ordering::Relaxed);
        Ok(t0.elapsed())
    }

    fn take_batch(
        &self,
        max: usize,
        seen: &mut dyn FnMut(Event),
    ) -> anyhow::Result<(usize, Duration)> {
        let taken: Vec<Event> = {
            let mut q = self.queue.lock();
            let n = max.min(q.len());
            q.drain(..n).collect()
        };
        let n = taken.len();
        for e in taken {
            seen(e);
        }
        let t0 = Instant::now();
        if n > 0 {
            self.commits.fetch_add(1, Ordering::Relaxed);
        }
        Ok((n, t0.elapsed()))
    }

    fn counters(&self) -> QueueCounters {
        QueueCounters {
            commits: self.commits.load(Ordering::Relaxed),
            fsyncs: 0,
        }
    }

    fn queued(&self) -> u64 {
        self.queue.lock().len() as u64
    }
}
