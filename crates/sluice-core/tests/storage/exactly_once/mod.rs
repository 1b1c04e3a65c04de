//! Event ids and deduplication (`eventIds`): a put whose id the channel committed is dropped,
//! across reopen, checkpoint, full replay and power loss; the channel's own ids are dense and
//! never given twice.
//!
//! This file holds the helpers, deduplication on one channel and `verify`; `power_loss.rs`
//! the resend after a crash, `cursor.rs` the committed cursors, `forged.rs` malformed and
//! forged ids.

use crate::common::Bed;
use sluice_core::dedup::{IdSpan, EVENT_ID_HEADER};
use sluice_core::{Event, FileChannel};

mod copied;
mod cursor;
mod forged;
mod power_loss;

const ORIGIN: u64 = 0x5eed;

fn with_id(seq: u64) -> Event {
    let id = IdSpan::one(ORIGIN, seq).unwrap();
    Event::new(format!("e{seq}")).header(EVENT_ID_HEADER, id.to_string())
}

/// Puts the events of ids `seqs` in one transaction; returns how many the channel added
/// (with no other putter or taker at work meanwhile: the count is the queue's growth).
fn send(ch: &FileChannel, seqs: impl IntoIterator<Item = u64>) -> u64 {
    let before = ch.stats().queued;
    put_all(ch, seqs);
    ch.stats().queued - before
}

/// Puts the events of ids `seqs` in one transaction (beside other putters: nothing counted).
fn put_all(ch: &FileChannel, seqs: impl IntoIterator<Item = u64>) {
    let mut tx = ch.transaction();
    for s in seqs {
        tx.put(with_id(s)).unwrap();
    }
    tx.commit().unwrap();
}

/// Takes and commits everything; returns each event's id header (or its body without one).
fn drain_ids(ch: &FileChannel) -> Vec<String> {
    let mut out = Vec::new();
    let mut tx = ch.transaction();
    while let Some(e) = tx.take().unwrap() {
        out.push(e.headers.get(EVENT_ID_HEADER).unwrap_or("none").to_owned());
    }
    tx.commit().unwrap();
    out
}

#[test]
fn a_resent_id_is_committed_once_across_reopen_checkpoint_and_full_replay() {
    for bed in Bed::both() {
        let cfg = bed.config(2);
        let ch = bed.open(&cfg);
        assert_eq!(send(&ch, 1..=10), 10);
        assert_eq!(send(&ch, 1..=12), 2, "only the two new ids are added");
        assert_eq!(ch.stats().duplicates, 10);
        // Reopened from the log alone (no checkpoint on close), then from a checkpoint, then
        // from a full replay without one: the resend adds nothing each time.
        drop(ch);
        let ch = bed.open(&cfg);
        assert_eq!(send(&ch, 1..=12), 0);
        ch.close().unwrap();
        let ch = bed.open(&cfg);
        assert_eq!(send(&ch, 5..=12), 0);
        ch.close().unwrap();
        bed.fs
            .remove_file(&cfg.checkpoint_dir.join("checkpoint"))
            .unwrap();
        let ch = bed.open(&cfg);
        assert_eq!(send(&ch, 1..=13), 1);
        let ids = drain_ids(&ch);
        let expect: Vec<String> = (1..=13)
            .map(|s| IdSpan::one(ORIGIN, s).unwrap().to_string())
            .collect();
        assert_eq!(ids, expect);
        // Taken is not forgotten: a resend after the take is still a duplicate.
        assert_eq!(send(&ch, 1..=13), 0);
        ch.close().unwrap();
    }
}

#[test]
fn an_id_twice_in_one_transaction_is_committed_once_in_or_out_of_order() {
    for bed in Bed::both() {
        let cfg = bed.config(2);
        let ch = bed.open(&cfg);
        // Runs in order (merged as they come), a repeat inside a run, one behind it, and the
        // same ids again after a gap.
        let seqs = [1, 2, 3, 2, 4, 7, 8, 5, 3, 6, 8, 1, 9];
        assert_eq!(send(&ch, seqs), 9);
        assert_eq!(ch.stats().duplicates, 4);
        let ids = drain_ids(&ch);
        let expect: Vec<String> = [1, 2, 3, 4, 7, 8, 5, 6, 9]
            .iter()
            .map(|&s| IdSpan::one(ORIGIN, s).unwrap().to_string())
            .collect();
        assert_eq!(ids, expect);
        assert_eq!(send(&ch, 1..=10), 1, "only id 10 is new");
        ch.close().unwrap();
    }
}

#[test]
fn the_channel_gives_dense_ids_of_its_own_origin_and_never_one_twice() {
    for bed in Bed::both() {
        let cfg = bed.config(1);
        let mut all = Vec::new();
        for round in 0..3 {
            let ch = bed.open(&cfg);
            let mut tx = ch.transaction();
            for i in 0..4 {
                tx.put(Event::new(format!("r{round}-{i}"))).unwrap();
            }
            tx.commit().unwrap();
            let ids: Vec<IdSpan> = drain_ids(&ch)
                .iter()
                .map(|t| IdSpan::parse(t).unwrap())
                .collect();
            assert!(ids
                .windows(2)
                .all(|w| w[0].origin == w[1].origin && w[0].hi + 1 == w[1].hi));
            all.extend(ids);
            if round == 1 {
                drop(ch); // no checkpoint on close: the next open replays the log
            } else {
                ch.close().unwrap();
            }
        }
        let mut seen = all.clone();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 12, "an id given twice: {all:?}");
        assert_eq!(
            all.iter()
                .map(|s| s.origin)
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            1
        );
    }
}

#[test]
fn without_event_ids_puts_are_neither_numbered_nor_dropped() {
    let bed = Bed::sim(3);
    let mut cfg = bed.config(1);
    cfg.event_ids = false;
    let ch = bed.open(&cfg);
    assert_eq!(send(&ch, 1..=3), 3);
    assert_eq!(send(&ch, 1..=3), 3);
    let mut tx = ch.transaction();
    tx.put(Event::new("plain")).unwrap();
    tx.commit().unwrap();
    assert_eq!(drain_ids(&ch).iter().filter(|i| *i == "none").count(), 1);
}

#[test]
fn verify_finds_an_event_queued_twice_and_passes_the_ids_a_channel_deduplicated() {
    for bed in Bed::both() {
        // Deduplicated: a resend leaves nothing for verify to report, across a checkpoint.
        let cfg = bed.config(1);
        let ch = bed.open(&cfg);
        send(&ch, 1..=20);
        send(&ch, 10..=25);
        ch.close().unwrap();
        let v = sluice_core::inspect::verify(bed.fs.clone(), &cfg).unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        assert_eq!(v.queued, 25);
        // Without ids the same resend is queued twice, and verify names it.
        let mut off = bed.config(1);
        off.checkpoint_dir = off.checkpoint_dir.with_file_name("ck-off");
        off.data_dirs = vec![off.data_dirs[0].with_file_name("data-off")];
        off.event_ids = false;
        let ch = bed.open(&off);
        send(&ch, 1..=5);
        send(&ch, 4..=6);
        ch.close().unwrap();
        let v = sluice_core::inspect::verify(bed.fs.clone(), &off).unwrap();
        let twice: Vec<_> = v
            .problems
            .iter()
            .filter(|p| p.what.contains("queued twice"))
            .collect();
        assert_eq!(twice.len(), 2, "{:?}", v.problems);
        assert!(twice[0]
            .what
            .contains(&IdSpan::one(ORIGIN, 4).unwrap().to_string()));
    }
}
