//! Event ids and deduplication (`eventIds`): a put whose id the channel committed is dropped,
//! across reopen, checkpoint, full replay and power loss; the channel's own ids are dense and
//! never given twice.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{config_under, Bed};
use sluice_core::dedup::{IdSpan, EVENT_ID_HEADER};
use sluice_core::io::SimFs;
use sluice_core::{Event, FileChannel};

const ORIGIN: u64 = 0x5eed;

fn with_id(seq: u64) -> Event {
    let id = IdSpan::one(ORIGIN, seq).unwrap();
    Event::new(format!("e{seq}")).header(EVENT_ID_HEADER, id.to_string())
}

/// Puts the events of ids `seqs` in one transaction; returns how many the channel added.
fn send(ch: &FileChannel, seqs: impl IntoIterator<Item = u64>) -> u64 {
    let before = ch.stats().queued;
    let mut tx = ch.transaction();
    for s in seqs {
        tx.put(with_id(s)).unwrap();
    }
    tx.commit().unwrap();
    ch.stats().queued - before
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

/// Power loss while committers and checkpoints run: after the crash every batch is sent
/// again, acknowledged or not. Each id is then in the channel exactly once: the acknowledged
/// and the durable ones are recognised (from the log or the checkpoint, which must never
/// hold an id whose records did not survive), the lost ones are taken anew.
#[test]
fn after_a_power_loss_a_resend_of_everything_leaves_each_id_once() {
    const THREADS: u64 = 4;
    const BATCHES: u64 = 30;
    const PER: u64 = 5;
    for seed in 0..6u64 {
        let sim = SimFs::new(seed);
        sim.on_sync(Some(Arc::new(|| {
            std::thread::sleep(Duration::from_micros(100));
            Ok(())
        })));
        let mut cfg = config_under(std::path::Path::new("/sim"), 2);
        cfg.max_file_size_bytes = 16 << 10;
        let ch = FileChannel::open_with_fs(cfg.clone(), Arc::new(sim.clone())).unwrap();
        let batch = |t: u64, b: u64| (0..PER).map(move |i| 1 + ((t * BATCHES + b) * PER + i));
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let ch = ch.clone();
                std::thread::spawn(move || {
                    for b in 0..BATCHES {
                        if send(&ch, batch(t, b)) == 0 || b % 7 == 3 {
                            let _ = ch.checkpoint();
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(5 + seed * 3));
        let img = sim.crash_image(seed * 31 + 1);
        for h in handles {
            h.join().unwrap();
        }
        drop(ch);
        let ch = FileChannel::open_with_fs(cfg.clone(), Arc::new(img)).unwrap();
        for t in 0..THREADS {
            for b in 0..BATCHES {
                send(&ch, batch(t, b));
            }
        }
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        for id in drain_ids(&ch) {
            *count.entry(id).or_default() += 1;
        }
        assert_eq!(
            count.len() as u64,
            THREADS * BATCHES * PER,
            "seed {seed}: ids missing"
        );
        let twice: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "seed {seed}: duplicated {twice:?}");
    }
}

/// Takes one event and commits the take with cursor `key` = `value`.
fn take_with_cursor(ch: &FileChannel, key: &str, value: &str) {
    let mut tx = ch.transaction();
    assert!(tx.take().unwrap().is_some());
    tx.set_cursor(key, value.as_bytes().to_vec()).unwrap();
    tx.commit().unwrap();
}

#[test]
fn a_cursor_is_the_last_committed_value_across_reopen_and_checkpoint_never_a_rolled_back_one() {
    for bed in Bed::both() {
        let cfg = bed.config(2);
        let ch = bed.open(&cfg);
        assert_eq!(send(&ch, 1..=4), 4);
        assert_eq!(ch.cursor("k1"), None);
        take_with_cursor(&ch, "k1", "file-1:10");
        take_with_cursor(&ch, "k1", "file-1:20");
        let mut tx = ch.transaction();
        assert!(tx.take().unwrap().is_some());
        tx.set_cursor("k1", b"rolled back".to_vec()).unwrap();
        tx.rollback();
        assert_eq!(ch.cursor("k1").as_deref(), Some(&b"file-1:20"[..]));
        ch.checkpoint().unwrap();
        take_with_cursor(&ch, "k1", "file-2:5");
        drop(ch); // the last one only in the log
        let ch = bed.open(&cfg);
        assert_eq!(ch.cursor("k1").as_deref(), Some(&b"file-2:5"[..]));
        ch.close().unwrap();
        let ch = bed.open(&cfg);
        assert_eq!(ch.cursor("k1").as_deref(), Some(&b"file-2:5"[..]));
        let mut tx = ch.transaction();
        let too_long = vec![0u8; 5000];
        assert!(tx.set_cursor("k1", too_long).is_err());
        drop(tx);
        ch.close().unwrap();
        // Without a checkpoint, no cursor is trusted (it could be older than the last).
        bed.fs
            .remove_file(&cfg.checkpoint_dir.join("checkpoint"))
            .unwrap();
        let ch = bed.open(&cfg);
        assert_eq!(ch.cursor("k1"), None);
        ch.close().unwrap();
    }
}

#[test]
fn a_malformed_id_is_replaced_by_one_of_the_channel_and_the_record_length_still_adds_up() {
    for bed in Bed::both() {
        let cfg = bed.config(1);
        let ch = bed.open(&cfg);
        let mut tx = ch.transaction();
        tx.put(Event::new("bad").header(EVENT_ID_HEADER, "not an id at all, and long"))
            .unwrap();
        tx.put(with_id(1)).unwrap();
        tx.put(with_id(1)).unwrap();
        tx.commit().unwrap();
        drop(ch);
        let ch = bed.open(&cfg);
        let ids = drain_ids(&ch);
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert!(ids.iter().all(|t| IdSpan::parse(t).is_some()), "{ids:?}");
        ch.close().unwrap();
    }
}

/// Puts one event carrying the id text `id` and commits it.
fn put_with_id_text(ch: &FileChannel, body: &str, id: &str) {
    let mut tx = ch.transaction();
    tx.put(Event::new(body.to_owned()).header(EVENT_ID_HEADER, id))
        .unwrap();
    tx.commit().unwrap();
}

#[test]
fn a_forged_span_covering_an_origins_future_ids_is_refused_and_later_events_still_commit() {
    for bed in Bed::both() {
        let cfg = bed.config(1);
        let ch = bed.open(&cfg);
        assert_eq!(send(&ch, 1..=3), 3);
        // One event claims every id of the origin from 2,000 on, and one a span as wide as
        // a gigabyte and a byte: neither may hide the origin's later events.
        put_with_id_text(&ch, "forged", &format!("{ORIGIN:016x}:2000-{}", u64::MAX));
        put_with_id_text(
            &ch,
            "wide",
            &format!("{ORIGIN:016x}:10-{}", 11 + (1u64 << 30)),
        );
        assert_eq!(ch.stats().ids_refused, 2);
        let sent: u64 = [4..=1_000, 1_001..=2_000, 2_001..=2_500]
            .into_iter()
            .map(|r| send(&ch, r))
            .sum();
        assert_eq!(sent, 2_497, "no legitimate event dropped");
        assert_eq!(ch.stats().duplicates, 0);
        drop(ch);
        let ch = bed.open(&cfg);
        assert_eq!(send(&ch, 2_501..=2_600), 100, "after reopen too");
        let mut ids = Vec::new();
        while ch.stats().queued > 0 {
            let mut tx = ch.transaction();
            for _ in 0..1_000 {
                match tx.take().unwrap() {
                    Some(e) => ids.push(e.headers.get(EVENT_ID_HEADER).unwrap_or("").to_owned()),
                    None => break,
                }
            }
            tx.commit().unwrap();
        }
        assert_eq!(ids.len(), 2_602);
        let own: Vec<IdSpan> = ids
            .iter()
            .filter_map(|t| IdSpan::parse(t))
            .filter(|s| s.origin != ORIGIN)
            .collect();
        assert_eq!(
            own.len(),
            2,
            "the two forged events carry the channel's own ids"
        );
        ch.close().unwrap();
    }
}

#[test]
fn an_own_id_not_yet_given_is_refused_and_no_forgery_near_the_limit_panics_or_repeats_an_id() {
    for bed in Bed::both() {
        let cfg = bed.config(1);
        let ch = bed.open(&cfg);
        let mut tx = ch.transaction();
        tx.put(Event::new("first")).unwrap();
        tx.commit().unwrap();
        let first = IdSpan::parse(&drain_ids(&ch)[0]).unwrap();
        let own = first.origin;
        // Ids of the channel's own origin it has not given: the next one, one far ahead,
        // and the last ids a u64 can name.
        for (i, id) in [
            format!("{own:016x}:{}", first.hi + 1),
            format!("{own:016x}:1000000"),
            format!("{own:016x}:{}-{}", u64::MAX - 1, u64::MAX),
            format!("{own:016x}:{}", sluice_core::dedup::ID_MAX),
        ]
        .iter()
        .enumerate()
        {
            put_with_id_text(&ch, &format!("forged{i}"), id);
        }
        assert_eq!(ch.stats().ids_refused, 4);
        for round in 0..2 {
            let mut tx = ch.transaction();
            for i in 0..10 {
                tx.put(Event::new(format!("after{round}-{i}"))).unwrap();
            }
            tx.commit().unwrap();
        }
        drop(ch);
        let ch = bed.open(&cfg);
        let mut tx = ch.transaction();
        tx.put(Event::new("after reopen")).unwrap();
        tx.commit().unwrap();
        let ids = drain_ids(&ch);
        assert_eq!(ids.len(), 25, "{ids:?}");
        let mut spans: Vec<IdSpan> = ids.iter().map(|t| IdSpan::parse(t).unwrap()).collect();
        assert!(
            spans.iter().all(|s| s.origin == own && s.hi <= 26),
            "{spans:?}"
        );
        spans.sort();
        spans.dedup();
        assert_eq!(spans.len(), 25, "an id given twice");
        ch.close().unwrap();
    }
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
