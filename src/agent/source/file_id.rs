//! What the file sources' event ids (docs/exactly-once.md) read of a file: its birth time,
//! the part of its identity that an inode reused by a later file does not repeat. TAILDIR
//! saves it with a file's random origin; spooldir mixes it into a stable one.

use std::time::{SystemTime, UNIX_EPOCH};

/// The birth time of a file in ns since the epoch (0 when the file system keeps none).
pub(crate) fn born_ns(m: &std::fs::Metadata) -> u64 {
    m.created()
        .ok()
        .and_then(|t: SystemTime| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
