//! The agent-wide series every Prometheus client library exposes: `sluice_build_info` (what
//! was built: version, git commit, target triple; value 1) and the `process_*` series read
//! from `/proc/self` on Linux (CPU time, resident and virtual memory, open and maximum file
//! descriptors, start time), with the names and units of the Go and Java clients, so the
//! usual dashboards work; and the agent's own memory figures under its prefix,
//! `sluice_process_resident_memory_bytes` (now) and `..._peak_bytes` (the most since start,
//! what the footprint benchmarks compare). A file that cannot be read leaves its series out
//! (not Linux, or a locked-down `/proc`).

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the process metrics read /proc/self, tested on the real one (DESIGN.md, the agent's std::fs rule)"
)]

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

/// The git commit the binary was built from (`build.rs`; "unknown" outside a git checkout).
pub(crate) const GIT_COMMIT: &str = match option_env!("SLUICE_COMMIT") {
    Some(c) => c,
    None => "unknown",
};
/// The target triple the binary was built for (`build.rs`).
pub(crate) const TARGET: &str = match option_env!("SLUICE_TARGET") {
    Some(t) => t,
    None => "unknown",
};

/// The process's figures at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct ProcessStats {
    /// User and system CPU time, in seconds.
    pub cpu_seconds: Option<f64>,
    /// Resident set size, in bytes.
    pub resident_bytes: Option<f64>,
    /// The most resident memory since the process started (`VmHWM`), in bytes.
    pub peak_resident_bytes: Option<f64>,
    /// Virtual memory size, in bytes.
    pub virtual_bytes: Option<f64>,
    /// Open file descriptors.
    pub open_fds: Option<f64>,
    /// The soft limit on open file descriptors.
    pub max_fds: Option<f64>,
    /// Start time, in seconds since the Unix epoch.
    pub start_time_seconds: Option<f64>,
}

/// `sysconf(name)` as a positive number.
fn sysconf(name: libc::c_int) -> Option<f64> {
    // SAFETY: sysconf only reads a system constant.
    let v = unsafe { libc::sysconf(name) };
    (v > 0).then_some(v as f64)
}

/// Fields 3 on of `/proc/<pid>/stat` (after the command name, which may hold spaces).
fn stat_fields(stat: &str) -> Vec<&str> {
    stat.rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default()
}

/// The field `n` (1-based, as proc(5) numbers them, 3 or more) as a number.
fn field(fields: &[&str], n: usize) -> Option<f64> {
    fields.get(n.checked_sub(3)?)?.parse().ok()
}

/// The soft "Max open files" of `/proc/<pid>/limits` ("unlimited" is left out).
fn max_open_files(limits: &str) -> Option<f64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `VmHWM` of `/proc/<pid>/status` (the resident peak), in bytes.
fn peak_resident(status: &str) -> Option<f64> {
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib * 1024.0)
}

/// `btime` of `/proc/stat`: the boot time in seconds since the epoch.
fn boot_time(stat: &str) -> Option<f64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

/// Reads the process's figures from `/proc`.
pub(crate) fn read_process() -> ProcessStats {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let mut s = ProcessStats::default();
    let ticks = sysconf(libc::_SC_CLK_TCK);
    let page = sysconf(libc::_SC_PAGESIZE);
    if let Some(stat) = read("/proc/self/stat") {
        let f = stat_fields(&stat);
        s.cpu_seconds = match (field(&f, 14), field(&f, 15), ticks) {
            (Some(u), Some(k), Some(t)) => Some((u + k) / t),
            _ => None,
        };
        s.virtual_bytes = field(&f, 23);
        s.resident_bytes = field(&f, 24).zip(page).map(|(pages, p)| pages * p);
        let boot = read("/proc/stat").as_deref().and_then(boot_time);
        s.start_time_seconds = match (field(&f, 22), ticks, boot) {
            (Some(start), Some(t), Some(b)) => Some(b + start / t),
            _ => None,
        };
    }
    s.peak_resident_bytes = read("/proc/self/status").as_deref().and_then(peak_resident);
    s.open_fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as f64);
    s.max_fds = read("/proc/self/limits")
        .as_deref()
        .and_then(max_open_files);
    s
}

/// Writes one gauge or counter without labels (nothing when `value` is `None`).
fn one(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<Unit>,
    counter: bool,
    value: Option<f64>,
) -> Result<(), std::fmt::Error> {
    let Some(v) = value else {
        return Ok(());
    };
    let typ = if counter {
        MetricType::Counter
    } else {
        MetricType::Gauge
    };
    let m = enc.encode_descriptor(name, help, unit.as_ref(), typ)?;
    if counter {
        ConstCounter::new(v).encode(m)
    } else {
        ConstGauge::new(v).encode(m)
    }
}

/// The agent-wide series as a collector.
#[derive(Debug)]
pub(crate) struct AgentSeries {
    /// The process's figures.
    pub process: ProcessStats,
}

impl prometheus_client::collector::Collector for AgentSeries {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let labels = [
            ("version", env!("CARGO_PKG_VERSION")),
            ("commit", GIT_COMMIT),
            ("target", TARGET),
        ];
        let help = "The Sluice build: version, git commit and target triple; always 1.";
        let mut m = enc.encode_descriptor("sluice_build_info", help, None, MetricType::Gauge)?;
        ConstGauge::new(1i64).encode(m.encode_family(&labels)?)?;
        let p = &self.process;
        let s = Some(Unit::Seconds);
        let b = Some(Unit::Bytes);
        let cpu = "User and system CPU time the process used, in seconds.";
        one(&mut enc, "process_cpu", cpu, s.clone(), true, p.cpu_seconds)?;
        let rss = "Resident memory of the process, in bytes.";
        one(
            &mut enc,
            "process_resident_memory",
            rss,
            b.clone(),
            false,
            p.resident_bytes,
        )?;
        let own = "Resident memory of the agent's process, in bytes (the value of \
                   process_resident_memory_bytes, under the agent's prefix).";
        one(
            &mut enc,
            "sluice_process_resident_memory",
            own,
            b.clone(),
            false,
            p.resident_bytes,
        )?;
        let peak = "The most resident memory the agent's process has held since it started \
                    (VmHWM), in bytes.";
        one(
            &mut enc,
            "sluice_process_resident_memory_peak",
            peak,
            b.clone(),
            false,
            p.peak_resident_bytes,
        )?;
        let vsz = "Virtual memory of the process, in bytes.";
        one(
            &mut enc,
            "process_virtual_memory",
            vsz,
            b,
            false,
            p.virtual_bytes,
        )?;
        let fds = "File descriptors the process has open.";
        one(&mut enc, "process_open_fds", fds, None, false, p.open_fds)?;
        let max = "The process's limit on open file descriptors (soft RLIMIT_NOFILE).";
        one(&mut enc, "process_max_fds", max, None, false, p.max_fds)?;
        let start = "When the process started, in seconds since the Unix epoch.";
        one(
            &mut enc,
            "process_start_time",
            start,
            s,
            false,
            p.start_time_seconds,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_numbered_as_in_proc_5_even_with_spaces_in_the_name() {
        let stat = "4242 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 4 0 1000 8192 3";
        let f = stat_fields(stat);
        assert_eq!(field(&f, 3), None, "S is not a number");
        assert_eq!(field(&f, 14), Some(250.0));
        assert_eq!(field(&f, 15), Some(50.0));
        assert_eq!(field(&f, 22), Some(1000.0));
        assert_eq!(field(&f, 23), Some(8192.0));
        assert_eq!(field(&f, 24), Some(3.0));
    }

    #[test]
    fn limits_and_boot_time_are_parsed() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(max_open_files(limits), Some(1024.0));
        assert_eq!(boot_time("cpu  1 2 3\nbtime 1700000000\n"), Some(1.7e9));
        let status = "Name:\tsluice\nVmPeak:\t  900 kB\nVmHWM:\t   23456 kB\nVmRSS:\t 20000 kB\n";
        assert_eq!(peak_resident(status), Some(23456.0 * 1024.0));
        assert_eq!(peak_resident("Name:\tx\n"), None);
    }

    #[test]
    fn this_process_has_figures_on_linux() {
        let p = read_process();
        assert!(p.cpu_seconds.is_some_and(|c| c >= 0.0), "{p:?}");
        assert!(p.resident_bytes.is_some_and(|b| b > 0.0), "{p:?}");
        let (now, peak) = (p.resident_bytes.unwrap_or(0.0), p.peak_resident_bytes);
        assert!(peak.is_some_and(|b| b >= now * 0.9), "{p:?}");
        assert!(p.open_fds.is_some_and(|n| n >= 3.0), "{p:?}");
        assert!(p.max_fds.is_some_and(|n| n >= 3.0), "{p:?}");
        assert!(p.start_time_seconds.is_some_and(|t| t > 1.5e9), "{p:?}");
    }
}
