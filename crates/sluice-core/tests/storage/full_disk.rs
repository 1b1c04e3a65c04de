//! Full disks: with `minimumRequiredSpace`, a commit of puts that would leave less free space
//! is refused with a typed error naming the directory and its free bytes, takes keep draining
//! the channel, and puts resume without a reopen once space returns. Runs on the simulated
//! file system's space limit (a real small file system is not needed for this contract).

use crate::common::{drain, ev, Bed};
use sluice_core::io::Fault;
use sluice_core::ChannelError;

fn body(i: usize) -> String {
    format!("{i:06}-{}", "z".repeat(1000))
}

/// A channel writing through the page cache, whose files grow with every write (direct I/O
/// allocates ahead; storage/direct_io.rs covers its full disk).
fn buffered(bed: &Bed) -> sluice_core::FileChannelConfig {
    let mut c = bed.config(1);
    c.direct_io = sluice_core::DirectIo::Off;
    c
}

/// Bytes the bed's files use now, read through the space limit.
fn used_bytes(bed: &Bed) -> u64 {
    let sim = bed.sim.as_ref().unwrap();
    let big = 1u64 << 40;
    sim.set_space_limit(Some(big));
    let free = bed.fs.available_space(&bed.root).unwrap();
    big - free
}

#[test]
fn a_full_disk_refuses_puts_by_name_drains_by_takes_and_resumes_when_space_returns() {
    let bed = Bed::sim(3);
    let cfg = buffered(&bed);
    let floor = cfg.minimum_required_space_bytes;
    let ch = bed.open(&cfg);
    let sim = bed.sim.clone().unwrap();
    // Leave room for about 20 KiB of records above the floor.
    let limit = used_bytes(&bed) + floor + 20 * 1024;
    sim.set_space_limit(Some(limit));

    let mut acked = Vec::new();
    let mut refusal = None;
    for i in 0..100 {
        let mut tx = ch.transaction();
        tx.put(ev(&body(i))).unwrap();
        match tx.commit() {
            Ok(()) => acked.push(body(i)),
            Err(e) => {
                refusal = Some(e);
                break;
            }
        }
    }
    let err = refusal.expect("puts were never refused on a full disk");
    assert!(err.is_backpressure(), "not backpressure: {err}");
    assert!(matches!(err, ChannelError::DiskFull(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("/sim/data0"),
        "message lacks the directory: {msg}"
    );
    assert!(
        msg.contains("bytes free"),
        "message lacks the free space: {msg}"
    );
    assert!(
        (10..25).contains(&acked.len()),
        "{} puts fit in 20 KiB",
        acked.len()
    );
    assert!(
        !ch.stats().unhealthy,
        "a full disk must not poison the channel"
    );

    // Still full: another put is refused too, but takes drain everything.
    let mut tx = ch.transaction();
    tx.put(ev(&body(999))).unwrap();
    assert!(matches!(tx.commit(), Err(ChannelError::DiskFull(_))));
    assert_eq!(drain(&ch), acked);

    // Space returns: puts resume on the same channel, nothing lost across a reopen.
    sim.set_space_limit(Some(limit + (1 << 20)));
    let later: Vec<String> = (100..110).map(body).collect();
    for b in &later {
        let mut tx = ch.transaction();
        tx.put(ev(b)).unwrap();
        tx.commit().expect("puts resume once space returns");
    }
    drop(ch);
    let reopened = bed.open(&cfg);
    assert_eq!(drain(&reopened), later);
}

#[test]
fn enospc_in_the_middle_of_a_write_fails_only_that_commit() {
    let bed = Bed::sim(4);
    let cfg = buffered(&bed);
    let ch = bed.open(&cfg);
    let sim = bed.sim.clone().unwrap();
    let mut tx = ch.transaction();
    tx.put(ev("before")).unwrap();
    tx.commit().unwrap();
    // The free-space check passes; the write itself (the next I/O operation) runs out of
    // room after writing a random part of its bytes.
    let mut tx = ch.transaction();
    for i in 0..10 {
        tx.put(ev(&body(i))).unwrap();
    }
    sim.inject(Fault::Enospc { at: sim.op_count() });
    let err = tx.commit().expect_err("the write failed with ENOSPC");
    assert!(matches!(err, ChannelError::DiskFull(_)), "{err:?}");
    assert!(!ch.stats().unhealthy, "ENOSPC on a write must not poison");
    let mut tx = ch.transaction();
    tx.put(ev("after")).unwrap();
    tx.commit().unwrap();
    drop(ch);
    let reopened = bed.open(&cfg);
    assert_eq!(drain(&reopened), vec!["before", "after"]);
}

#[test]
fn puts_stop_early_enough_that_the_checkpoint_still_leaves_minimum_required_space() {
    let bed = Bed::sim(5);
    let cfg = bed.config(2);
    let floor = cfg.minimum_required_space_bytes;
    let ch = bed.open(&cfg);
    let sim = bed.sim.clone().unwrap();
    // Small events: the checkpoint (16 bytes each) is a large share of what they take.
    sim.set_space_limit(Some(used_bytes(&bed) + floor + 96 * 1024));
    let mut acked = 0;
    for _ in 0..5_000 {
        let mut tx = ch.transaction();
        tx.put(ev("s")).unwrap();
        match tx.commit() {
            Ok(()) => acked += 1,
            Err(ChannelError::DiskFull(_)) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(acked > 500, "only {acked} small puts fit");
    ch.checkpoint()
        .expect("the checkpoint fits in the space puts left");
    let free = bed.fs.available_space(&bed.root).unwrap();
    assert!(
        free >= floor,
        "free space {free} fell below minimumRequiredSpace {floor} after {acked} puts and a checkpoint"
    );
}
