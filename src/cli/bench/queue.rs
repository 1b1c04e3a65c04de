//! The channel under test, seen through one small trait so the workload can drive the file
//! channel and the in-memory queue alike. Each call is one transaction; it returns how long
//! its `commit` took, which is what the latency histograms record.

use std::time::{Duration, Instant};

use anyhow::Context;
use sluice_core::{Event, FileChannel, GroupCommitStats};

/// Commit and fsync counters of the channel, read before and after a phase.
#[derive(Clone, Copy, Debug, Default)]
pub struct QueueCounters {
    /// Committed transactions.
    pub commits: u64,
    /// fdatasync calls on data segments.
    pub fsyncs: u64,
    /// Takes served from the channel's event cache, and lookups that missed it.
    pub tail_cache: (u64, u64),
    /// Group commit's breakdown (file channel).
    pub group_commit: GroupCommitStats,
    /// Segments started in a recycled spare file (`recycleSegments`).
    pub segments_recycled: u64,
}

/// A transactional queue the bench can drive.
pub trait BenchQueue: Send + Sync {
    /// Puts every event in one transaction and commits it; returns the commit's duration.
    fn put_batch(&self, events: Vec<Event>) -> anyhow::Result<Duration>;
    /// Takes up to `max` events in one transaction, hands each to `seen`, then commits;
    /// returns how many were taken and the commit's duration.
    fn take_batch(
        &self,
        max: usize,
        seen: &mut dyn FnMut(Event),
    ) -> anyhow::Result<(usize, Duration)>;
    /// Current counters.
    fn counters(&self) -> QueueCounters;
    /// Events queued now.
    fn queued(&self) -> u64;
}

/// The file channel.
#[derive(Debug, Clone)]
pub struct FileQueue(pub FileChannel);

impl BenchQueue for FileQueue {
    fn put_batch(&self, events: Vec<Event>) -> anyhow::Result<Duration> {
        let mut tx = self.0.transaction();
        for e in events {
            tx.put(e).context("put")?;
        }
        let t0 = Instant::now();
        tx.commit().context("commit of puts")?;
        Ok(t0.elapsed())
    }

    fn take_batch(
        &self,
        max: usize,
        seen: &mut dyn FnMut(Event),
    ) -> anyhow::Result<(usize, Duration)> {
        let mut tx = self.0.transaction();
        let mut n = 0;
        while n < max {
            match tx.take().context("take")? {
                Some(e) => {
                    seen(e);
                    n += 1;
                }
                None => break,
            }
        }
        let t0 = Instant::now();
        tx.commit().context("commit of takes")?;
        Ok((n, t0.elapsed()))
    }

    fn counters(&self) -> QueueCounters {
        let s = self.0.stats();
        QueueCounters {
            commits: s.commits,
            fsyncs: s.fsyncs,
            tail_cache: (s.tail_cache_hits, s.tail_cache_misses),
            group_commit: s.group_commit,
            segments_recycled: s.segments_recycled,
        }
    }

    fn queued(&self) -> u64 {
        self.0.stats().queued
    }
}
