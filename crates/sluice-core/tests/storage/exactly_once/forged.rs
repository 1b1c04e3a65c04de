//! Ids that lie: a malformed id is replaced by one of the channel's, a forged span covering
//! an origin's future ids is refused, and an own id not given yet is refused; none of them
//! panics or stops later events from committing.

use super::{drain_ids, send, with_id, ORIGIN};
use crate::common::Bed;
use sluice_core::dedup::{IdSpan, EVENT_ID_HEADER};
use sluice_core::{Event, FileChannel};

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
