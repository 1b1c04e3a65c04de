//! The helper threads of a phase: the checkpointer that forces checkpoints and times the
//! pauses (`--checkpoint-every-ms`), and the once-a-second progress line on stderr.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::workload::{CheckpointFn, Shared};

/// Writes a checkpoint every `every` until `done`, bumping the epoch around each one.
pub(super) fn checkpointer(
    sh: &Shared<'_>,
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
        sh.ckpt_epoch.fetch_add(1, Ordering::SeqCst);
        let t0 = Instant::now();
        let r = f();
        let d = t0.elapsed();
        sh.ckpt_epoch.fetch_add(1, Ordering::SeqCst);
        r.context("checkpoint during the workload")?;
        let mut c = sh.ckpt.lock();
        c.count += 1;
        c.longest = c.longest.max(d);
        next = Instant::now() + every;
    }
    Ok(())
}

/// Prints the progress line every second until `done`.
pub(super) fn progress_line(sh: &Shared<'_>, start: Instant, done: &AtomicBool) {
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
        let put = sh.put.load(Ordering::Relaxed);
        let taken = sh.taken.load(Ordering::Relaxed);
        let line = format!(
            "{}: {secs:6.1}s  put {put} ({:.0}/s)  taken {taken} ({:.0}/s)",
            sh.spec.name,
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
