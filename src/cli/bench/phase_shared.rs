//! What a phase's threads share: its [`PhaseSpec`], the next id to put, the counts, the stop
//! flags, the checkpoint epoch and the merged latency histograms.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Instant;

use hdrhistogram::Histogram;
use parking_lot::Mutex;

use super::args::Stop;
use super::commit_split::{new_hist, Split};
use super::monitor::CheckpointPauses;
use super::payload::Payload;
use super::queue::BenchQueue;

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

pub(super) struct Shared<'a> {
    pub(super) spec: PhaseSpec,
    pub(super) queue: &'a dyn BenchQueue,
    pub(super) payload: &'a Payload,
    pub(super) next_id: AtomicU64,
    pub(super) put: AtomicU64,
    pub(super) taken: AtomicU64,
    pub(super) payload_bytes: AtomicU64,
    pub(super) putters_done: AtomicBool,
    pub(super) stop_all: AtomicBool,
    /// Tells the checkpoint and progress threads to end.
    pub(super) helpers_done: AtomicBool,
    /// Odd while a checkpoint runs; bumped at its start and end.
    pub(super) ckpt_epoch: AtomicU64,
    pub(super) deadline: Option<Instant>,
    pub(super) hist: Mutex<Histogram<u64>>,
    pub(super) ckpt: Mutex<CheckpointPauses>,
    /// Commit latencies (ns) that overlapped a checkpoint, and those that did not.
    pub(super) split: Mutex<Split>,
    pub(super) taken_ids: Mutex<Vec<u64>>,
    pub(super) damaged: Mutex<(u64, Vec<String>)>,
}

impl<'a> Shared<'a> {
    /// The state of a phase starting at `start`: nothing put or taken yet.
    pub(super) fn new(
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
