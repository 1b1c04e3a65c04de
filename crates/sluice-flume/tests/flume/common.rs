//! The suite's one shared helper: a small channel configuration under a directory.

use std::path::Path;
use std::time::Duration;

use sluice_core::FileChannelConfig;

/// A file channel with `dirs` data directories under `root`, small and quiet.
pub fn config_under(root: &Path, dirs: usize) -> FileChannelConfig {
    let mut c = FileChannelConfig::with_dirs(
        root.join("checkpoint"),
        (0..dirs).map(|i| root.join(format!("data{i}"))).collect(),
    );
    c.capacity = 10_000;
    c.transaction_capacity = 1_000;
    c.keep_alive = Duration::from_millis(0);
    c.minimum_required_space_bytes = 1 << 20;
    c.checkpoint_interval_ms = 3_600_000;
    c
}
