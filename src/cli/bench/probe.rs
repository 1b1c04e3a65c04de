//! `sluice bench --probe`: what a directory's file system can do durably with plain writes,
//! so that a channel's figures can be read as a fraction of it. Sequential 1 MiB writes each
//! followed by fdatasync, buffered and with O_DIRECT (when the file system allows it), and
//! 4 KiB appends each followed by fdatasync.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde::Serialize;

/// Size of one sequential write.
const SEQ_WRITE_BYTES: usize = 1 << 20;
/// Size of one small append.
const SMALL_WRITE_BYTES: usize = 4096;
/// Alignment O_DIRECT needs on the file systems we meet (logical block size and page size).
const DIRECT_ALIGN: usize = 4096;
/// A probe file never grows past this; the write loop stops there.
const PROBE_FILE_BYTES_MAX: u64 = 2 << 30;

/// The directory's limits.
#[derive(Clone, Debug, Serialize)]
pub struct ProbeResult {
    /// Where it was measured.
    pub dir: PathBuf,
    /// Buffered 1 MiB write + fdatasync, MB/s.
    pub buffered_mb_per_sec: f64,
    /// O_DIRECT 1 MiB write + fdatasync, MB/s (None when the file system refuses O_DIRECT).
    pub direct_mb_per_sec: Option<f64>,
    /// The better of the two.
    pub synced_write_mb_per_sec: f64,
    /// 4 KiB append + fdatasync per second.
    pub fdatasync_per_sec: f64,
    /// Median latency of one 4 KiB append + fdatasync, µs.
    pub fdatasync_p50_us: f64,
    /// Why O_DIRECT was not measured, if it was not.
    pub direct_note: Option<String>,
}

/// Measures `dir`, spending about `secs` seconds on each of the three steps.
pub fn probe(dir: &Path, secs: f64) -> anyhow::Result<ProbeResult> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let step = Duration::from_secs_f64(secs.max(0.05));
    let path = dir.join(format!(".sluice-probe-{}", std::process::id()));
    let buffered = seq_synced(&path, false, step);
    let _ = std::fs::remove_file(&path);
    let buffered_mb_per_sec = buffered?.context("buffered writes were refused")?;
    let direct = seq_synced(&path, true, step);
    let _ = std::fs::remove_file(&path);
    let (direct_mb_per_sec, direct_note) = match direct {
        Ok(Some(v)) => (Some(v), None),
        Ok(None) => (
            None,
            Some("O_DIRECT refused (EINVAL): not measured".to_owned()),
        ),
        Err(e) => (None, Some(format!("O_DIRECT failed: {e:#}"))),
    };
    let small = small_appends(&path, step);
    let _ = std::fs::remove_file(&path);
    let (fdatasync_per_sec, fdatasync_p50_us) = small?;
    Ok(ProbeResult {
        dir: dir.to_path_buf(),
        buffered_mb_per_sec,
        direct_mb_per_sec,
        synced_write_mb_per_sec: direct_mb_per_sec.unwrap_or(0.0).max(buffered_mb_per_sec),
        fdatasync_per_sec,
        fdatasync_p50_us,
        direct_note,
    })
}

fn is_einval(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::EINVAL)
}

/// Sequential 1 MiB writes, each followed by fdatasync, for `step`. `Ok(None)` when O_DIRECT
/// is refused with EINVAL.
fn seq_synced(path: &Path, direct: bool, step: Duration) -> anyhow::Result<Option<f64>> {
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    if direct {
        opts.custom_flags(libc::O_DIRECT);
    }
    let mut file = match opts.open(path) {
        Ok(f) => f,
        Err(e) if direct && is_einval(&e) => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    // An aligned 1 MiB window inside a slightly larger buffer: O_DIRECT needs the address,
    // the length and the file offset aligned.
    let mut raw = vec![0u8; SEQ_WRITE_BYTES + DIRECT_ALIGN];
    let skew = raw.as_ptr().align_offset(DIRECT_ALIGN);
    let buf = &mut raw[skew..skew + SEQ_WRITE_BYTES];
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3];
    }
    let start = Instant::now();
    let mut written = 0u64;
    while start.elapsed() < step && written < PROBE_FILE_BYTES_MAX {
        match file.write_all(buf) {
            Ok(()) => {}
            Err(e) if direct && written == 0 && is_einval(&e) => return Ok(None),
            Err(e) => return Err(e).context("sequential write"),
        }
        file.sync_data().context("fdatasync")?;
        written += SEQ_WRITE_BYTES as u64;
    }
    Ok(Some(written as f64 / 1e6 / start.elapsed().as_secs_f64()))
}

/// 4 KiB appends, each followed by fdatasync: (per second, p50 µs).
fn small_appends(path: &Path, step: Duration) -> anyhow::Result<(f64, f64)> {
    let mut file: File = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let buf = vec![0x5Au8; SMALL_WRITE_BYTES];
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).context("histogram")?;
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < step {
        let t0 = Instant::now();
        file.write_all(&buf).context("append")?;
        file.sync_data().context("fdatasync")?;
        hist.saturating_record(t0.elapsed().as_micros() as u64);
        n += 1;
    }
    Ok((
        n as f64 / start.elapsed().as_secs_f64(),
        hist.value_at_quantile(0.5) as f64,
    ))
}
