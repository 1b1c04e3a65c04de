//! The row of one `sluice bench --rpc` round: what the calls and the in-process channel's
//! counters measured ([`Measured`]) as the channel bench's phase report (commits are calls,
//! the latency a call's round trip, fsyncs and group commit the file channel's own).

use std::time::Duration;

use sluice_core::ChannelStats;

use super::args::BenchArgs;
use super::commit_report::GroupCommitReport;
use super::payload::Payload;
use super::report::{hit_rate, Latency, PhaseReport, Rates};
use super::resources::Usage;
use super::rpc_client::Driven;

/// What a round measured.
pub(super) struct Measured {
    /// The calls: events sent, failures, round trips, seconds.
    pub driven: Driven,
    /// The process's resources over the calls.
    pub used: Usage,
    /// The client threads' CPU over the calls.
    pub client_cpu: Duration,
    /// The in-process file channel's counters before and after (None otherwise).
    pub stats: (Option<ChannelStats>, Option<ChannelStats>),
}

/// The round's row.
pub(super) fn phase_report(
    args: &BenchArgs,
    payload: &Payload,
    batch: usize,
    m: Measured,
) -> PhaseReport {
    let Driven {
        sent: events,
        hist: h,
        secs,
        ..
    } = m.driven;
    let used = m.used;
    let payload_bytes: u64 = (0..batch as u64)
        .map(|i| payload.payload_bytes(i) as u64)
        .sum::<u64>()
        * events
        / batch as u64;
    let (segments_recycled, fsyncs, group_commit, tail_cache_hit_rate) = channel_figures(&m.stats);
    let per_event = |d: Duration| d.as_secs_f64() * 1e6 / events.max(1) as f64;
    let rates = Rates {
        events_per_sec: events as f64 / secs,
        payload_mb_per_sec: payload_bytes as f64 / secs / 1e6,
        disk_mb_per_sec: used.storage_write_bytes() as f64 / secs / 1e6,
        disk_read_bytes: used.read_bytes,
        tail_cache_hit_rate,
        commits_per_sec: h.len() as f64 / secs,
        fsyncs_per_sec: fsyncs as f64 / secs,
        commit_latency_us: Latency::of(&h),
        bytes_written_per_event: used.wchar as f64 / events.max(1) as f64,
        cpu_us_per_event: per_event(used.cpu),
    };
    let receiver_cpu_us_per_event = args
        .target
        .is_none()
        .then(|| per_event(used.cpu.saturating_sub(m.client_cpu)));
    PhaseReport {
        phase: "rpc".into(),
        events_put: events,
        events_taken: 0,
        secs,
        rates,
        checkpoints: None,
        group_commit,
        segments_recycled,
        receiver_cpu_us_per_event,
    }
}

/// The channel's own counters over the run: segments recycled, fsyncs, group commit and the
/// event cache's hit rate (its commits are the source's puts and the sink's takes, its event
/// cache serves the sink's takes).
fn channel_figures(
    stats: &(Option<ChannelStats>, Option<ChannelStats>),
) -> (u64, u64, Option<GroupCommitReport>, Option<f64>) {
    let (Some(a), Some(b)) = stats else {
        return (0, 0, None, None);
    };
    let recycled = b.segments_recycled.saturating_sub(a.segments_recycled);
    let fsyncs = b.fsyncs.saturating_sub(a.fsyncs);
    let commits = b.commits.saturating_sub(a.commits);
    let g = b.group_commit.since(&a.group_commit);
    let tail = (
        b.tail_cache_hits.saturating_sub(a.tail_cache_hits),
        b.tail_cache_misses.saturating_sub(a.tail_cache_misses),
    );
    (
        recycled,
        fsyncs,
        GroupCommitReport::from_stats(&g, commits, fsyncs),
        hit_rate(tail),
    )
}
