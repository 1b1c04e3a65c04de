//! A batch that does not take effect comes back to its caller (`Transaction::rollback_returning`,
//! `commit_returning`, `commit_all_returning`): every put, in order, headers intact, so a
//! source that retries keeps no copy; a commit refused after `eventIds` numbered its puts hands
//! them back with their ids, and putting them again commits each once under the same id.

use crate::common::{drain, ev, put_all, Bed};
use sluice_core::dedup::EVENT_ID_HEADER;
use sluice_core::{ChannelError, Event, Transaction};

fn bodies(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| String::from_utf8_lossy(&e.body).into_owned())
        .collect()
}

#[test]
fn a_rolled_back_or_refused_transaction_hands_its_puts_back_in_order() {
    for bed in Bed::both() {
        let mut cfg = bed.config(1);
        cfg.capacity = 3;
        cfg.transaction_capacity = 3;
        cfg.keep_alive = std::time::Duration::ZERO;
        let ch = bed.open(&cfg);
        put_all(&ch, &["old"]);
        let mut tx = ch.transaction();
        for b in ["a", "b"] {
            tx.put(ev(b)).unwrap();
        }
        let mut err = tx.put(ev("c")).unwrap_err();
        assert!(matches!(err, ChannelError::Full { .. }), "{err}");
        let refused = err.take_event().expect("the refused event comes back");
        assert!(err.take_event().is_none(), "taken once");
        assert!(matches!(err, ChannelError::Full { capacity: 3, .. }));
        let mut back = tx.rollback_returning();
        back.push(refused);
        assert_eq!(bodies(&back), ["a", "b", "c"]);
        assert!(back.iter().all(|e| e.headers.get("k") == Some("v")));
        assert_eq!(drain(&ch), ["old"], "nothing of the batch was committed");

        // Room again (the rollback released it): the cut transaction of a group comes back.
        let mut first = ch.transaction();
        first.put(ev("x")).unwrap();
        let mut second = ch.transaction();
        second.put(ev("y")).unwrap();
        ch.close().unwrap();
        let out = Transaction::commit_all_returning(vec![first, second]);
        let back: Vec<Vec<String>> = out
            .into_iter()
            .map(|r| bodies(&r.expect_err("a closed channel commits nothing").puts))
            .collect();
        assert_eq!(back, [["x"], ["y"]]);
    }
}

#[test]
fn a_commit_refused_by_a_full_disk_hands_its_puts_back_with_ids_that_commit_once() {
    let bed = Bed::sim(7);
    let mut cfg = bed.config(1);
    cfg.direct_io = sluice_core::DirectIo::Off;
    let ch = bed.open(&cfg);
    let sim = bed.sim.clone().unwrap();
    // No room above the floor: the commit is refused after its puts were numbered.
    sim.set_space_limit(Some(1));
    let mut tx = ch.transaction();
    for b in ["a", "b", "c"] {
        tx.put(ev(b)).unwrap();
    }
    let refused = tx
        .commit_returning()
        .expect_err("a full disk refuses the commit");
    assert!(
        matches!(refused.error, ChannelError::DiskFull(_)),
        "{:?}",
        refused.error
    );
    assert_eq!(bodies(&refused.puts), ["a", "b", "c"]);
    let ids: Vec<String> = refused
        .puts
        .iter()
        .map(|e| e.headers.get(EVENT_ID_HEADER).unwrap_or("").to_owned())
        .collect();
    assert!(
        ids.iter().all(|i| !i.is_empty()),
        "eventIds numbered the puts before the refusal: {ids:?}"
    );
    sim.set_space_limit(None);
    let mut tx = ch.transaction();
    for e in refused.puts {
        tx.put(e).unwrap();
    }
    tx.commit().unwrap();
    let mut tx = ch.transaction();
    let mut got = Vec::new();
    while let Some(e) = tx.take().unwrap() {
        got.push(e);
    }
    tx.commit().unwrap();
    assert_eq!(bodies(&got), ["a", "b", "c"], "each once, in order");
    let got_ids: Vec<&str> = got
        .iter()
        .map(|e| e.headers.get(EVENT_ID_HEADER).unwrap_or(""))
        .collect();
    assert_eq!(
        got_ids, ids,
        "committed under the ids the refused commit gave"
    );
}
