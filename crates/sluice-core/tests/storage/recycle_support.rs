//! Helpers shared by the segment-recycling tests (`recycle_*.rs` beside it): a channel with small
//! segments and direct I/O, events padded to fill them, the scenario that leaves spares and
//! recycles them, and the check of what a crash image brings back.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use crate::common::config_under;
use sluice_core::io::Fs;
use sluice_core::{DirectIo, Event, FileChannel, FileChannelConfig};

/// Bytes of padding in every event body: a few dozen events fill a 64 KiB segment.
pub const PAD: usize = 1000;
/// A small segment limit, so that a test rolls (and recycles) often.
pub const SEGMENT_BYTES: u64 = 64 << 10;

pub fn body(tag: &str, i: usize) -> String {
    format!("{tag}-{i:05}|{}", "x".repeat(PAD))
}

/// The `tag-nnnnn` part of a body.
pub fn name(b: &str) -> String {
    b.split('|').next().unwrap_or_default().to_owned()
}

pub fn config(root: &Path, direct: DirectIo, recycle: usize) -> FileChannelConfig {
    let mut c = config_under(root, 1);
    c.direct_io = direct;
    c.recycle_segments = recycle;
    c.max_file_size_bytes = SEGMENT_BYTES;
    c
}

pub fn put_one(ch: &FileChannel, b: &str) -> bool {
    let mut tx = ch.transaction();
    if tx.put(Event::new(b.as_bytes().to_vec())).is_err() {
        return false;
    }
    tx.commit().is_ok()
}

/// Takes everything and commits; returns the names.
pub fn drain(ch: &FileChannel) -> Vec<String> {
    crate::common::drain(ch).iter().map(|b| name(b)).collect()
}

pub fn spares(fs: &dyn Fs, dir: &Path) -> usize {
    let names = fs.list_dir(dir).unwrap();
    names.iter().filter(|n| n.starts_with("spare-")).count()
}

/// Fills several segments with `old` events, takes them all and checkpoints: the segments go,
/// the first `recycleSegments` of them becoming spares.
pub fn used_and_retired(ch: &FileChannel, old: usize) {
    for chunk in 0..old / 10 {
        let mut tx = ch.transaction();
        for i in 0..10 {
            tx.put(Event::new(body("old", chunk * 10 + i).into_bytes()))
                .unwrap();
        }
        tx.commit().unwrap();
    }
    assert_eq!(drain(ch).len(), old);
    ch.checkpoint().unwrap();
}

/// The scenario every sweep replays: old events through five segments, retired; then new
/// one-event commits, the first roll of which takes a spare.
pub fn scenario(
    fs: Arc<dyn Fs>,
    cfg: &FileChannelConfig,
    new: usize,
) -> (FileChannel, Vec<String>) {
    let ch = FileChannel::open_with_fs(cfg.clone(), fs).unwrap();
    used_and_retired(&ch, 300);
    let mut acked = Vec::new();
    for i in 0..new {
        let b = body("new", i);
        if !put_one(&ch, &b) {
            break;
        }
        acked.push(name(&b));
    }
    (ch, acked)
}

/// After a crash image is opened: every acknowledged new event is back, nothing else is, and
/// above all no event of the earlier use of a recycled file.
pub fn check_recovered(got: &[String], acked: &[String], attempted: usize, at: &str) {
    let got_set: BTreeSet<&String> = got.iter().collect();
    assert_eq!(
        got_set.len(),
        got.len(),
        "{at}: an event came back twice: {got:?}"
    );
    for b in acked {
        assert!(got_set.contains(b), "{at}: committed {b} lost; got {got:?}");
    }
    for b in got {
        let n: usize = b
            .strip_prefix("new-")
            .and_then(|d| d.parse().ok())
            .unwrap_or_else(|| panic!("{at}: {b} is not a new event (a stale record read live)"));
        assert!(n < attempted, "{at}: {b} was never put");
    }
}
