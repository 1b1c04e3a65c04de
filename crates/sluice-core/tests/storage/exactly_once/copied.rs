//! A channel's event-id origin against copies (issue 87, item 1; `channel/home.rs`): a copy
//! of the channel's files opened elsewhere (another directory, another host) numbers its new
//! events under a new origin and keeps the ids of the events it holds; a restart in place, a
//! power loss, keeps the origin. And a put dropped as a duplicate whose body differs from the
//! event committed under its id is counted as a conflict.

use std::path::Path;

use super::{send, with_id};
use crate::common::{config_under, Bed};
use sluice_core::dedup::{IdSpan, EVENT_ID_HEADER};
use sluice_core::io::{read_file, write_file_atomic, Fs};
use sluice_core::{Event, FileChannel, FileChannelConfig};

/// Puts `n` events without ids (the channel numbers them).
fn put_plain(ch: &FileChannel, prefix: &str, n: usize) {
    let mut tx = ch.transaction();
    for i in 0..n {
        tx.put(Event::new(format!("{prefix}{i}"))).unwrap();
    }
    tx.commit().unwrap();
}

/// Takes and commits everything: each event's id.
fn drain_spans(ch: &FileChannel) -> Vec<IdSpan> {
    let mut out = Vec::new();
    let mut tx = ch.transaction();
    while let Some(e) = tx.take().unwrap() {
        out.push(IdSpan::parse(e.headers.get(EVENT_ID_HEADER).unwrap()).unwrap());
    }
    tx.commit().unwrap();
    out
}

/// Copies every file of the channel's directories under `from` to the same names under
/// `to`, as `cp -a` does: new files (the lock files left out).
fn copy_channel(fs: &dyn Fs, from: &FileChannelConfig, to: &FileChannelConfig) {
    let dirs = std::iter::once((&from.checkpoint_dir, &to.checkpoint_dir))
        .chain(from.data_dirs.iter().zip(&to.data_dirs));
    for (a, b) in dirs {
        fs.create_dir_all(b).unwrap();
        for name in fs.list_dir(a).unwrap() {
            if name == "in_use.lock" || fs.list_dir(&a.join(&name)).is_ok() {
                continue;
            }
            let bytes = read_file(fs, &a.join(&name)).unwrap();
            write_file_atomic(fs, &b.join(&name), &bytes).unwrap();
        }
    }
}

fn ids(origin: u64, range: std::ops::RangeInclusive<u64>) -> Vec<IdSpan> {
    range.map(|n| IdSpan::one(origin, n).unwrap()).collect()
}

#[test]
fn a_channel_copied_to_another_directory_numbers_new_events_under_a_new_origin_and_keeps_its_queues_ids(
) {
    for bed in Bed::both() {
        let (a, b) = (bed.root.join("a"), bed.root.join("b"));
        let (cfg_a, cfg_b) = (config_under(&a, 2), config_under(&b, 2));
        let ch = bed.open(&cfg_a);
        put_plain(&ch, "q", 5);
        let origin = ch.event_origin();
        ch.close().unwrap();
        copy_channel(bed.fs.as_ref(), &cfg_a, &cfg_b);
        // The original restarted in place keeps its origin and goes on numbering.
        let ch = bed.open(&cfg_a);
        assert_eq!(ch.event_origin(), origin, "a restart keeps the origin");
        put_plain(&ch, "a", 1);
        assert_eq!(drain_spans(&ch), ids(origin, 1..=6));
        ch.close().unwrap();
        // The copy: its queue keeps the original's ids, its new event gets a new origin.
        let copy = bed.open(&cfg_b);
        let new = copy.event_origin();
        assert_ne!(new, origin, "a copy takes a new origin");
        put_plain(&copy, "b", 1);
        let mut want = ids(origin, 1..=5);
        want.extend(ids(new, 1..=1));
        assert_eq!(drain_spans(&copy), want);
        // And keeps its new origin from now on, across a reopen.
        copy.close().unwrap();
        let copy = bed.open(&cfg_b);
        assert_eq!(copy.event_origin(), new);
        put_plain(&copy, "c", 1);
        assert_eq!(drain_spans(&copy), ids(new, 2..=2));
        copy.close().unwrap();
        let ch = bed.open(&cfg_a);
        assert_eq!(ch.event_origin(), origin);
    }
}

#[test]
fn a_channel_whose_disk_moves_to_another_host_takes_a_new_origin_and_a_power_loss_keeps_it() {
    let mut bed = Bed::sim(11);
    bed.sim.as_ref().unwrap().set_host("host-a");
    let cfg = config_under(Path::new("/sim"), 1);
    let ch = bed.open(&cfg);
    put_plain(&ch, "q", 3);
    let origin = ch.event_origin();
    drop(ch);
    // A power cut and a reboot on the same host: the same origin, numbering on.
    bed.power_loss(3);
    let ch = bed.open(&cfg);
    assert_eq!(ch.event_origin(), origin);
    put_plain(&ch, "r", 1);
    drop(ch);
    bed.power_loss(4);
    // The disk (a VM image, a volume snapshot) started on another host.
    bed.sim.as_ref().unwrap().set_host("host-b");
    let ch = bed.open(&cfg);
    let new = ch.event_origin();
    assert_ne!(new, origin);
    put_plain(&ch, "s", 2);
    let mut want = ids(origin, 1..=4);
    want.extend(ids(new, 1..=2));
    assert_eq!(drain_spans(&ch), want);
    drop(ch);
    // A power cut right after: the new origin stands (the home file was written before any
    // commit under it) and goes on numbering.
    bed.power_loss(5);
    let ch = bed.open(&cfg);
    assert_eq!(ch.event_origin(), new);
    put_plain(&ch, "t", 1);
    assert_eq!(drain_spans(&ch), ids(new, 3..=3));
}

#[test]
fn a_duplicate_whose_body_differs_is_counted_as_a_conflict_and_a_true_resend_is_not() {
    for bed in Bed::both() {
        let cfg = bed.config(1);
        let ch = bed.open(&cfg);
        assert_eq!(send(&ch, 1..=5), 5);
        assert_eq!(send(&ch, 1..=5), 0);
        assert_eq!(ch.stats().duplicates, 5);
        assert_eq!(
            ch.stats().duplicate_conflicts,
            0,
            "a resend is the same events"
        );
        let mut tx = ch.transaction();
        for n in [2, 4] {
            let other = Event::new(format!("other {n}")).header(
                EVENT_ID_HEADER,
                with_id(n).headers.get(EVENT_ID_HEADER).unwrap(),
            );
            tx.put(other).unwrap();
        }
        tx.put(with_id(6)).unwrap();
        tx.commit().unwrap();
        let s = ch.stats();
        assert_eq!((s.duplicates, s.duplicate_conflicts, s.queued), (7, 2, 6));
    }
}
