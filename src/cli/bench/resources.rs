//! Process resource counters for the report: CPU time and peak RSS (getrusage) and bytes
//! written (`/proc/self/io`: `wchar` passed to write calls, `write_bytes` sent to storage).

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
        for line in text.lines() {
            let mut parts = line.split(':');
            let (Some(k), Some(v)) = (parts.next(), parts.next()) else {
                continue;
            };
            let v: u64 = v.trim().parse().unwrap_or(0);
            match k {
                "wchar" => u.wchar = v,
                "write_bytes" => u.write_bytes = v,
                _ => {}
            }
        }
    }
    u
}

impl Usage {
    /// Counters accumulated since `earlier` (peak RSS is the later reading).
    pub fn since(&self, earlier: &Usage) -> Usage {
        Usage {
            cpu: self.cpu.saturating_sub(earlier.cpu),
            peak_rss_bytes: self.peak_rss_bytes,
            wchar: self.wchar.saturating_sub(earlier.wchar),
            write_bytes: self.write_bytes.saturating_sub(earlier.write_bytes),
        }
    }
}
