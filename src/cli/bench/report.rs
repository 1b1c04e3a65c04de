//! The bench report: per-phase rates and latencies, the verification verdict, and the optional
//! probe, reopen and checkpoint-pause sections; printed as a table or as one JSON object.

use serde::Serialize;

use super::commit_report::GroupCommitReport;
use super::probe::ProbeResult;
use super::reopen::ReopenResult;
use super::workload::{CheckpointPauses, PhaseResult};

/// Commit latency quantiles in microseconds.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
}

impl Latency {
    /// The quantiles of a histogram of nanoseconds, in microseconds (zeros when it is empty).
    pub fn of(h: &hdrhistogram::Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            p50: us(h.value_at_quantile(0.5)),
            p99: us(h.value_at_quantile(0.99)),
            p999: us(h.value_at_quantile(0.999)),
            max: us(h.max()),
        }
    }
}

/// What a phase achieved, per second and per event.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Rates {
    /// Events per second (puts, or takes in a take-only phase).
    pub events_per_sec: f64,
    /// Payload (body plus headers) per second, MB/s.
    pub payload_mb_per_sec: f64,
    /// Bytes sent to storage per second (`/proc/self/io` write_bytes), MB/s.
    pub disk_mb_per_sec: f64,
    /// Bytes read from storage during the phase (`/proc/self/io` read_bytes, delta): zero
    /// when every take was served from memory (page cache or the channel's own).
    pub disk_read_bytes: u64,
    /// Share of takes served from the channel's event cache (`tailCacheSize`); `None` when
    /// nothing was looked up there (no takes, or the cache never kept an event).
    pub tail_cache_hit_rate: Option<f64>,
    /// Commits per second.
    pub commits_per_sec: f64,
    /// fdatasync calls on data segments per second.
    pub fsyncs_per_sec: f64,
    /// Commit latency.
    pub commit_latency_us: Latency,
    /// Bytes handed to write calls per event (log records, checkpoints).
    pub bytes_written_per_event: f64,
    /// CPU time (all threads, user + system) per event, µs.
    pub cpu_us_per_event: f64,
}

/// One phase, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseReport {
    /// `put`, `take` or `mixed`.
    pub phase: String,
    /// Events put.
    pub events_put: u64,
    /// Events taken.
    pub events_taken: u64,
    /// Wall time, seconds.
    pub secs: f64,
    /// Its rates (flattened into the phase's JSON object).
    #[serde(flatten)]
    pub rates: Rates,
    /// Checkpoints forced during the phase and the pauses they caused.
    pub checkpoints: Option<CheckpointReport>,
    /// Group commit's breakdown (file channel, when commits were led).
    pub group_commit: Option<GroupCommitReport>,
    /// Segments started in a recycled spare file during the phase (`recycleSegments`).
    pub segments_recycled: u64,
    /// CPU per event of the receiving side alone, µs: an RPC run's in-process agent (the
    /// process less the bench client's threads), or the whole process for the channel alone
    /// next to it (`--compare-channel`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver_cpu_us_per_event: Option<f64>,
}

/// Checkpoint pauses, µs.
#[derive(Clone, Debug, Serialize)]
pub struct CheckpointReport {
    /// Checkpoints written.
    pub count: u64,
    /// Longest checkpoint.
    pub longest_checkpoint_us: f64,
    /// Longest commit that overlapped a checkpoint: the pause a checkpoint caused.
    pub longest_commit_during_checkpoint_us: f64,
    /// Longest commit that did not.
    pub longest_commit_otherwise_us: f64,
    /// 99th percentile of the commits that overlapped a checkpoint.
    pub p99_commit_during_checkpoint_us: f64,
    /// 99th percentile of the commits that did not.
    pub p99_commit_otherwise_us: f64,
    /// Commits that overlapped a checkpoint.
    pub commits_during_checkpoint: u64,
    /// Commits that did not.
    pub commits_otherwise: u64,
}

/// Did every event put come back intact?
#[derive(Clone, Debug, Default, Serialize)]
pub struct Verification {
    /// True when every event put was taken exactly once and intact.
    pub ok: bool,
    /// Events put.
    pub put: u64,
    /// Events taken.
    pub taken: u64,
    /// Ids put but never taken.
    pub missing: u64,
    /// Ids taken more than once.
    pub duplicates: u64,
    /// Events whose bytes or headers differ from what was put.
    pub damaged: u64,
    /// The first few problems.
    pub problems: Vec<String>,
}

/// The run against the probe.
#[derive(Clone, Debug, Serialize)]
pub struct VsProbe {
    /// Payload MB/s over the probe's synced write MB/s.
    pub payload_fraction_of_synced_write: f64,
    /// On-disk MB/s over the probe's synced write MB/s.
    pub disk_fraction_of_synced_write: f64,
    /// Commits per second over the probe's fdatasyncs per second.
    pub commits_per_probe_fdatasync: f64,
}

/// The whole report. The top-level rates are those of the first phase.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `file` or `memory`.
    pub channel: String,
    /// What ran.
    pub workload: serde_json::Value,
    /// The first phase's rates (flattened: `events_per_sec`, ... at the top level).
    #[serde(flatten)]
    pub rates: Rates,
    /// Peak resident set size of the process, MB.
    pub peak_rss_mb: f64,
    /// Every phase.
    pub phases: Vec<PhaseReport>,
    /// Verification, when the run took back what it put.
    pub verified: Option<Verification>,
    /// The directory's limits, with --probe or --with-probe.
    pub probe: Option<ProbeResult>,
    /// The first phase against the probe.
    pub vs_probe: Option<VsProbe>,
    /// Reopen timings, with --reopen.
    pub reopen: Option<ReopenResult>,
    /// 1, 5 and 15 minute load averages at the start.
    pub load_average: Vec<f64>,
    /// `--rpc` with `--rounds` or `--compare-channel`: every round and the ratio to the
    /// channel alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
}

/// Hits over lookups, when there were lookups.
pub fn hit_rate((hits, misses): (u64, u64)) -> Option<f64> {
    let lookups = hits + misses;
    (lookups > 0).then(|| hits as f64 / lookups as f64)
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

impl PhaseReport {
    /// Summarises a phase.
    pub fn from_result(r: &PhaseResult) -> PhaseReport {
        let secs = r.elapsed.as_secs_f64().max(1e-9);
        let events = r.events().max(1) as f64;
        let latency = Latency::of(&r.latency);
        PhaseReport {
            phase: r.name.to_owned(),
            events_put: r.put,
            events_taken: r.taken,
            secs,
            rates: Rates {
                events_per_sec: r.events() as f64 / secs,
                payload_mb_per_sec: r.payload_bytes as f64 / 1e6 / secs,
                disk_mb_per_sec: r.usage.storage_write_bytes() as f64 / 1e6 / secs,
                disk_read_bytes: r.usage.read_bytes,
                tail_cache_hit_rate: hit_rate(r.tail_cache),
                commits_per_sec: r.commits as f64 / secs,
                fsyncs_per_sec: r.fsyncs as f64 / secs,
                commit_latency_us: latency,
                bytes_written_per_event: r.usage.wchar as f64 / events,
                cpu_us_per_event: r.usage.cpu.as_secs_f64() * 1e6 / events,
            },
            checkpoints: r.checkpoints.as_ref().map(checkpoint_report),
            group_commit: GroupCommitReport::from_stats(&r.group_commit, r.commits, r.fsyncs),
            segments_recycled: r.segments_recycled,
            receiver_cpu_us_per_event: None,
        }
    }
}

fn checkpoint_report(c: &CheckpointPauses) -> CheckpointReport {
    CheckpointReport {
        count: c.count,
        longest_checkpoint_us: c.longest.as_secs_f64() * 1e6,
        longest_commit_during_checkpoint_us: c.longest_overlapping_commit.as_secs_f64() * 1e6,
        longest_commit_otherwise_us: c.longest_other_commit.as_secs_f64() * 1e6,
        p99_commit_during_checkpoint_us: c.p99_overlapping_commit.as_secs_f64() * 1e6,
        p99_commit_otherwise_us: c.p99_other_commit.as_secs_f64() * 1e6,
        commits_during_checkpoint: c.commits.0,
        commits_otherwise: c.commits.1,
    }
}

/// Checks that the taken ids are exactly `0..put`, each once.
pub fn verify(put: u64, mut ids: Vec<u64>, damaged: (u64, Vec<String>)) -> Verification {
    ids.sort_unstable();
    let taken = ids.len() as u64 + damaged.0;
    let mut duplicates = 0;
    let mut in_range = 0;
    for (i, id) in ids.iter().enumerate() {
        if i > 0 && ids[i - 1] == *id {
            duplicates += 1;
        } else if *id < put {
            in_range += 1;
        }
    }
    let missing = put - in_range;
    let mut problems = damaged.1;
    if missing > 0 {
        problems.push(format!("{missing} events put were not taken back"));
    }
    if duplicates > 0 {
        problems.push(format!("{duplicates} events were taken more than once"));
    }
    let extra = ids.len() as u64 - duplicates - in_range;
    if extra > 0 {
        problems.push(format!("{extra} events taken were never put by this run"));
    }
    Verification {
        ok: problems.is_empty() && damaged.0 == 0,
        put,
        taken,
        missing,
        duplicates,
        damaged: damaged.0,
        problems,
    }
}

/// The 1/5/15 minute load averages.
pub fn load_average() -> Vec<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| {
            s.split_whitespace()
                .take(3)
                .filter_map(|v| v.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Every round of an `--rpc` run, and the RPC figure over the channel's.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// Rounds run.
    pub rounds: u32,
    /// Events/s of each RPC round, in order.
    pub rpc_events_per_sec: Vec<f64>,
    /// Events/s of each channel-alone round, in order (empty without `--compare-channel`).
    pub channel_events_per_sec: Vec<f64>,
    /// The median RPC round's events/s over the median channel round's (`None` without
    /// `--compare-channel`).
    pub ratio: Option<f64>,
    /// Receiver CPU per event of the median rounds, µs: the agent (RPC) and the channel alone.
    pub rpc_receiver_cpu_us_per_event: Option<f64>,
    /// As above, for the channel alone.
    pub channel_cpu_us_per_event: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_counts_missing_duplicate_and_foreign_ids() {
        assert!(verify(3, vec![2, 0, 1], (0, vec![])).ok);
        let v = verify(4, vec![0, 1, 1, 9], (0, vec![]));
        assert!(!v.ok);
        assert_eq!((v.missing, v.duplicates), (2, 1));
        assert_eq!(v.problems.len(), 3);
        assert!(!verify(1, vec![0], (1, vec!["bad".into()])).ok);
    }
}

#[cfg(test)]
mod hit_rate_tests {
    use super::hit_rate;

    #[test]
    fn the_hit_rate_is_hits_over_lookups_and_absent_without_lookups() {
        assert_eq!(hit_rate((3, 1)), Some(0.75));
        assert_eq!(hit_rate((0, 5)), Some(0.0));
        assert_eq!(hit_rate((0, 0)), None);
    }
}
