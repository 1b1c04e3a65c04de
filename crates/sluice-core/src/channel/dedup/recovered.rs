//! The deduplication state and the cursors an open recovers: the checkpoint's image, then
//! the ids and cursors of every commit replayed after it.

use std::collections::BTreeMap;

use super::{now_ms, Dedup};
use crate::channel::config::FileChannelConfig;
use crate::channel::home::Found;
use crate::checkpoint::format::{CheckpointImage, DedupImage};
use crate::dedup::{DedupLimits, DedupTable};
use crate::wal::assemble::CommittedTxn;

/// The table an open starts from: a checkpoint's `image`.
fn table_from(image: &DedupImage, limits: DedupLimits) -> DedupTable {
    let mut t = DedupTable::new(limits);
    for (id, o) in &image.origins {
        t.restore(*id, o.clone());
    }
    t
}

/// The state an open recovered: the checkpoint's (if any) and the ids of every transaction
/// replayed after it; `home`, what the open found of where its origin was taken.
pub(in crate::channel) fn recovered(
    config: &FileChannelConfig,
    image: Option<&CheckpointImage>,
    committed: &[CommittedTxn],
    home: &Found,
) -> Dedup {
    let empty = DedupImage::default();
    let img = image.map_or(&empty, |i| &i.dedup);
    let table = recovered_table(config, image, committed);
    Dedup::new(config.event_ids, config.dedup_expiry_ms, table, img, home)
}

/// The table an open rebuilds: the checkpoint's, then every replayed commit's spans.
pub(in crate::channel) fn recovered_table(
    config: &FileChannelConfig,
    image: Option<&CheckpointImage>,
    committed: &[CommittedTxn],
) -> DedupTable {
    let empty = DedupImage::default();
    let img = image.map_or(&empty, |i| &i.dedup);
    let mut table = table_from(img, config.dedup_limits);
    let now = now_ms();
    for s in committed.iter().flat_map(|t| &t.ids) {
        table.insert(s, now, img.own_origin);
    }
    table
}

/// The cursors an open recovered: the checkpoint's, then each replayed commit's in commit
/// order (the last committed value of a key wins). Without a checkpoint there are none: a
/// full replay no longer sees the commits of deleted segments, so a value it found could be
/// older than the last committed one, and a sink that cut its output back to it would cut
/// committed output.
pub(in crate::channel) fn recovered_cursors(
    image: Option<&CheckpointImage>,
    committed: &[CommittedTxn],
) -> BTreeMap<String, Vec<u8>> {
    if image.is_none() {
        if committed.iter().any(|t| !t.cursors.is_empty()) {
            tracing::warn!("no checkpoint: sink cursors are not recovered (their sinks deliver at least once until the next commit)");
        }
        return BTreeMap::new();
    }
    let mut map: BTreeMap<String, Vec<u8>> = image
        .map(|i| i.cursors.iter().cloned().collect())
        .unwrap_or_default();
    for c in committed.iter().flat_map(|t| &t.cursors) {
        map.insert(c.key.clone(), c.value.clone());
    }
    map
}
