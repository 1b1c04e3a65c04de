//! The sequence rule on hand-made transactions: what the channel writes passes, a put at a
//! queued seq, a commit seq used twice and a copy forward that takes are reuses, refused
//! naming both segments or set aside (the newer one) under `salvage`.

use super::*;
use crate::wal::replay::FoundSegment;
use crate::wal::seal::FrameCodec;
use crate::wal::segment::SEGMENT_VERSION;

fn ptr(segment: u32) -> EventPtr {
    EventPtr {
        segment,
        offset: 32,
    }
}

/// A transaction of `segment` committing at `commit_seq`, putting `puts`, taking `takes`.
fn txn(segment: u32, commit_seq: u64, puts: &[u64], takes: &[u64], copy: bool) -> CommittedTxn {
    CommittedTxn {
        commit_seq,
        segment,
        puts: puts.iter().map(|s| (*s, ptr(segment))).collect(),
        takes: takes.iter().map(|s| (*s, ptr(1))).collect(),
        ids: Vec::new(),
        cursors: Vec::new(),
        copy,
    }
}

/// No segment of a format before version 4.
fn none() -> HashSet<u32> {
    HashSet::new()
}

fn outcome(committed: Vec<CommittedTxn>) -> ReplayOutcome {
    let mut o = ReplayOutcome::default();
    for id in 1..=4 {
        o.segments.push(FoundSegment {
            id,
            dir_index: 0,
            path: PathBuf::from(format!("/d/log-{id:010}")),
            len: 100,
            records: 0,
            codec: FrameCodec::plain(id),
            version: SEGMENT_VERSION,
        });
    }
    o.committed = committed;
    o
}

#[test]
fn what_the_channel_writes_passes_copies_forward_included() {
    let entries = [(1, ptr(1)), (2, ptr(1))];
    let committed = vec![
        txn(2, 6, &[3, 4, 5], &[], false),
        // A copy forward of the queued 1 and 2 (their records replaced), then takes.
        txn(3, 7, &[1, 2], &[], true),
        txn(3, 10, &[8], &[1], false),
        txn(4, 11, &[], &[], false),
    ];
    assert_eq!(first_reuse(&entries, &committed, &none()), None);
    // In a full replay the original of a copy may be gone (deleted after the copy).
    assert_eq!(first_reuse(&[], &committed, &none()), None);
}

#[test]
fn a_put_at_a_queued_seq_names_the_segment_that_put_it_first() {
    let entries = [(1, ptr(1))];
    let committed = vec![txn(2, 4, &[2, 3], &[], false), txn(4, 9, &[3], &[], false)];
    let r = first_reuse(&entries, &committed, &none()).unwrap();
    assert_eq!((r.seq, r.first, r.second), (3, 2, 4));
    let r = first_reuse(&entries, &[txn(3, 9, &[1], &[], false)], &none()).unwrap();
    assert_eq!(
        (r.seq, r.first, r.second),
        (1, 1, 3),
        "queued in the checkpoint"
    );
    // Taken in between: the seq is free again as far as the queue goes.
    let taken = vec![txn(2, 4, &[2, 3], &[], false), txn(3, 6, &[], &[3], false)];
    assert_eq!(first_reuse(&entries, &taken, &none()), None);
}

#[test]
fn a_commit_seq_used_twice_or_a_copy_that_takes_is_a_reuse() {
    let twice = vec![txn(2, 4, &[2, 3], &[], false), txn(4, 4, &[], &[], false)];
    let r = first_reuse(&[], &twice, &none()).unwrap();
    assert_eq!((r.seq, r.first, r.second), (4, 2, 4));
    let taking_copy = vec![txn(2, 4, &[2], &[1], true)];
    assert!(first_reuse(&[(1, ptr(1)), (2, ptr(1))], &taking_copy, &none()).is_some());
    let copy_of_a_new_seq = vec![txn(2, 4, &[5], &[], true)];
    assert!(first_reuse(&[], &copy_of_a_new_seq, &none()).is_some());
}

#[test]
fn strict_refuses_naming_both_files_and_salvage_sets_the_newer_aside() {
    let entries = [(1, ptr(1))];
    let committed = || {
        vec![
            txn(2, 4, &[2, 3], &[], false),
            txn(4, 9, &[3, 8], &[], false),
        ]
    };
    let mut o = outcome(committed());
    let e = check(&entries, &mut o, RecoveryPolicy::Strict)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/d/log-0000000004") && e.contains("/d/log-0000000002"),
        "{e}"
    );
    let mut o = outcome(committed());
    check(&entries, &mut o, RecoveryPolicy::Salvage).unwrap();
    assert_eq!(
        o.report.set_aside,
        vec![(PathBuf::from("/d/log-0000000004"), 2)]
    );
    assert_eq!(o.report.events_set_aside, 2);
    assert_eq!(o.committed.len(), 1);
    assert!(o.segments.iter().all(|s| s.id != 4));
}

#[test]
fn in_segments_from_before_the_flag_a_transaction_without_takes_may_be_a_copy() {
    let entries = [(1, ptr(1))];
    // An unflagged copy forward of seq 1, as code before version 4 wrote it, in segment 3.
    let committed = vec![txn(3, 7, &[1], &[], false)];
    assert!(first_reuse(&entries, &committed, &none()).is_some());
    let legacy: HashSet<u32> = [3].into_iter().collect();
    assert_eq!(first_reuse(&entries, &committed, &legacy), None);
    let taking = vec![txn(3, 7, &[1], &[5], false)];
    assert!(
        first_reuse(&entries, &taking, &legacy).is_some(),
        "a copy takes nothing"
    );
}
