//! `--reopen`: how long the channel takes to open over the backlog the put side left, once
//! with its checkpoint (clean stop) and once without any: a full replay of the log by the same
//! recovery code, run read-only (`examine`) against an empty checkpoint directory so that
//! neither the real checkpoint nor any segment is touched.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use sluice_core::inspect::examine;
use sluice_core::io::StdFs;
use sluice_core::{FileChannel, FileChannelConfig};

/// Reopen timings.
#[derive(Clone, Debug, Serialize)]
pub struct ReopenResult {
    /// Events queued when reopening.
    pub backlog_events: u64,
    /// Bytes of segment files in the data directories.
    pub log_bytes: u64,
    /// Open with the checkpoint, seconds.
    pub with_checkpoint_secs: f64,
    /// Where that open found its state.
    pub with_checkpoint_source: String,
    /// Events that open recovered.
    pub with_checkpoint_events: u64,
    /// Open without a checkpoint (full replay), seconds.
    pub full_replay_secs: f64,
    /// Where that open found its state.
    pub full_replay_source: String,
    /// Events the full replay recovered.
    pub full_replay_events: u64,
    /// Log bytes replayed per second without a checkpoint, MB/s.
    pub replay_mb_per_sec: f64,
    /// Whether the page cache was dropped before each open.
    pub caches_dropped: bool,
}

/// Times both opens. The channel must be closed; it is left closed.
pub fn measure(
    config: &FileChannelConfig,
    scratch: &Path,
    drop_caches: bool,
) -> anyhow::Result<ReopenResult> {
    let log_bytes: u64 = config.data_dirs.iter().map(|d| dir_bytes(d)).sum();
    let dropped = drop_caches && drop_page_cache();
    let t0 = Instant::now();
    let ch = FileChannel::open(config.clone()).context("reopening with the checkpoint")?;
    let with_checkpoint_secs = t0.elapsed().as_secs_f64();
    let info = ch.recovery_info().clone();
    let backlog_events = ch.stats().queued;
    ch.close().context("closing after the reopen")?;
    drop(ch);

    let empty_ckpt: PathBuf = scratch.join(format!("no-checkpoint-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&empty_ckpt)
        .with_context(|| format!("creating {}", empty_ckpt.display()))?;
    let mut replay_cfg = config.clone();
    replay_cfg.checkpoint_dir = empty_ckpt.clone();
    replay_cfg.use_dual_checkpoints = false;
    replay_cfg.backup_checkpoint_dir = None;
    if drop_caches {
        drop_page_cache();
    }
    let t1 = Instant::now();
    let replayed = examine(Arc::new(StdFs), &replay_cfg);
    let full_replay_secs = t1.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&empty_ckpt);
    let replayed = replayed.context("replaying without a checkpoint")?;
    Ok(ReopenResult {
        backlog_events,
        log_bytes,
        with_checkpoint_secs,
        with_checkpoint_source: format!("{:?}", info.source),
        with_checkpoint_events: info.recovered_events,
        full_replay_secs,
        full_replay_source: format!("{:?}", replayed.source),
        full_replay_events: replayed.queued.len() as u64,
        replay_mb_per_sec: log_bytes as f64 / 1e6 / full_replay_secs.max(1e-9),
        caches_dropped: dropped,
    })
}

/// Total size of the regular files directly in `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Writes dirty pages out and drops the page cache; false (with a warning) without root.
fn drop_page_cache() -> bool {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    match std::fs::write("/proc/sys/vm/drop_caches", b"3") {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "cannot drop the page cache; reopen reads a warm cache");
            false
        }
    }
}
