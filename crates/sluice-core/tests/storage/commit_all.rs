//! Group commit of several transactions by one caller (`Transaction::commit_all`): every
//! one is written before any waits, so one fdatasync covers the group; each stays a
//! transaction of its own, applied in order; a power loss after it returned keeps them all;
//! a transaction that cannot be written cuts the group there, so only a prefix commits.

use crate::common::{drain, ev, Bed};
use sluice_core::{ChannelError, FileChannel, Transaction};

fn bodies(tx: usize, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("t{tx}-{i:03}")).collect()
}

/// `groups` put transactions of `each` events, not committed yet.
fn put_txns(ch: &FileChannel, groups: usize, each: usize) -> Vec<Transaction> {
    (0..groups)
        .map(|g| {
            let mut tx = ch.transaction();
            for b in bodies(g, each) {
                tx.put(ev(&b)).unwrap();
            }
            tx
        })
        .collect()
}

fn all_bodies(groups: usize, each: usize) -> Vec<String> {
    (0..groups).flat_map(|g| bodies(g, each)).collect()
}

#[test]
fn a_group_of_four_commits_takes_one_fdatasync_and_keeps_their_order() {
    for bed in Bed::both() {
        let ch = bed.open(&bed.config(1));
        let before = ch.stats();
        let results = Transaction::commit_all(put_txns(&ch, 4, 10));
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let after = ch.stats();
        assert_eq!(
            after.fsyncs - before.fsyncs,
            1,
            "one fdatasync for the group"
        );
        assert_eq!(after.commits - before.commits, 4, "four transactions");

        // The same four committed one by one: one fdatasync each (the test can fail).
        let one_by_one = put_txns(&ch, 4, 10);
        let before = ch.stats();
        for tx in one_by_one {
            tx.commit().unwrap();
        }
        assert_eq!(ch.stats().fsyncs - before.fsyncs, 4);

        let mut want = all_bodies(4, 10);
        want.extend(all_bodies(4, 10));
        assert_eq!(drain(&ch), want);
    }
}

#[test]
fn takes_committed_as_a_group_are_final_after_a_power_loss_and_so_are_its_puts() {
    let mut bed = Bed::sim(21);
    let cfg = bed.config(1);
    let ch = bed.open(&cfg);
    let results = Transaction::commit_all(put_txns(&ch, 3, 20));
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    // Two take transactions of 15 and a put of 5, as one group.
    let mut takes = Vec::new();
    for _ in 0..2 {
        let mut tx = ch.transaction();
        for _ in 0..15 {
            assert!(tx.take().unwrap().is_some());
        }
        takes.push(tx);
    }
    let mut put = ch.transaction();
    for b in bodies(9, 5) {
        put.put(ev(&b)).unwrap();
    }
    takes.push(put);
    let results = Transaction::commit_all(takes);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    drop(ch);
    bed.power_loss(5);
    let ch = bed.open(&cfg);
    let mut want: Vec<String> = all_bodies(3, 20).split_off(30);
    want.extend(bodies(9, 5));
    assert_eq!(
        drain(&ch),
        want,
        "the group's takes and put survive the power loss"
    );
}

#[test]
fn a_transaction_that_cannot_be_written_cuts_the_group_there() {
    let bed = Bed::sim(22);
    let mut cfg = bed.config(1);
    cfg.direct_io = sluice_core::DirectIo::Off;
    let ch = bed.open(&cfg);
    // Room for the first ten small puts above the floor, not for a 64 KiB one after them.
    let sim = bed.sim.clone().unwrap();
    let big = 1u64 << 40;
    sim.set_space_limit(Some(big));
    let used = big - bed.fs.available_space(&bed.root).unwrap();
    sim.set_space_limit(Some(used + cfg.minimum_required_space_bytes + 16384));
    let results = Transaction::commit_all(put_txns(&ch, 1, 10));
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let take3 = |ch: &FileChannel| {
        let mut tx = ch.transaction();
        for _ in 0..3 {
            assert!(tx.take().unwrap().is_some());
        }
        tx
    };
    let first = take3(&ch);
    let mut refused = ch.transaction();
    refused.put(ev(&"n".repeat(64 << 10))).unwrap();
    let last = take3(&ch);
    let results = Transaction::commit_all(vec![first, refused, last]);
    assert!(results[0].is_ok(), "{results:?}");
    assert!(
        matches!(results[1], Err(ChannelError::DiskFull(_))),
        "{results:?}"
    );
    match &results[2] {
        Err(
            e @ ChannelError::GroupCut {
                position: 3,
                total: 3,
            },
        ) => {
            assert!(
                e.to_string().contains("transaction 3 of a group of 3"),
                "{e}"
            );
        }
        other => panic!("the last one was not cut: {other:?}"),
    }
    sim.set_space_limit(None);
    // The first take is final; the last one's events are back at the head, in order.
    assert_eq!(drain(&ch), bodies(0, 10).split_off(3));
}
