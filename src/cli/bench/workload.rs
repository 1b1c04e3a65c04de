//! Runs one phase of the workload: putter and taker threads over a [`BenchQueue`], commit
//! latency histograms, checkpoint pauses, a progress line, and the events taken for checking.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use parking_lot::Mutex;

use super::args::Stop;
pub use super::monitor::{CheckpointFn, CheckpointPauses};
use super::payload::Payload;
use super::queue::BenchQueue;
use super::resources::{self, Usage};

/// How long takers keep polling an empty queue once the putters are done before they give up.
const DRAIN_GRACE: Duration = Duration::from_secs(5);
/// Pause of a taker that found the queue empty while putters still run.
const EMPTY_POLL: Duration = Duration::from_micros(200);
/// Largest latency the histograms hold, in nanoseconds (one hour).
const LATENCY_NS_MAX: u64 = 3_600_000_000_000;

/// What a phase does.
#[derive(Clone, Copy, Debug)]
pub struct PhaseSpec {
    /// Name in the report.
    pub name: &'static str,
    /// Putting threads (0 for none) and when they stop.
    pub putters: usize,
    /// When the put side stops.
    pub stop: Stop,
    /// Taking threads (0 for none).
    pub takers: usize,
    /// Takers stop after this many events (None: when the queue stays empty).
    pub take_limit: Option<u64>,
    /// Events per transaction.
    pub batch: usize,
    /// First event id to put.
    pub first_id: u64,
    /// Whether taken bodies must have the size the distribution gives their id.
    pub check_size: bool,
}

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

pub(super) struct Shared<'a> {
    pub(super) spec: PhaseSpec,
    queue: &'a dyn BenchQueue,
    payload: &'a Payload,
    next_id: AtomicU64,
    pub(super) put: AtomicU64,
    pub(super) taken: AtomicU64,
    payload_bytes: AtomicU64,
    putters_done: AtomicBool,
    stop_all: AtomicBool,
    /// Tells the checkpoint and progress threads to end.
    helpers_done: AtomicBool,
    /// Odd while a checkpoint runs; bumped at its start and end.
    pub(super) ckpt_epoch: AtomicU64,
    deadline: Option<Instant>,
    hist: Mutex<Histogram<u64>>,
    pub(super) ckpt: Mutex<CheckpointPauses>,
    /// Commit latencies (ns) that overlapped a checkpoint, and those that did not.
    split: Mutex<Split>,
    taken_ids: Mutex<Vec<u64>>,
    damaged: Mutex<(u64, Vec<String>)>,
}

fn new_hist() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, LATENCY_NS_MAX, 3).context("latency histogram")
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

impl<'a> Shared<'a> {
    /// The state of a phase starting at `start`: nothing put or taken yet.
    fn new(
        spec: PhaseSpec,
        queue: &'a dyn BenchQueue,
        payload: &'a Payload,
        start: Instant,
    ) -> anyhow::Result<Shared<'a>> {
        Ok(Shared {
            spec,
            queue,
            payload,
            next_id: AtomicU64::new(spec.first_id),
            put: AtomicU64::new(0),
            taken: AtomicU64::new(0),
            payload_bytes: AtomicU64::new(0),
            putters_done: AtomicBool::new(spec.putters == 0),
            stop_all: AtomicBool::new(false),
            helpers_done: AtomicBool::new(false),
            ckpt_epoch: AtomicU64::new(0),
            deadline: match spec.stop {
                Stop::Duration(d) => Some(start + d),
                Stop::Events(_) => None,
            },
            hist: Mutex::new(new_hist()?),
            ckpt: Mutex::new(CheckpointPauses::default()),
            split: Mutex::new(Split::new()?),
            taken_ids: Mutex::new(Vec::new()),
            damaged: Mutex::new((0, Vec::new())),
        })
    }
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

/// Commit latencies split by whether a checkpoint overlapped them.
struct Split {
    during: Histogram<u64>,
    otherwise: Histogram<u64>,
}

impl Split {
    fn new() -> anyhow::Result<Split> {
        Ok(Split {
            during: new_hist()?,
            otherwise: new_hist()?,
        })
    }

    fn add(&mut self, other: &Split) -> anyhow::Result<()> {
        self.during
            .add(&other.during)
            .context("merging histograms")?;
        self.otherwise
            .add(&other.otherwise)
            .context("merging histograms")
    }

    /// Fills the commit figures of `c`.
    fn summarise(&self, c: &mut CheckpointPauses) {
        let ns = |h: &Histogram<u64>, q: f64| {
            if h.is_empty() {
                Duration::ZERO
            } else {
                Duration::from_nanos(h.value_at_quantile(q))
            }
        };
        c.longest_overlapping_commit = ns(&self.during, 1.0);
        c.longest_other_commit = ns(&self.otherwise, 1.0);
        c.p99_overlapping_commit = ns(&self.during, 0.99);
        c.p99_other_commit = ns(&self.otherwise, 0.99);
        c.commits = (self.during.len(), self.otherwise.len());
    }
}

/// Records one commit's latency, noting whether a checkpoint overlapped it.
fn record(sh: &Shared<'_>, hist: &mut Histogram<u64>, split: &mut Split, e0: u64, d: Duration) {
    let ns = d.as_nanos().min(u128::from(LATENCY_NS_MAX)) as u64;
    hist.saturating_record(ns);
    let e1 = sh.ckpt_epoch.load(Ordering::SeqCst);
    if e0 % 2 == 1 || e1 != e0 {
        split.during.saturating_record(ns);
    } else {
        split.otherwise.saturating_record(ns);
    }
}

fn finish_thread(sh: &Shared<'_>, hist: &Histogram<u64>, split: &Split) -> anyhow::Result<()> {
    sh.hist.lock().add(hist).context("merging histograms")?;
    sh.split.lock().add(split)
}

fn putter(sh: &Shared<'_>) -> anyhow::Result<()> {
    let batch = sh.spec.batch as u64;
    let mut hist = new_hist()?;
    let mut split = Split::new()?;
    while !sh.stop_all.load(Ordering::Relaxed) {
        if sh.deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let first = sh.next_id.fetch_add(batch, Ordering::SeqCst);
        let end = match sh.spec.stop {
            Stop::Events(n) => (sh.spec.first_id + n).min(first + batch),
            Stop::Duration(_) => first + batch,
        };
        if first >= end {
            break;
        }
        let mut bytes = 0u64;
        let events: Vec<_> = (first..end)
            .map(|id| {
                bytes += sh.payload.payload_bytes(id) as u64;
                sh.payload.event(id)
            })
            .collect();
        let e0 = sh.ckpt_epoch.load(Ordering::SeqCst);
        let d = sh.queue.put_batch(events)?;
        record(sh, &mut hist, &mut split, e0, d);
        sh.put.fetch_add(end - first, Ordering::Relaxed);
        sh.payload_bytes.fetch_add(bytes, Ordering::Relaxed);
    }
    finish_thread(sh, &hist, &split)
}

fn taker(sh: &Shared<'_>) -> anyhow::Result<()> {
    let mut hist = new_hist()?;
    let mut split = Split::new()?;
    let mut ids = Vec::new();
    let mut damaged = (0u64, Vec::new());
    let mut empty_since: Option<Instant> = None;
    let count_payload = sh.spec.putters == 0;
    while !sh.stop_all.load(Ordering::Relaxed) {
        let want = match sh.spec.take_limit {
            Some(limit) => {
                let done = sh.taken.load(Ordering::SeqCst);
                if done >= limit {
                    break;
                }
                (limit - done).min(sh.spec.batch as u64) as usize
            }
            None => sh.spec.batch,
        };
        let mut bytes = 0u64;
        let mut seen = |e: sluice_core::Event| {
            bytes += e.payload_bytes() as u64;
            match sh.payload.verify(&e, sh.spec.check_size) {
                Ok(id) => ids.push(id),
                Err(err) => {
                    damaged.0 += 1;
                    if damaged.1.len() < 5 {
                        damaged.1.push(err.to_string());
                    }
                }
            }
        };
        let e0 = sh.ckpt_epoch.load(Ordering::SeqCst);
        let (n, d) = sh.queue.take_batch(want, &mut seen)?;
        if n > 0 {
            record(sh, &mut hist, &mut split, e0, d);
            sh.taken.fetch_add(n as u64, Ordering::SeqCst);
            if count_payload {
                sh.payload_bytes.fetch_add(bytes, Ordering::Relaxed);
            }
            empty_since = None;
            continue;
        }
        if !sh.putters_done.load(Ordering::SeqCst) {
            std::thread::sleep(EMPTY_POLL);
            continue;
        }
        // Putters are done: stop once everything put was taken, or the queue stays empty.
        let all_put = sh.put.load(Ordering::SeqCst);
        if sh.spec.putters > 0 && sh.taken.load(Ordering::SeqCst) >= all_put {
            break;
        }
        if sh.spec.putters == 0 && sh.queue.queued() == 0 {
            break;
        }
        let since = *empty_since.get_or_insert_with(Instant::now);
        if since.elapsed() > DRAIN_GRACE {
            break;
        }
        std::thread::sleep(EMPTY_POLL);
    }
    sh.taken_ids.lock().extend(ids);
    {
        let mut d = sh.damaged.lock();
        d.0 += damaged.0;
        let room = 5usize.saturating_sub(d.1.len());
        d.1.extend(damaged.1.into_iter().take(room));
    }
    finish_thread(sh, &hist, &split)
}
