//! The deduplication state and the cursors an open recovers: the checkpoint's image, then
//! the ids and cursors of every commit replayed after it.

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

/// The cursors an open recovered: the checkpoint's, then each replayed commit's, a key's
/// value the one of its latest commit (by commit sequence number: with several data
/// directories a commit replayed after its directory's position can be older than the one
/// the checkpoint holds). Without a checkpoint there are none: a
/// full replay no longer sees the commits of deleted segments, so a value it found could be
/// older than the last committed one, and a sink that cut its output back to it would cut
/// committed output.
pub(in crate::channel) fn recovered_cursors(
    image: Option<&CheckpointImage>,
    committed: &[CommittedTxn],
) -> crate::channel::apply::Cursors {
    if image.is_none() {
        if committed.iter().any(|t| !t.cursors.is_empty()) {
            tracing::warn!("no checkpoint: sink cursors are not recovered (their sinks deliver at least once until the next commit)");
        }
        return Default::default();
    }
    let mut map: crate::channel::apply::Cursors = image
        .map(|i| {
            i.cursors
                .iter()
                .map(|c| (c.key.clone(), (c.commit_seq, c.value.clone())))
                .collect()
        })
        .unwrap_or_default();
    for t in committed {
        for c in &t.cursors {
            crate::channel::apply::set_if_later(&mut map, &c.key, t.commit_seq, &c.value);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::format::SavedCursor;
    use crate::wal::record::Cursor;

    fn image_with(key: &str, commit_seq: u64, value: &[u8]) -> CheckpointImage {
        CheckpointImage {
            created_ms: 0,
            seq_next: 100,
            txid_next: 10,
            segment_next: 3,
            positions: Vec::new(),
            deps: Vec::new(),
            dedup: Default::default(),
            cursors: vec![SavedCursor {
                key: key.into(),
                value: value.to_vec(),
                commit_seq,
            }],
            entries: Vec::new(),
        }
    }

    fn commit_setting(key: &str, commit_seq: u64, value: &[u8]) -> CommittedTxn {
        CommittedTxn {
            commit_seq,
            segment: 1,
            puts: Vec::new(),
            takes: Vec::new(),
            ids: Vec::new(),
            cursors: vec![Cursor {
                key: key.into(),
                value: value.to_vec(),
            }],
            copy: false,
        }
    }

    /// Two takes of one sink went to two data directories; the checkpoint holds the later
    /// one's cursor, and the earlier one is replayed (it was after its directory's position).
    #[test]
    fn a_replayed_commit_older_than_the_checkpoints_cursor_does_not_move_it_back() {
        let img = image_with("k1", 40, b"file-3\t200");
        let got = recovered_cursors(Some(&img), &[commit_setting("k1", 30, b"file-3\t100")]);
        assert_eq!(got["k1"], (40, b"file-3\t200".to_vec()));
        let got = recovered_cursors(
            Some(&img),
            &[
                commit_setting("k1", 50, b"file-3\t300"),
                commit_setting("k1", 45, b"file-3\t250"),
            ],
        );
        assert_eq!(got["k1"], (50, b"file-3\t300".to_vec()));
    }

    /// A version-2 image's cursors carry no commit: every replayed one comes after them.
    #[test]
    fn a_replayed_commit_replaces_a_cursor_read_without_its_commit() {
        let img = image_with("k1", 0, b"a");
        let got = recovered_cursors(Some(&img), &[commit_setting("k1", 30, b"b")]);
        assert_eq!(got["k1"], (30, b"b".to_vec()));
    }
}
