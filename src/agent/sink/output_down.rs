//! Whether a sink can write its output (a file sink's directory and files): the gauges
//! `OutputDownMillis` (how long its output has been failing, 0 while it writes) and
//! `OutputDownReason` (why, naming the key to fix: file_roll's `sink.directory`, hdfs's
//! `hdfs.path` on a local path, an S3 sink's staging directory), which `/health` reads
//! (`runtime/health.rs`: 503 while above 0). The sink marks it down when it cannot create its
//! directory, open a file or write one, and up once a batch is written again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

/// The gauge of how long the output has been failing, in ms (0 while it writes).
pub(crate) const OUTPUT_DOWN_MILLIS: &str = "OutputDownMillis";
/// The text gauge saying why (shown while down).
pub(crate) const OUTPUT_DOWN_REASON: &str = "OutputDownReason";

/// A sink's output state, shared by the sink and its gauges.
#[derive(Clone, Debug, Default)]
pub(crate) struct OutputDown {
    /// When the output began to fail (ms since the epoch), 0 while it writes.
    since: Arc<AtomicU64>,
    why: Arc<Mutex<String>>,
}

impl OutputDown {
    /// The output failed for `why` (the first moment of an outage is kept, the reason is
    /// the latest).
    pub(crate) fn down(&self, why: &dyn std::fmt::Display) {
        let _ =
            self.since
                .compare_exchange(0, now_ms().max(1), Ordering::Relaxed, Ordering::Relaxed);
        *self.why.lock() = why.to_string();
    }

    /// The output works (a batch was written).
    pub(crate) fn up(&self) {
        if self.since.swap(0, Ordering::Relaxed) != 0 {
            self.why.lock().clear();
        }
    }

    /// How long the output has been failing, in ms (0 while it writes).
    pub(crate) fn down_ms(&self) -> u64 {
        match self.since.load(Ordering::Relaxed) {
            0 => 0,
            since => now_ms().saturating_sub(since).max(1),
        }
    }

    /// The gauges: [`OUTPUT_DOWN_MILLIS`], and [`OUTPUT_DOWN_REASON`] while down.
    pub(crate) fn gauges(&self) -> Vec<(&'static str, String)> {
        let ms = self.down_ms();
        let mut g = vec![(OUTPUT_DOWN_MILLIS, ms.to_string())];
        let why = self.why.lock();
        if ms > 0 && !why.is_empty() {
            g.push((OUTPUT_DOWN_REASON, why.clone()));
        }
        g
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_that_failed_shows_how_long_and_why_until_a_batch_is_written() {
        let o = OutputDown::default();
        assert_eq!(o.gauges(), vec![(OUTPUT_DOWN_MILLIS, "0".to_owned())]);
        o.down(&"cannot create sink.directory /x: Not a directory");
        let g = o.gauges();
        assert!(g[0].1.parse::<u64>().unwrap() > 0, "{g:?}");
        assert_eq!(g[1].0, OUTPUT_DOWN_REASON);
        assert!(g[1].1.contains("sink.directory"), "{g:?}");
        o.up();
        assert_eq!(o.gauges(), vec![(OUTPUT_DOWN_MILLIS, "0".to_owned())]);
    }
}
