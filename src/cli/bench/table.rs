//! The human-readable form of a [`Report`]: a header line, one row per phase, then the
//! verification, probe, reopen and checkpoint lines.

use std::fmt::Write;

use super::probe::ProbeResult;
use super::report::{Comparison, PhaseReport, Report, Verification};

/// Renders the probe alone (`sluice bench --probe`).
pub fn probe_text(p: &ProbeResult) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "probe of {}", p.dir.display());
    let _ = writeln!(
        s,
        "  1 MiB write + fdatasync, buffered   {:9.1} MB/s",
        p.buffered_mb_per_sec
    );
    match p.direct_mb_per_sec {
        Some(v) => {
            let _ = writeln!(s, "  1 MiB write + fdatasync, O_DIRECT   {v:9.1} MB/s");
        }
        None => {
            let note = p.direct_note.as_deref().unwrap_or("not measured");
            let _ = writeln!(s, "  1 MiB write + fdatasync, O_DIRECT   {note}");
        }
    }
    let _ = writeln!(
        s,
        "  synced sequential write (better)    {:9.1} MB/s",
        p.synced_write_mb_per_sec
    );
    let _ = writeln!(
        s,
        "  4 KiB append + fdatasync            {:9.0} /s (p50 {:.0} µs)",
        p.fdatasync_per_sec, p.fdatasync_p50_us
    );
    let _ = writeln!(
        s,
        "  4 KiB write + fdatasync, preallocated {:7.0} /s (p50 {:.0} µs)",
        p.prealloc_fdatasync_per_sec, p.prealloc_fdatasync_p50_us
    );
    let _ = writeln!(
        s,
        "  112 KiB append + fdatasync          {:9.0} /s (p50 {:.0} µs): one committer's ceiling, {:.0} ev/s at batch 100",
        p.batch_fdatasync_per_sec,
        p.batch_fdatasync_p50_us,
        p.batch_fdatasync_per_sec * 100.0
    );
    match p.direct_overwrite_mb_per_sec {
        Some(v) => {
            let _ = writeln!(s, "  1 MiB O_DIRECT overwrite + fdatasync {v:8.1} MB/s");
        }
        None => {
            let _ = writeln!(
                s,
                "  1 MiB O_DIRECT overwrite + fdatasync not measured (O_DIRECT refused)"
            );
        }
    }
    s
}

/// Renders the whole report.
pub fn text(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "sluice bench: {} channel, {}", r.channel, r.workload);
    let _ = writeln!(
        s,
        "{:<6} {:>9} {:>7} {:>10} {:>8} {:>8} {:>9} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8} {:>7}",
        "phase",
        "events",
        "secs",
        "events/s",
        "pay MB/s",
        "disk MB/s",
        "commits/s",
        "fsyncs/s",
        "p50 µs",
        "p99 µs",
        "p99.9 µs",
        "max µs",
        "B/event",
        "CPU µs/ev"
    );
    for p in &r.phases {
        write_phase(&mut s, p);
    }
    let _ = writeln!(
        s,
        "peak RSS {:.1} MB; load average {:?}",
        r.peak_rss_mb, r.load_average
    );
    if let Some(c) = &r.comparison {
        write_comparison(&mut s, c);
    }
    if let Some(v) = &r.verified {
        write_verification(&mut s, v);
    }
    if let Some(p) = &r.probe {
        s.push_str(&probe_text(p));
    }
    if let Some(v) = &r.vs_probe {
        let _ = writeln!(
            s,
            "vs probe: payload {:.0}% and on-disk {:.0}% of synced sequential write; {:.2} commits per probe fdatasync",
            v.payload_fraction_of_synced_write * 100.0,
            v.disk_fraction_of_synced_write * 100.0,
            v.commits_per_probe_fdatasync
        );
    }
    if let Some(o) = &r.reopen {
        let _ = writeln!(
            s,
            "reopen of {} events ({:.1} MB of log{}): with checkpoint {:.3} s ({}), full replay {:.3} s ({}, {:.0} MB/s)",
            o.backlog_events,
            o.log_bytes as f64 / 1e6,
            if o.caches_dropped { ", cold cache" } else { ", warm cache" },
            o.with_checkpoint_secs,
            o.with_checkpoint_source,
            o.full_replay_secs,
            o.full_replay_source,
            o.replay_mb_per_sec
        );
    }
    s
}

/// A phase's row and the lines under it (reads, caches, group commit, checkpoints).
fn write_phase(s: &mut String, p: &PhaseReport) {
    let q = &p.rates;
    let l = &q.commit_latency_us;
    let _ = writeln!(
        s,
        "{:<6} {:>9} {:>7.2} {:>10.0} {:>8.1} {:>9.1} {:>9.0} {:>8.0} {:>8.0} {:>8.0} {:>9.0} {:>8.0} {:>8.0} {:>9.2}",
        p.phase,
        p.events_put.max(p.events_taken),
        p.secs,
        q.events_per_sec,
        q.payload_mb_per_sec,
        q.disk_mb_per_sec,
        q.commits_per_sec,
        q.fsyncs_per_sec,
        l.p50,
        l.p99,
        l.p999,
        l.max,
        q.bytes_written_per_event,
        q.cpu_us_per_event
    );
    let _ = writeln!(
        s,
        "  disk reads: {} bytes ({:.1} MB)",
        q.disk_read_bytes,
        q.disk_read_bytes as f64 / 1e6
    );
    if let Some(rate) = q.tail_cache_hit_rate {
        let _ = writeln!(
            s,
            "  tail cache: {:.1} % of takes served from memory",
            rate * 100.0
        );
    }
    if let Some(r) = p.receiver_cpu_us_per_event {
        let _ = writeln!(s, "  receiver CPU: {r:.2} µs/event");
    }
    if p.segments_recycled > 0 {
        let _ = writeln!(
            s,
            "  segments recycled: {} (written into spares)",
            p.segments_recycled
        );
    }
    if let Some(g) = &p.group_commit {
        g.write_text(s);
    }
    if let Some(c) = &p.checkpoints {
        let _ = writeln!(
            s,
            "  {} checkpoints: longest {:.0} µs; longest commit during one {:.0} µs, otherwise {:.0} µs",
            c.count,
            c.longest_checkpoint_us,
            c.longest_commit_during_checkpoint_us,
            c.longest_commit_otherwise_us
        );
        let _ = writeln!(
            s,
            "  commits during a checkpoint: {} (p99 {:.0} µs); otherwise: {} (p99 {:.0} µs)",
            c.commits_during_checkpoint,
            c.p99_commit_during_checkpoint_us,
            c.commits_otherwise,
            c.p99_commit_otherwise_us
        );
    }
}

/// The RPC rounds and their ratio to the channel alone.
fn write_comparison(s: &mut String, c: &Comparison) {
    let list = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        s,
        "rounds: {}; rpc events/s [{}]",
        c.rounds,
        list(&c.rpc_events_per_sec)
    );
    if let Some(ratio) = c.ratio {
        let _ = writeln!(
            s,
            "channel put events/s [{}]; ratio = rpc / channel put (medians) = {ratio:.2}; receiver CPU {:.2} vs {:.2} µs/event",
            list(&c.channel_events_per_sec),
            c.rpc_receiver_cpu_us_per_event.unwrap_or(f64::NAN),
            c.channel_cpu_us_per_event.unwrap_or(f64::NAN)
        );
    }
}

/// What the run took back, or every problem found.
fn write_verification(s: &mut String, v: &Verification) {
    if v.ok {
        let _ = writeln!(
            s,
            "verified: all {} events put were taken back intact",
            v.put
        );
    } else {
        let _ = writeln!(
            s,
            "VERIFICATION FAILED: put {}, taken {}, missing {}, duplicates {}, damaged {}",
            v.put, v.taken, v.missing, v.duplicates, v.damaged
        );
        for p in &v.problems {
            let _ = writeln!(s, "  {p}");
        }
    }
}
