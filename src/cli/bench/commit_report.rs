//! Group commit's breakdown in the bench report: per leader pass, where the time went (the
//! wait for the `io` lock, the direct write, the fdatasync, the fstat) and how long a woken
//! committer took to run again, from the channel's [`GroupCommitStats`].

use std::fmt::Write;

use serde::Serialize;
use sluice_core::GroupCommitStats;

/// Group commit during one phase (file channel only).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct GroupCommitReport {
    /// Commits per fdatasync (all fdatasyncs, rolls' included).
    pub commits_per_fsync: f64,
    /// Leader passes.
    pub leads: u64,
    /// Share of leader passes that overlapped another one still in flight.
    pub overlapped_share: f64,
    /// Mean wait of a leader for the `io` lock, µs.
    pub io_wait_us: f64,
    /// Mean direct write of a leader (0 when buffered), µs.
    pub write_us: f64,
    /// Mean leader fdatasync, µs.
    pub fsync_us: f64,
    /// Mean fstat after it, µs.
    pub fstat_us: f64,
    /// Direct-I/O leaders that zeroed blocks ahead of their write.
    pub zero_aheads: u64,
    /// Mean time of such a zero write, µs.
    pub zero_us: f64,
    /// Direct-I/O buffers allocated because none was pooled.
    pub fresh_buffers: u64,
    /// Leader passes that held their target back to gather the last group's size.
    pub gathers: u64,
    /// Mean time a gathering leader waited, µs.
    pub gather_us: f64,
    /// Committers woken by a leader's result.
    pub wakeups: u64,
    /// Mean time from the leader's notify to a woken committer running, µs.
    pub wake_us: f64,
}

fn mean_us(sum_ns: u64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        sum_ns as f64 / n as f64 / 1e3
    }
}

impl GroupCommitReport {
    /// The report of a phase's counters (`None` when nothing was led: not a file channel, or
    /// no commits that wrote).
    pub fn from_stats(g: &GroupCommitStats, commits: u64, fsyncs: u64) -> Option<Self> {
        if g.leads == 0 {
            return None;
        }
        Some(GroupCommitReport {
            commits_per_fsync: if fsyncs == 0 {
                0.0
            } else {
                commits as f64 / fsyncs as f64
            },
            leads: g.leads,
            overlapped_share: g.overlapped_leads as f64 / g.leads as f64,
            io_wait_us: mean_us(g.io_wait_ns, g.leads),
            write_us: mean_us(g.write_ns, g.writes),
            fsync_us: mean_us(g.sync_ns, g.syncs),
            fstat_us: mean_us(g.stat_ns, g.syncs),
            zero_aheads: g.zero_aheads,
            zero_us: mean_us(g.zero_ns, g.zero_aheads),
            fresh_buffers: g.fresh_buffers,
            gathers: g.gathers,
            gather_us: mean_us(g.gather_ns, g.gathers),
            wakeups: g.wakeups,
            wake_us: mean_us(g.wake_ns, g.wakeups),
        })
    }

    /// Two lines for the table.
    pub fn write_text(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "  group commit: {:.1} commits/fsync, {} leads ({:.0} % overlapped); per lead: io wait {:.1} µs, write {:.1} µs, fdatasync {:.1} µs, fstat {:.1} µs; {} zeroed ahead, {:.1} µs each; {} fresh buffers",
            self.commits_per_fsync,
            self.leads,
            self.overlapped_share * 100.0,
            self.io_wait_us,
            self.write_us,
            self.fsync_us,
            self.fstat_us,
            self.zero_aheads,
            self.zero_us,
            self.fresh_buffers
        );
        let _ = writeln!(
            s,
            "  wake-ups: {} committers woken by a leader, {:.1} µs from notify to running; {} leads gathered their group, {:.1} µs each",
            self.wakeups, self.wake_us, self.gathers, self.gather_us
        );
    }
}
