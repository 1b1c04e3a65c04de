//! The source-wide budget of held multiline events (`multiline.maxHeldBytes`): the bytes of
//! the open events (lines pushed, not yet handed out) summed over every file of a source.
//! Each [`super::Joiner`] accounts for its own event; one whose event would take the sum over
//! the budget hands that event out at once (as a time-out would), so many files each holding
//! a large event cannot multiply the source's memory. The source then asks the file holding
//! the most to hand its event out too ([`HeldBytes::take_pressure`]).
//!
//! A source's joiners are driven by one task at a time (a check and its update are not
//! atomic together); the counts are atomics only so the metrics can read them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Default `multiline.maxHeldBytes` (64 MiB, and never below `multiline.maxBytes`, so one
/// file behaves as without the budget).
pub(crate) const MAX_HELD_BYTES_DEFAULT: u64 = 64 * 1024 * 1024;
/// Largest `multiline.maxHeldBytes` accepted (16 GiB).
pub(crate) const MAX_HELD_BYTES_LIMIT: u64 = 16 * 1024 * 1024 * 1024;

/// The bytes of a source's held events.
#[derive(Debug)]
pub(crate) struct HeldBytes {
    max: u64,
    now: AtomicU64,
    peak: AtomicU64,
    pressure: AtomicBool,
}

impl HeldBytes {
    /// A budget of `max` bytes.
    pub(crate) fn new(max: u64) -> Self {
        HeldBytes {
            max,
            now: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            pressure: AtomicBool::new(false),
        }
    }

    /// Whether one joiner's event may go from `old` to `new` bytes within the budget; when
    /// not, the source is asked to release the largest event.
    pub(super) fn fits(&self, old: usize, new: usize) -> bool {
        let sum = self
            .bytes()
            .saturating_sub(old as u64)
            .saturating_add(new as u64);
        let fits = new <= old || sum <= self.max;
        if !fits {
            self.pressure.store(true, Ordering::Relaxed);
        }
        fits
    }

    /// Records that one joiner's event went from `old` to `new` bytes.
    pub(super) fn update(&self, old: usize, new: usize) {
        let now = self
            .now
            .load(Ordering::Relaxed)
            .saturating_sub(old as u64)
            .saturating_add(new as u64);
        self.now.store(now, Ordering::Relaxed);
        self.peak.fetch_max(now, Ordering::Relaxed);
    }

    /// Bytes held now.
    pub(crate) fn bytes(&self) -> u64 {
        self.now.load(Ordering::Relaxed)
    }

    /// Most bytes held since start.
    pub(crate) fn peak_bytes(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// Whether an event was handed out early for the budget since the last call.
    pub(crate) fn take_pressure(&self) -> bool {
        self.pressure.swap(false, Ordering::Relaxed)
    }

    /// The gauges shown with the source's counters.
    pub(crate) fn gauges(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HeldBytes", self.bytes().to_string()),
            ("HeldBytesPeak", self.peak_bytes().to_string()),
        ]
    }
}
