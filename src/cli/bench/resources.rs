//! Process resource counters for the report: CPU time and peak RSS (getrusage) and bytes
//! written and read (`/proc/self/io`: `wchar` passed to write calls, `write_bytes` sent to
//! storage, `read_bytes` fetched from storage: zero while takers are served from memory).

use std::collections::HashMap;
use std::time::Duration;

/// A reading of the process counters.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// User plus system CPU time of every thread of the process.
    pub cpu: Duration,
    /// Peak resident set size in bytes.
    pub peak_rss_bytes: u64,
    /// Bytes handed to write-like system calls.
    pub wchar: u64,
    /// Bytes the process caused to be written to storage.
    pub write_bytes: u64,
    /// Bytes the process caused to be read from storage (page-cache hits do not count).
    pub read_bytes: u64,
}

impl Usage {
    /// Bytes sent to storage, as well as the process counters tell: `write_bytes`, but never
    /// more than `wchar`. The kernel counts a whole page-cache folio into `write_bytes` each
    /// time it is dirtied again, and the large folios of a recycled segment's cached pages
    /// (up to 2 MiB) made a 400 MB/s single putter read as 1.7 GB/s while the device wrote
    /// what the putter did (`/sys/block/*/stat`).
    pub fn storage_write_bytes(&self) -> u64 {
        self.write_bytes.min(self.wchar)
    }
}

/// The I/O counters of a `/proc/<pid>/io` text: (wchar, write_bytes, read_bytes). Lines
/// that are missing or do not parse read as zero.
pub fn parse_proc_io(text: &str) -> (u64, u64, u64) {
    let (mut wchar, mut write_bytes, mut read_bytes) = (0, 0, 0);
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v: u64 = v.trim().parse().unwrap_or(0);
        match k.trim() {
            "wchar" => wchar = v,
            "write_bytes" => write_bytes = v,
            "read_bytes" => read_bytes = v,
            _ => {}
        }
    }
    (wchar, write_bytes, read_bytes)
}

/// Reads the counters now. Unavailable ones read as zero.
pub fn now() -> Usage {
    let mut u = Usage::default();
    // SAFETY: getrusage writes into the zeroed struct we own; RUSAGE_SELF is always valid.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        (libc::getrusage(libc::RUSAGE_SELF, &mut ru) == 0).then_some(ru)
    };
    if let Some(ru) = ru {
        let tv = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec.max(0) as u64)
                + Duration::from_micros(t.tv_usec.max(0) as u64)
        };
        u.cpu = tv(ru.ru_utime) + tv(ru.ru_stime);
        u.peak_rss_bytes = (ru.ru_maxrss.max(0) as u64) * 1024;
    }
    if let Ok(text) = std::fs::read_to_string("/proc/self/io") {
        (u.wchar, u.write_bytes, u.read_bytes) = parse_proc_io(&text);
    }
    u
}

/// CPU time so far of each thread of this process named `name` (`/proc/self/task/*/comm`),
/// by thread id, in ns: `schedstat`'s run time, or `stat`'s user + system ticks without it.
pub fn threads_cpu_ns(name: &str) -> HashMap<u64, u64> {
    let mut out = HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in tasks.flatten() {
        let Some(tid) = t.file_name().to_str().and_then(|s| s.parse::<u64>().ok()) else {
            continue;
        };
        let dir = t.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        let ns = std::fs::read_to_string(dir.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .or_else(|| stat_ticks_ns(&std::fs::read_to_string(dir.join("stat")).ok()?));
        if let Some(ns) = ns {
            out.insert(tid, ns);
        }
    }
    out
}

/// User + system time of a `/proc/<pid>/task/<tid>/stat` text, in ns.
fn stat_ticks_ns(stat: &str) -> Option<u64> {
    // The fields after the command name (which may hold spaces) start with the state: utime
    // and stime are the 12th and 13th of them.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_whitespace().skip(11);
    let ticks: u64 = f.next()?.parse::<u64>().ok()? + f.next()?.parse::<u64>().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| ticks * 1_000_000_000 / hz as u64)
}

/// CPU the threads of `later` used since `earlier` (threads that ended in between are missed;
/// threads that started count from zero).
pub fn threads_cpu_since(later: &HashMap<u64, u64>, earlier: &HashMap<u64, u64>) -> Duration {
    let ns: u64 = later
        .iter()
        .map(|(tid, ns)| ns.saturating_sub(earlier.get(tid).copied().unwrap_or(0)))
        .sum();
    Duration::from_nanos(ns)
}

impl Usage {
    /// Counters accumulated since `earlier` (peak RSS is the later reading).
    pub fn since(&self, earlier: &Usage) -> Usage {
        Usage {
            cpu: self.cpu.saturating_sub(earlier.cpu),
            peak_rss_bytes: self.peak_rss_bytes,
            wchar: self.wchar.saturating_sub(earlier.wchar),
            write_bytes: self.write_bytes.saturating_sub(earlier.write_bytes),
            read_bytes: self.read_bytes.saturating_sub(earlier.read_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_io_counters_are_read_by_name() {
        let text = "rchar: 5\nwchar: 4096\nsyscr: 1\nsyscw: 2\nread_bytes: 8192\n\
                    write_bytes: 12288\ncancelled_write_bytes: 0\n";
        assert_eq!(parse_proc_io(text), (4096, 12288, 8192));
    }

    #[test]
    fn storage_writes_never_exceed_what_was_handed_to_write_calls() {
        let folio_recount = Usage {
            wchar: 115_000,
            write_bytes: 2 << 20,
            ..Usage::default()
        };
        assert_eq!(folio_recount.storage_write_bytes(), 115_000);
        let rewrites_merged = Usage {
            wchar: 1 << 20,
            write_bytes: 4096,
            ..Usage::default()
        };
        assert_eq!(rewrites_merged.storage_write_bytes(), 4096);
    }

    #[test]
    fn missing_or_garbled_proc_io_lines_read_as_zero() {
        assert_eq!(parse_proc_io(""), (0, 0, 0));
        let text = "read_bytes: lots\nwchar 7\nwrite_bytes: 3\n";
        assert_eq!(parse_proc_io(text), (0, 3, 0));
    }

    #[test]
    fn a_thread_stat_reads_user_plus_system_ticks_past_a_name_with_spaces() {
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
        let stat = "42 (a b) c) S 1 2 3 4 5 6 7 8 9 10 30 12 0 0 20 0 1 0";
        assert_eq!(stat_ticks_ns(stat), Some(42 * 1_000_000_000 / hz));
        assert_eq!(stat_ticks_ns("garbage"), None);
    }

    #[test]
    fn this_threads_cpu_is_found_by_its_name_and_grows() {
        let h = std::thread::Builder::new()
            .name("cpu-probe-test".into())
            .spawn(|| {
                let a = threads_cpu_ns("cpu-probe-test");
                let t = std::time::Instant::now();
                let mut x = 0u64;
                while t.elapsed() < Duration::from_millis(50) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
                let b = threads_cpu_ns("cpu-probe-test");
                (a, b)
            })
            .unwrap();
        let (a, b) = h.join().unwrap();
        assert_eq!((a.len(), b.len()), (1, 1));
        assert!(threads_cpu_since(&b, &a) >= Duration::from_millis(20));
        assert!(threads_cpu_ns("no-such-thread-name").is_empty());
    }

    #[test]
    fn usage_since_is_the_difference_of_each_counter() {
        let a = Usage {
            read_bytes: 100,
            write_bytes: 10,
            ..Usage::default()
        };
        let b = Usage {
            read_bytes: 4196,
            write_bytes: 30,
            ..Usage::default()
        };
        let d = b.since(&a);
        assert_eq!((d.read_bytes, d.write_bytes), (4096, 20));
        assert_eq!(a.since(&b).read_bytes, 0, "a counter never goes below zero");
    }
}
