//! Commit latencies in histograms (nanoseconds, up to an hour), split by whether a
//! checkpoint overlapped them, for the checkpoint-pause figures.

use std::time::Duration;

use anyhow::Context;
use hdrhistogram::Histogram;

use super::monitor::CheckpointPauses;

/// Largest latency the histograms hold, in nanoseconds (one hour).
pub(super) const LATENCY_NS_MAX: u64 = 3_600_000_000_000;

/// An empty latency histogram.
pub(super) fn new_hist() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, LATENCY_NS_MAX, 3).context("latency histogram")
}

/// Commit latencies split by whether a checkpoint overlapped them.
pub(super) struct Split {
    pub(super) during: Histogram<u64>,
    pub(super) otherwise: Histogram<u64>,
}

impl Split {
    pub(super) fn new() -> anyhow::Result<Split> {
        Ok(Split {
            during: new_hist()?,
            otherwise: new_hist()?,
        })
    }

    /// Adds `other`'s latencies.
    pub(super) fn add(&mut self, other: &Split) -> anyhow::Result<()> {
        self.during
            .add(&other.during)
            .context("merging histograms")?;
        self.otherwise
            .add(&other.otherwise)
            .context("merging histograms")
    }

    /// Fills the commit figures of `c`.
    pub(super) fn summarise(&self, c: &mut CheckpointPauses) {
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
