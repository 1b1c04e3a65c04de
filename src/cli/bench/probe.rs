//! `sluice bench --probe`: what a directory's file system can do durably with plain writes,
//! so that a channel's figures can be read as a fraction of it. Sequential 1 MiB writes each
//! followed by fdatasync, buffered and with O_DIRECT (when the file system allows it); 4 KiB
//! appends each followed by fdatasync, to a growing file (each fdatasync also commits the new
//! size to the file system's journal) and into a preallocated (pre-written) file (data only);
//! 1 MiB O_DIRECT overwrites of a pre-written file, each followed by fdatasync; and
//! 112 KiB appends each followed by fdatasync: one commit of 100 events of 1 KiB, so
//! 100 × that rate is the most one committer waiting for each of its commits can put.

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
/// Size of one batch-sized append: 100 put records of a 1 KiB event (about 1.15 KB each).
pub const BATCH_WRITE_BYTES: usize = 112 << 10;
/// Size of one small append.
const SMALL_WRITE_BYTES: usize = 4096;
/// Alignment O_DIRECT needs on the file systems we meet (logical block size and page size).
const DIRECT_ALIGN: usize = 4096;
/// A probe file never grows past this; the write loop stops there.
const PROBE_FILE_BYTES_MAX: u64 = 2 << 30;
/// Size of the pre-written file the overwrite steps write into, from its start again once
/// they reach its end.
const PREWRITTEN_FILE_BYTES: u64 = 32 << 20;

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
    /// 4 KiB write + fdatasync per second into a preallocated (pre-written) file: no size
    /// change, so the fdatasync writes data only.
    pub prealloc_fdatasync_per_sec: f64,
    /// Median latency of one of those, µs.
    pub prealloc_fdatasync_p50_us: f64,
    /// O_DIRECT 1 MiB overwrite of a pre-written file + fdatasync, MB/s (None when the file
    /// system refuses O_DIRECT).
    pub direct_overwrite_mb_per_sec: Option<f64>,
    /// [`BATCH_WRITE_BYTES`] append + fdatasync per second (buffered, growing file): the
    /// commit rate of one committer whose every commit waits for its own fdatasync.
    pub batch_fdatasync_per_sec: f64,
    /// Median latency of one of those, µs.
    pub batch_fdatasync_p50_us: f64,
    /// Why O_DIRECT was not measured, if it was not.
    pub direct_note: Option<String>,
}

/// Measures `dir`, spending about `secs` seconds on each of the six steps (plus writing
/// the pre-written file once).
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
    let small = synced_appends(&path, SMALL_WRITE_BYTES, step);
    let _ = std::fs::remove_file(&path);
    let (fdatasync_per_sec, fdatasync_p50_us) = small?;
    let batch = synced_appends(&path, BATCH_WRITE_BYTES, step);
    let _ = std::fs::remove_file(&path);
    let (batch_fdatasync_per_sec, batch_fdatasync_p50_us) = batch?;
    let prewritten = prewrite(&path).and_then(|()| {
        let small = small_overwrites(&path, step)?;
        let direct = direct_overwrites(&path, step)?;
        Ok((small, direct))
    });
    let _ = std::fs::remove_file(&path);
    let ((prealloc_fdatasync_per_sec, prealloc_fdatasync_p50_us), direct_overwrite_mb_per_sec) =
        prewritten?;
    Ok(ProbeResult {
        dir: dir.to_path_buf(),
        buffered_mb_per_sec,
        direct_mb_per_sec,
        synced_write_mb_per_sec: direct_mb_per_sec.unwrap_or(0.0).max(buffered_mb_per_sec),
        fdatasync_per_sec,
        fdatasync_p50_us,
        prealloc_fdatasync_per_sec,
        prealloc_fdatasync_p50_us,
        direct_overwrite_mb_per_sec,
        batch_fdatasync_per_sec,
        batch_fdatasync_p50_us,
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
    let mut raw = aligned_block();
    let buf = aligned(&mut raw);
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

/// Appends of `len` bytes, each followed by fdatasync: (per second, p50 µs).
fn synced_appends(path: &Path, len: usize, step: Duration) -> anyhow::Result<(f64, f64)> {
    let mut file: File = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let buf = vec![0x5Au8; len];
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).context("histogram")?;
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < step && n * (len as u64) < PROBE_FILE_BYTES_MAX {
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

/// A buffer holding an aligned [`SEQ_WRITE_BYTES`] window (see [`aligned`]).
fn aligned_block() -> Vec<u8> {
    vec![0u8; SEQ_WRITE_BYTES + DIRECT_ALIGN]
}

/// The aligned 1 MiB window of `raw`, filled with bytes that do not compress: O_DIRECT
/// needs the address, the length and the file offset aligned.
fn aligned(raw: &mut [u8]) -> &mut [u8] {
    let skew = raw.as_ptr().align_offset(DIRECT_ALIGN);
    let buf = &mut raw[skew..skew + SEQ_WRITE_BYTES];
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3];
    }
    buf
}

/// Writes [`PREWRITTEN_FILE_BYTES`] to `path` and fsyncs it: a file whose blocks are all
/// allocated and written, as a preallocated segment is.
fn prewrite(path: &Path) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let mut raw = aligned_block();
    let buf = aligned(&mut raw);
    let mut written = 0u64;
    while written < PREWRITTEN_FILE_BYTES {
        file.write_all(buf).context("pre-writing the probe file")?;
        written += SEQ_WRITE_BYTES as u64;
    }
    file.sync_all().context("fsync of the pre-written file")
}

/// The next offset of a `len`-byte write that wraps around inside the pre-written file.
fn wrap(offset: u64, len: u64) -> u64 {
    if offset + len > PREWRITTEN_FILE_BYTES {
        0
    } else {
        offset
    }
}

/// 4 KiB writes through the pre-written file, each followed by fdatasync: (per second, p50 µs).
fn small_overwrites(path: &Path, step: Duration) -> anyhow::Result<(f64, f64)> {
    use std::os::unix::fs::FileExt;
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let buf = vec![0xA5u8; SMALL_WRITE_BYTES];
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).context("histogram")?;
    let start = Instant::now();
    let (mut n, mut offset) = (0u64, 0u64);
    while start.elapsed() < step {
        offset = wrap(offset, SMALL_WRITE_BYTES as u64);
        let t0 = Instant::now();
        file.write_all_at(&buf, offset).context("overwrite")?;
        file.sync_data().context("fdatasync")?;
        hist.saturating_record(t0.elapsed().as_micros() as u64);
        offset += SMALL_WRITE_BYTES as u64;
        n += 1;
    }
    Ok((
        n as f64 / start.elapsed().as_secs_f64(),
        hist.value_at_quantile(0.5) as f64,
    ))
}

/// 1 MiB O_DIRECT writes through the pre-written file, each followed by fdatasync, MB/s;
/// `None` when O_DIRECT is refused with EINVAL.
fn direct_overwrites(path: &Path, step: Duration) -> anyhow::Result<Option<f64>> {
    use std::os::unix::fs::FileExt;
    let file = match OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if is_einval(&e) => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    let mut raw = aligned_block();
    let buf = aligned(&mut raw);
    let start = Instant::now();
    let (mut written, mut offset) = (0u64, 0u64);
    while start.elapsed() < step {
        offset = wrap(offset, SEQ_WRITE_BYTES as u64);
        match file.write_all_at(buf, offset) {
            Ok(()) => {}
            Err(e) if written == 0 && is_einval(&e) => return Ok(None),
            Err(e) => return Err(e).context("O_DIRECT overwrite"),
        }
        file.sync_data().context("fdatasync")?;
        offset += SEQ_WRITE_BYTES as u64;
        written += SEQ_WRITE_BYTES as u64;
    }
    Ok(Some(written as f64 / 1e6 / start.elapsed().as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overwrites_wrap_to_the_start_of_the_prewritten_file() {
        assert_eq!(wrap(0, 4096), 0);
        assert_eq!(
            wrap(PREWRITTEN_FILE_BYTES - 4096, 4096),
            PREWRITTEN_FILE_BYTES - 4096
        );
        assert_eq!(wrap(PREWRITTEN_FILE_BYTES - 4095, 4096), 0);
        assert_eq!(wrap(PREWRITTEN_FILE_BYTES, 1 << 20), 0);
    }
}
