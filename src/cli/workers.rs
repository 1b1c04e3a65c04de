//! How many async worker threads `sluice agent` runs: `--worker-threads`, else tokio's own
//! `TOKIO_WORKER_THREADS`, else one fewer than the CPUs the process may use (at least one).
//!
//! The workers run the sources' and sinks' network and parsing; the channel's commits (their
//! group commit and fdatasync), file writes and decodes of large calls run on the blocking
//! pool beside them. With as many workers as CPUs, a worker that found nothing to do parked
//! and was woken again for every commit handed back, and workers, blocking threads and the
//! kernel's I/O preempted one another: on 2 vCPUs, W2's two agents spent a third of the
//! collector's CPU in the scheduler. One worker there carried W2 at 12 % less CPU per event
//! and more events/s, W1 at its ratios to Fluent Bit (docs/performance-findings.md, "Worker
//! threads").

/// Tokio's variable for the default number of workers.
const TOKIO_ENV: &str = "TOKIO_WORKER_THREADS";

/// The workers for `flag` (from `--worker-threads`), `env` (`TOKIO_WORKER_THREADS`, if set)
/// and `cpus` (the CPUs available).
pub(crate) fn choose(flag: Option<usize>, env: Option<&str>, cpus: usize) -> usize {
    if let Some(n) = flag {
        return n.max(1);
    }
    if let Some(n) = env.and_then(|v| v.trim().parse::<usize>().ok()) {
        return n.max(1);
    }
    cpus.saturating_sub(1).max(1)
}

/// The workers for this process, given `--worker-threads`.
pub(crate) fn workers(flag: Option<usize>) -> usize {
    let env = std::env::var(TOKIO_ENV).ok();
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    choose(flag, env.as_deref(), cpus)
}

#[cfg(test)]
mod tests {
    use super::choose;

    #[test]
    fn the_flag_wins_then_tokios_variable_then_one_fewer_than_the_cpus() {
        assert_eq!(choose(Some(3), Some("5"), 8), 3);
        assert_eq!(choose(None, Some("5"), 8), 5);
        assert_eq!(choose(None, Some(" 2 "), 8), 2);
        assert_eq!(
            choose(None, Some("many"), 8),
            7,
            "an unreadable variable is ignored"
        );
        assert_eq!(choose(None, None, 8), 7);
        assert_eq!(choose(None, None, 2), 1);
        assert_eq!(choose(None, None, 1), 1, "never zero");
        assert_eq!(choose(Some(0), None, 4), 1);
    }
}
