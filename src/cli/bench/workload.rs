//! Runs one phase of the workload: putter and taker threads over a [`BenchQueue`]
//! (`phase_threads.rs`, sharing `phase_shared.rs`), commit latency histograms
//! (`commit_split.rs`), checkpoint pauses, a progress line, and the events taken for checking.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

pub use super::monitor::{CheckpointFn, CheckpointPauses};
use super::payload::Payload;
pub use super::phase_shared::PhaseSpec;
use super::phase_shared::Shared;
use super::phase_threads::{putter, taker};
use super::queue::BenchQueue;
use super::resources::{self, Usage};

/// Measurements of one phase.
#[derive(Debug)]
pub struct PhaseResult {
    /// Name in the report.
    pub name: &'static str,
    /// Events put.
    pub put: u64,
    /// Events taken.
    pub taken: u64,
    /// Payload bytes put (or taken, in a take-only phase).
    pub payload_bytes: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Commits and fsyncs of the channel during the phase.
    pub commits: u64,
    /// fdatasync calls during the phase.
    pub fsyncs: u64,
    /// Tail-cache hits and misses during the phase.
    pub tail_cache: (u64, u64),
    /// Group commit's counters during the phase.
    pub group_commit: sluice_core::GroupCommitStats,
    /// Segments started in a recycled spare file during the phase.
    pub segments_recycled: u64,
    /// Commit latency in nanoseconds (every commit of the phase).
    pub latency: Histogram<u64>,
    /// Process counters over the phase.
    pub usage: Usage,
    /// Ids of the events taken, in no particular order.
    pub taken_ids: Vec<u64>,
    /// Problems found in taken events (first few) and how many there were.
    pub damaged: (u64, Vec<String>),
    /// Checkpoint pauses, when checkpoints were forced.
    pub checkpoints: Option<CheckpointPauses>,
}

impl PhaseResult {
    /// Events that count for the rates: puts if any, else takes.
    pub fn events(&self) -> u64 {
        if self.put > 0 {
            self.put
        } else {
            self.taken
        }
    }
}

/// Runs a phase to its end.
pub fn run_phase(
    spec: PhaseSpec,
    queue: &dyn BenchQueue,
    payload: &Payload,
    checkpoint: Option<(Duration, CheckpointFn<'_>)>,
    progress: bool,
) -> anyhow::Result<PhaseResult> {
    let start = Instant::now();
    let sh = Shared::new(spec, queue, payload, start)?;
    let c0 = queue.counters();
    let u0 = resources::now();
    run_threads(&sh, checkpoint, progress, start)?;
    let elapsed = start.elapsed();
    let c1 = queue.counters();
    let usage = resources::now().since(&u0);
    let mut ckpt = sh.ckpt.into_inner();
    sh.split.into_inner().summarise(&mut ckpt);
    Ok(PhaseResult {
        name: spec.name,
        put: sh.put.into_inner(),
        taken: sh.taken.into_inner(),
        payload_bytes: sh.payload_bytes.into_inner(),
        elapsed,
        commits: c1.commits.saturating_sub(c0.commits),
        fsyncs: c1.fsyncs.saturating_sub(c0.fsyncs),
        tail_cache: (
            c1.tail_cache.0.saturating_sub(c0.tail_cache.0),
            c1.tail_cache.1.saturating_sub(c0.tail_cache.1),
        ),
        group_commit: c1.group_commit.since(&c0.group_commit),
        segments_recycled: c1.segments_recycled.saturating_sub(c0.segments_recycled),
        latency: sh.hist.into_inner(),
        usage,
        taken_ids: sh.taken_ids.into_inner(),
        damaged: sh.damaged.into_inner(),
        checkpoints: checkpoint.map(|_| ckpt),
    })
}

/// The phase's threads: putters, then takers (each stopping all on an error), the
/// checkpointer and the progress line; the first error.
fn run_threads(
    sh: &Shared<'_>,
    checkpoint: Option<(Duration, CheckpointFn<'_>)>,
    progress: bool,
    start: Instant,
) -> anyhow::Result<()> {
    std::thread::scope(|s| {
        let putters: Vec<_> = (0..sh.spec.putters)
            .map(|_| s.spawn(move || putter(sh)))
            .collect();
        let takers: Vec<_> = (0..sh.spec.takers)
            .map(|_| s.spawn(move || taker(sh)))
            .collect();
        let helper_done = &sh.helpers_done;
        let ckpt_thread = checkpoint.map(|(every, f)| {
            s.spawn(move || {
                super::monitor::checkpointer(&sh.ckpt_epoch, &sh.ckpt, every, f, helper_done)
            })
        });
        let progress_thread = progress.then(|| {
            s.spawn(move || {
                super::monitor::progress_line(
                    sh.spec.name,
                    (&sh.put, &sh.taken),
                    start,
                    helper_done,
                )
            })
        });
        let mut first_err = None;
        for h in putters {
            if let Err(e) = join(h) {
                sh.stop_all.store(true, Ordering::SeqCst);
                first_err.get_or_insert(e);
            }
        }
        sh.putters_done.store(true, Ordering::SeqCst);
        for h in takers {
            if let Err(e) = join(h) {
                sh.stop_all.store(true, Ordering::SeqCst);
                first_err.get_or_insert(e);
            }
        }
        helper_done.store(true, Ordering::SeqCst);
        if let Some(h) = ckpt_thread {
            if let Err(e) = join(h) {
                first_err.get_or_insert(e);
            }
        }
        if let Some(h) = progress_thread {
            let _ = h.join();
        }
        first_err.map_or(Ok(()), Err)
    })
}

fn join(h: std::thread::ScopedJoinHandle<'_, anyhow::Result<()>>) -> anyhow::Result<()> {
    h.join()
        .map_err(|_| anyhow::anyhow!("a bench thread panicked"))?
}
