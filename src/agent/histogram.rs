//! Fixed-bucket histograms that Flume lacks (commit latency, batch size, RPC latency),
//! recorded with two relaxed atomic adds per observation: no lock, no allocation.
//!
//! A [`Histogram`] is described by a static [`HistogramSpec`] (name, help, unit, bucket
//! bounds in integer base units: nanoseconds or events) and hangs off a component's
//! [`CounterGroup`](crate::agent::metrics::CounterGroup), so the Prometheus exposition
//! finds it next to the component's Flume counters.
//!
//! Buckets are not cumulative in memory (one add per observation); a [`HistogramSnapshot`]
//! makes them cumulative. The count is the sum of the buckets, so `_count` always equals the
//! `+Inf` bucket even while observations race with a scrape.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What a histogram measures, and its bucket bounds.
#[derive(Debug)]
pub(crate) struct HistogramSpec {
    /// Prometheus family name without the `flume_<kind>_` prefix and the unit suffix,
    /// e.g. `put_commit_duration`.
    pub name: &'static str,
    /// One line of help text.
    pub help: &'static str,
    /// Unit of the exposition (`seconds` or `events`).
    pub unit: HistogramUnit,
    /// Upper bounds of the buckets in base units (ns or events), strictly increasing;
    /// a last `+Inf` bucket is implied.
    pub bounds: &'static [u64],
}

impl HistogramSpec {
    /// A latency histogram: recorded in nanoseconds, shown in seconds, [`LATENCY_BOUNDS_NS`].
    const fn latency(name: &'static str, help: &'static str) -> Self {
        HistogramSpec {
            name,
            help,
            unit: HistogramUnit::Seconds,
            bounds: LATENCY_BOUNDS_NS,
        }
    }

    /// A batch-size histogram: events, [`BATCH_BOUNDS`].
    const fn batch(name: &'static str, help: &'static str) -> Self {
        HistogramSpec {
            name,
            help,
            unit: HistogramUnit::Events,
            bounds: BATCH_BOUNDS,
        }
    }
}

/// How base units are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HistogramUnit {
    /// Recorded in nanoseconds, shown in seconds.
    Seconds,
    /// Recorded and shown as a count of events.
    Events,
}

impl HistogramUnit {
    /// Base units per shown unit.
    pub(crate) fn scale(self) -> f64 {
        match self {
            HistogramUnit::Seconds => 1e9,
            HistogramUnit::Events => 1.0,
        }
    }

    /// The unit's name as Prometheus suffixes it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            HistogramUnit::Seconds => "seconds",
            HistogramUnit::Events => "events",
        }
    }
}

const MS: u64 = 1_000_000;

/// Latency bounds: 50 µs to 10 s, roughly ×2.5 apart.
pub(crate) const LATENCY_BOUNDS_NS: &[u64] = &[
    50_000,
    100_000,
    250_000,
    500_000,
    MS,
    2 * MS + MS / 2,
    5 * MS,
    10 * MS,
    25 * MS,
    50 * MS,
    100 * MS,
    250 * MS,
    500 * MS,
    1_000 * MS,
    2_500 * MS,
    10_000 * MS,
];

/// Batch size bounds: 1 to 10,000 events.
pub(crate) const BATCH_BOUNDS: &[u64] = &[1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 10_000];

/// Commit latency of channel transactions that put events.
pub(crate) static PUT_COMMIT: HistogramSpec = HistogramSpec::latency(
    "put_commit_duration",
    "Time to commit a channel transaction that put events (file channel: includes the fsync).",
);

/// Commit latency of channel transactions that took events.
pub(crate) static TAKE_COMMIT: HistogramSpec = HistogramSpec::latency(
    "take_commit_duration",
    "Time to commit a channel transaction that took events.",
);

/// Events per committed put transaction.
pub(crate) static PUT_BATCH: HistogramSpec = HistogramSpec::batch(
    "put_batch_size",
    "Events per committed channel transaction that put events.",
);

/// Events per committed take transaction (empty takes are not recorded).
pub(crate) static TAKE_BATCH: HistogramSpec = HistogramSpec::batch(
    "take_batch_size",
    "Events per committed channel transaction that took at least one event.",
);

/// Latency of an RPC sink's calls (append / appendBatch), answered or failed.
pub(crate) static RPC_CALL: HistogramSpec = HistogramSpec::latency(
    "rpc_call_duration",
    "Time from writing an RPC call to reading its answer (failed calls included).",
);

/// One histogram: a bucket array and a sum, all atomics.
#[derive(Debug)]
pub struct Histogram {
    spec: &'static HistogramSpec,
    /// `bounds.len() + 1` buckets (the last is `+Inf`), not cumulative.
    buckets: Box<[AtomicU64]>,
    /// Sum of observations in base units (wraps after 584 years of latency).
    sum: AtomicU64,
}

impl Histogram {
    /// An empty histogram of `spec`.
    pub(crate) fn new(spec: &'static HistogramSpec) -> Self {
        Histogram {
            spec,
            buckets: (0..=spec.bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    /// What this histogram measures.
    pub(crate) fn spec(&self) -> &'static HistogramSpec {
        self.spec
    }

    /// Records `v` base units (ns or events).
    #[inline]
    pub(crate) fn observe(&self, v: u64) {
        let i = self.spec.bounds.partition_point(|b| *b < v);
        if let Some(b) = self.buckets.get(i) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.sum.fetch_add(v, Ordering::Relaxed);
    }

    /// Records a duration (saturating at u64::MAX ns).
    #[inline]
    pub(crate) fn observe_duration(&self, d: Duration) {
        self.observe(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// The current values, in the shown unit.
    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        let scale = self.spec.unit.scale();
        let mut cumulative = 0u64;
        let mut buckets = Vec::with_capacity(self.buckets.len());
        for (i, b) in self.buckets.iter().enumerate() {
            let n = b.load(Ordering::Relaxed);
            cumulative = cumulative.wrapping_add(n);
            let le = match self.spec.bounds.get(i) {
                Some(bound) => *bound as f64 / scale,
                None => f64::INFINITY,
            };
            buckets.push((le, n));
        }
        HistogramSnapshot {
            sum: self.sum.load(Ordering::Relaxed) as f64 / scale,
            count: cumulative,
            buckets,
        }
    }
}

/// A histogram's values at one moment, in the shown unit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HistogramSnapshot {
    /// Sum of observations.
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
    /// `(upper bound, observations in this bucket alone)`, the last bound `+Inf`.
    pub buckets: Vec<(f64, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_whose_bound_is_not_below_them() {
        let h = Histogram::new(&PUT_BATCH);
        h.observe(1);
        h.observe(3);
        h.observe(5);
        h.observe(1_000_000);
        let s = h.snapshot();
        assert_eq!(s.count, 4);
        assert_eq!(s.sum, 1_000_009.0);
        assert_eq!(s.buckets[0], (1.0, 1));
        assert_eq!(s.buckets[2], (5.0, 2));
        assert_eq!(s.buckets.last(), Some(&(f64::INFINITY, 1)));
    }

    #[test]
    fn durations_are_shown_in_seconds() {
        let h = Histogram::new(&RPC_CALL);
        h.observe_duration(Duration::from_millis(3));
        let s = h.snapshot();
        assert!((s.sum - 0.003).abs() < 1e-12);
        let (le, n) = s.buckets.iter().find(|(_, n)| *n > 0).copied().unwrap();
        assert_eq!((le, n), (0.005, 1));
    }

    /// The cost of one observation, for docs/performance.md:
    /// `cargo test --release --lib -- --ignored --nocapture histogram_cost`.
    #[test]
    #[ignore = "measurement; run in release with --nocapture"]
    fn histogram_cost_per_observation() {
        let h = Histogram::new(&PUT_COMMIT);
        let n = 10_000_000u64;
        let t = std::time::Instant::now();
        for i in 0..n {
            h.observe(std::hint::black_box(i % 3_000_000));
        }
        let observe = t.elapsed().as_nanos() as f64 / n as f64;
        let t = std::time::Instant::now();
        for _ in 0..n {
            h.observe_duration(std::hint::black_box(t.elapsed()));
        }
        let timed = t.elapsed().as_nanos() as f64 / n as f64;
        println!("observe: {observe:.1} ns; Instant::elapsed + observe_duration: {timed:.1} ns");
        assert_eq!(h.snapshot().count, 2 * n);
    }

    #[test]
    fn concurrent_observers_lose_no_count() {
        let h = std::sync::Arc::new(Histogram::new(&TAKE_BATCH));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let h = h.clone();
                std::thread::spawn(move || (0..10_000).for_each(|i| h.observe(i % 300)))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(h.snapshot().count, 40_000);
    }
}
