//! How far a replay has come, as relaxed atomics a caller reads from another thread while
//! [`FileChannel::open_with_progress`](crate::FileChannel::open_with_progress) runs: the
//! agent shows it as a gauge and logs it, and the core needs no logging or async dependency
//! for it.
//!
//! The total is an estimate each directory's thread adds before it reads (the bytes of its
//! segments from the replay position on); the replay threads add what they read
//! in steps of at most [`FLUSH_BYTES`] or [`FLUSH_RECORDS`], so the shared counters are
//! touched rarely. [`ReplayProgress::ratio`] is 1 once the replay is done.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Bytes read by one replay thread before they are added to the shared counter.
pub const FLUSH_BYTES: u64 = 1 << 20;
/// Records read by one replay thread before they are added to the shared counter.
pub const FLUSH_RECORDS: u64 = 4_096;

/// Progress of one channel's replay; `Default` is "not started".
#[derive(Debug, Default)]
pub struct ReplayProgress {
    bytes_total: AtomicU64,
    bytes_done: AtomicU64,
    events_done: AtomicU64,
    started: AtomicBool,
    done: AtomicBool,
}

/// What [`ReplayProgress::snapshot`] read.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProgressSnapshot {
    /// Segment bytes to read (an estimate made when the replay started).
    pub bytes_total: u64,
    /// Segment bytes read so far.
    pub bytes_done: u64,
    /// Put records (events) read so far.
    pub events_done: u64,
    /// Whether the replay has started.
    pub started: bool,
    /// Whether the replay is over (successfully or not).
    pub done: bool,
}

impl ProgressSnapshot {
    /// Share of the replay done, 0 to 1: 1 once done or when there is nothing to read.
    pub fn ratio(&self) -> f64 {
        if self.done {
            return 1.0;
        }
        if !self.started {
            return 0.0;
        }
        if self.bytes_total == 0 {
            return 1.0;
        }
        (self.bytes_done as f64 / self.bytes_total as f64).clamp(0.0, 1.0)
    }
}

impl ReplayProgress {
    /// The counters now.
    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            bytes_total: self.bytes_total.load(Ordering::Relaxed),
            bytes_done: self.bytes_done.load(Ordering::Relaxed),
            events_done: self.events_done.load(Ordering::Relaxed),
            started: self.started.load(Ordering::Relaxed),
            done: self.done.load(Ordering::Relaxed),
        }
    }

    /// Share of the replay done, 0 to 1.
    pub fn ratio(&self) -> f64 {
        self.snapshot().ratio()
    }

    /// Starts a replay of about `bytes_total` bytes (counters reset).
    pub(crate) fn start(&self, bytes_total: u64) {
        self.bytes_done.store(0, Ordering::Relaxed);
        self.events_done.store(0, Ordering::Relaxed);
        self.bytes_total.store(bytes_total, Ordering::Relaxed);
        self.done.store(false, Ordering::Relaxed);
        self.started.store(true, Ordering::Relaxed);
    }

    /// Adds `bytes` to the total (each directory's thread adds its own before it reads).
    pub(crate) fn add_total(&self, bytes: u64) {
        self.bytes_total.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Marks the replay over.
    pub(crate) fn finish(&self) {
        self.done.store(true, Ordering::Relaxed);
    }

    fn add(&self, bytes: u64, events: u64) {
        self.bytes_done.fetch_add(bytes, Ordering::Relaxed);
        self.events_done.fetch_add(events, Ordering::Relaxed);
    }
}

/// One replay thread's unflushed share; flushed when big enough and when dropped.
#[derive(Debug)]
pub(crate) struct ProgressTally<'a> {
    to: &'a ReplayProgress,
    bytes: u64,
    records: u64,
    events: u64,
}

impl<'a> ProgressTally<'a> {
    /// A tally adding into `to`.
    pub(crate) fn new(to: &'a ReplayProgress) -> Self {
        ProgressTally {
            to,
            bytes: 0,
            records: 0,
            events: 0,
        }
    }

    /// Counts one record of `bytes` bytes (`put`: it is an event).
    pub(crate) fn record(&mut self, bytes: u64, put: bool) {
        self.bytes += bytes;
        self.records += 1;
        self.events += u64::from(put);
        if self.bytes >= FLUSH_BYTES || self.records >= FLUSH_RECORDS {
            self.flush();
        }
    }

    /// Counts bytes passed over without records (a skipped or damaged stretch).
    pub(crate) fn skip(&mut self, bytes: u64) {
        self.bytes += bytes;
    }

    fn flush(&mut self) {
        self.to.add(self.bytes, self.events);
        self.bytes = 0;
        self.records = 0;
        self.events = 0;
    }
}

impl Drop for ProgressTally<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_zero_before_the_start_and_one_when_done() {
        let p = ReplayProgress::default();
        assert_eq!(p.ratio(), 0.0);
        p.start(1_000);
        {
            let mut t = ProgressTally::new(&p);
            t.record(250, true);
            t.record(250, false);
        }
        let s = p.snapshot();
        assert_eq!((s.bytes_done, s.events_done), (500, 1));
        assert_eq!(s.ratio(), 0.5);
        p.finish();
        assert_eq!(p.ratio(), 1.0);
    }

    #[test]
    fn a_tally_flushes_before_it_is_dropped_once_big_enough() {
        let p = ReplayProgress::default();
        p.start(10 * FLUSH_BYTES);
        let mut t = ProgressTally::new(&p);
        t.record(FLUSH_BYTES, true);
        assert_eq!(p.snapshot().bytes_done, FLUSH_BYTES);
        t.record(1, true);
        assert_eq!(
            p.snapshot().events_done,
            1,
            "the second record is not flushed yet"
        );
        drop(t);
        assert_eq!(p.snapshot().events_done, 2);
    }

    #[test]
    fn an_empty_replay_is_complete() {
        let p = ReplayProgress::default();
        p.start(0);
        assert_eq!(p.ratio(), 1.0);
    }
}
