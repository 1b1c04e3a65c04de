//! The helper threads of a phase: the checkpointer that forces checkpoints and times the
//! pauses (`--checkpoint-every-ms`), and the once-a-second progress line on stderr.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use parking_lot::Mutex;

/// Something that writes a checkpoint on demand (the file channel), for pause measurement.
pub type CheckpointFn<'a> = &'a (dyn Fn() -> anyhow::Result<()> + Sync);

/// Checkpoints written during a phase and the pauses they caused.
#[derive(Clone, Debug, Default)]
pub struct CheckpointPauses {
    /// Checkpoints written.
    pub count: u64,
    /// Longest checkpoint, wall time.
    pub longest: Duration,
    /// Longest commit that overlapped a checkpoint.
    pub longest_overlapping_commit: Duration,
    /// Longest commit that did not.
    pub longest_other_commit: Duration,
    /// 99th percentile of the commits that overlapped a checkpoint.
    pub p99_overlapping_commit: Duration,
    /// 99th percentile of the commits that did not.
    pub p99_other_commit: Duration,
    /// Commits that overlapped a checkpoint, and commits that did not.
    pub commits: (u64, u64),
}

/// Writes a checkpoint every `every` until `done`, bumping `epoch` around each one (odd while a
/// checkpoint runs) and recording the pauses in `pauses`.
pub(super) fn checkpointer(
    epoch: &AtomicU64,
    pauses: &Mutex<CheckpointPauses>,
    every: Duration,
    f: CheckpointFn<'_>,
    done: &AtomicBool,
) -> anyhow::Result<()> {
    let mut next = Instant::now() + every;
    while !done.load(Ordering::SeqCst) {
        if Instant::now() < next {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        epoch.fetch_add(1, Ordering::SeqCst);
        let t0 = Instant::now();
        let r = f();
        let d = t0.elapsed();
        epoch.fetch_add(1, Ordering::SeqCst);
        r.context("checkpoint during the workload")?;
        let mut c = pauses.lock();
        c.count += 1;
        c.longest = c.longest.max(d);
        next = Instant::now() + every;
    }
    Ok(())
}

/// Prints the progress line of phase `name` every second until `done`, from the phase's
/// (put, taken) counters.
pub(super) fn progress_line(
    name: &str,
    (put, taken): (&AtomicU64, &AtomicU64),
    start: Instant,
    done: &AtomicBool,
) {
    use std::io::IsTerminal;
    let tty = std::io::stderr().is_terminal();
    let mut last = Instant::now();
    let mut printed = false;
    while !done.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
        if last.elapsed() < Duration::from_secs(1) {
            continue;
        }
        last = Instant::now();
        let secs = start.elapsed().as_secs_f64();
        let put = put.load(Ordering::Relaxed);
        let taken = taken.load(Ordering::Relaxed);
        let line = format!(
            "{}: {secs:6.1}s  put {put} ({:.0}/s)  taken {taken} ({:.0}/s)",
            name,
            put as f64 / secs,
            taken as f64 / secs
        );
        if tty {
            eprint!("\r{line}   ");
        } else {
            eprintln!("{line}");
        }
        printed = true;
    }
    if tty && printed {
        eprintln!();
    }
}
